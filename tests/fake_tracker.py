"""A minimal tracker that exists only in tests: dates and minutes (no clock), no deletion, one
credential per person. It holds its entries in memory and refuses what a real tracker of that
kind would refuse, so a test through the port shows that the core honours the capabilities."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kimaisync.errors import EntryNotFound, RecordLocked, RecordRejected, TrackerAuthError, TrackerConfigError
from kimaisync.rdf.vocab import iri
from kimaisync.trackers.port import (
    Activity,
    Capabilities,
    CredentialScope,
    Customer,
    Entry,
    EntryWrite,
    Links,
    Project,
    ReferenceData,
    Session,
    TimeModel,
    Tracker,
    TrackerUser,
)

HOMEPAGE = "http://fake-tracker.example.org"


class FakeLinks(Links):
    def homepage(self, settings) -> str:
        return HOMEPAGE


LINKS = FakeLinks(entry_predicate=iri("ext:fakeEntryId"), ref_predicate=iri("ext:fakeId"),
                  activity_type=iri("ext:FakeActivity"), account_homepage_setting="", title="Fake")

CAPABILITIES = Capabilities(time_model=TimeModel.DAY, can_delete=False, credentials=CredentialScope.PER_PERSON,
                            locked_immutable=True, locked_word="approved")


class FakeSession(Session):
    def __init__(self, tracker: "FakeTracker", user: int):
        self.tracker, self.user = tracker, user

    def _mine(self, entry_id) -> Entry:
        e = self.tracker.entries.get(entry_id)
        if e is None or e.user != self.user:  # another person's entries are invisible with this credential
            raise EntryNotFound(f"entry {entry_id} not found")
        return e

    def entries(self, start: dt.date, end: dt.date, *, user=None) -> list[Entry]:
        assert user in (None, self.user), "a person's session reads only that person's entries"
        self.tracker.calls.append(("list", self.user))
        return [e for e in self.tracker.entries.values() if e.user == self.user and start <= e.date <= end]

    def find_marked(self, text: str) -> list[Entry]:
        return [e for e in self.tracker.entries.values() if e.user == self.user and text in (e.description or "")]

    def get(self, entry_id) -> Entry:
        return self._mine(entry_id)

    def create(self, write: EntryWrite) -> Entry:
        self.tracker.calls.append(("create", self.user))
        if write.user != self.user:
            raise RecordRejected("a person can only book their own time")
        if write.begin is not None or write.end is not None or write.date is None or write.minutes is None:
            raise RecordRejected("this tracker takes a date and minutes, never clock times")
        with self.tracker.lock:
            e = Entry(next(self.tracker.ids), write.user, write.project, write.activity, write.description,
                      date=write.date, minutes=write.minutes)
            self.tracker.entries[e.id] = e
        return e

    def update(self, entry_id, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        self.tracker.calls.append(("update", self.user, dict(changes)))
        e = self._mine(entry_id)
        if e.locked:
            raise RecordLocked(f"entry {entry_id} is approved")
        if {"begin", "end"} & set(changes):
            raise RecordRejected("this tracker has no clock times")
        e = replace(e, **dict(changes))
        self.tracker.entries[e.id] = e
        return e


class FakeTracker(Tracker):
    name = "fake"
    title = "Fake"
    capabilities = CAPABILITIES
    links = LINKS

    def __init__(self, credentials: dict[int, str], users: list[TrackerUser], *, refused: set[int] = frozenset()):
        self.credentials, self._users, self.refused = credentials, users, refused
        self.entries: dict[int, Entry] = {}
        self.ids = itertools.count(500)
        self.lock = threading.Lock()
        self.calls: list = []
        self.concurrency, self.retries = 2, 1
        self._sessions: dict[int, FakeSession] = {}

    def reference_data(self) -> ReferenceData:
        return ReferenceData([Customer(1, "Acme")], [Project(7, "Web", 1)], [Activity(8, "Dev", 7)])

    def users(self) -> list[TrackerUser]:
        return list(self._users)

    def session(self, user=None) -> FakeSession:
        if user is None or user not in self.credentials:
            raise TrackerConfigError(f"no credential configured for user {user}")
        if user in self.refused:
            raise TrackerAuthError(f"the credential of user {user} is refused")
        with self.lock:  # a person's session is made once, then kept (as the port says)
            return self._sessions.setdefault(user, FakeSession(self, user))

    def add(self, user: int, day: dt.date, minutes: int, description: str, *, locked: bool = False) -> Entry:
        e = Entry(next(self.ids), user, 7, 8, description, date=day, minutes=minutes, locked=locked)
        self.entries[e.id] = e
        return e
