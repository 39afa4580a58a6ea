"""Timi behind the tracker port: `create(settings)` is what `kimaisync.trackers` registers.

Timi keeps a date and a duration (no clock times), has no delete, and takes each person's own
credential (`TIMI_CREDENTIALS_FILE`): a session per person, made on first use. Its store links
name Timi (`ext:timiEntryId`, `ext:timiId`, tasks typed `ext:TimiService`). Services belong to no
project in Timi, so a bookable activity is a (project, service) pair with the id
``"<project>/<service>"``. The mapping and its decisions: docs/trackers/timi.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kimaisync.errors import EntryNotFound, RecordRejected, TrackerConfigError, TrackerError
from kimaisync.rdf.vocab import iri
from kimaisync.trackers.port import (
    EntryId,
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
from kimaisync.trackers.timi.client import TimiClient
from kimaisync.trackers.timi.credentials import TimiCredentials, load_credentials
from kimaisync.trackers.timi.models import TimiEntry, TimiEntryWrite

log = logging.getLogger("kimaisync.timi")

CAPABILITIES = Capabilities(
    time_model=TimeModel.DAY,
    can_delete=False,
    credentials=CredentialScope.PER_PERSON,
    locked_immutable=False,  # Timi's API shows no export or lock flag
    can_mark_exported=False,
    locked_word="locked",
    retire_word="set to 0 h and marked [verwijderd in Timekeeper]",
)

# What a deleted work log's entry becomes (Timi has no delete): 0 h, the body marked.
RETIRED_MARK = "[verwijderd in Timekeeper]"
RETIRED_WORD = "zeroed"

_PAIR = re.compile(r"^\s*(\d+)/(\d+)\s*$")


def activity_id(project: int, service: int) -> str:
    return f"{project}/{service}"


def split_activity(value: Any) -> tuple[int, int]:
    """``"3327/1"`` -> (3327, 1); RecordRejected for anything else (a task that is no Timi pair)."""
    m = _PAIR.match(str(value))
    if not m:
        raise RecordRejected(f"Timi activity {value!r} is not a project/service pair")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class TimiLinks(Links):
    """Entry and customer/project ids are digits; an activity is ``"<project>/<service>"``; a
    user is the login e-mail."""

    def parse_id(self, raw: str) -> Any:
        text = raw.strip()
        if text.isdigit():
            return int(text)
        m = _PAIR.match(text)
        return activity_id(int(m.group(1)), int(m.group(2))) if m else None

    def parse_user_id(self, raw: str) -> Any:
        text = raw.strip().lower()
        return text if "@" in text and " " not in text else None


LINKS = TimiLinks(
    entry_predicate=iri("ext:timiEntryId"),
    ref_predicate=iri("ext:timiId"),
    activity_type=iri("ext:TimiService"),
    account_homepage_setting="timi_account_service_homepage",
    title="Timi",
)


def entry(e: TimiEntry, email: str) -> Entry:
    """A Timi entry as the port's: a day and whole minutes; the activity only when the service is known."""
    project = e.project_id
    activity = activity_id(project, e.service_id) if project is not None and e.service_id is not None else None
    return Entry(e.id, email, project, activity, e.body, date=e.date, minutes=e.duration // 60)


def is_retired(e: Entry) -> bool:
    """An entry the sync has already zeroed for a deleted work log: nothing more to do."""
    return (e.minutes or 0) == 0 and (e.description or "").startswith(RETIRED_MARK)


class TimiSession(Session):
    """One person's entries through that person's client.

    Timi has no read by id and no text search, so `get`, `get_many` and `find_marked` read the
    person's entries (every page) and look among them. Entries read are remembered, because an
    update must send every field again and the port passes only the changed ones.

    An entry the sync retired (0 h, body marked: what stands in for a delete) is, for the sync,
    deleted: reads leave it out, so it is never planned again and a link to it counts as gone.
    """

    def __init__(self, client: TimiClient, email: str, service_ids: Callable[[], list[int]]):
        self.client = client
        self.email = email
        self._service_ids = service_ids
        self._known: dict[EntryId, Entry] = {}
        self._lock = threading.Lock()

    def _remember(self, rows: Iterable[Entry]) -> list[Entry]:
        """Remember what was read; return the live entries (retired ones are left out)."""
        rows = list(rows)
        with self._lock:
            for r in rows:
                self._known[r.id] = r
        return [r for r in rows if not is_retired(r)]

    def entries(self, start: dt.date, end: dt.date, *, user=None) -> list[Entry]:
        """The person's entries of the window, each with its service: the listing shows none, so
        the window is read once per service (one request each, more for a long list) and once
        unfiltered for the entries of no known service (only page 1 when the counts agree)."""
        if user is not None and str(user).lower() != self.email:
            return []
        return self._read(start, end)

    def _read(self, start: dt.date | None, end: dt.date | None) -> list[Entry]:
        found: dict[int, TimiEntry] = {}
        for sid in self._service_ids():
            for e in self.client.entries(start, end, service_ids=[sid]):
                found.setdefault(e.id, e)
        if self.client.count_entries(start, end) != len(found):  # some have no service we know
            for e in self.client.entries(start, end):
                found.setdefault(e.id, e)
        return self._remember(entry(e, self.email) for e in found.values())

    def _history(self) -> list[Entry]:
        """Every entry of the person, each with its service as the window read gives it: an entry
        read without one would differ from what the sync wrote, and could not be updated."""
        return self._read(None, None)

    def find_marked(self, text: str) -> list[Entry]:
        return [e for e in self._history() if text in (e.description or "")]

    def get(self, entry_id) -> Entry:
        found, missing = self.get_many([entry_id])
        if missing:
            raise EntryNotFound(f"Timi entry {entry_id} of {self.email} does not exist")
        return found[0]

    def get_many(self, ids: Iterable) -> tuple[list[Entry], set]:
        wanted = set(ids)
        if not wanted:
            return [], set()
        by_id = {e.id: e for e in self._history()}
        return [by_id[i] for i in wanted if i in by_id], {i for i in wanted if i not in by_id}

    def create(self, write: EntryWrite) -> Entry:
        project, service = split_activity(write.activity)
        if write.project is not None and write.project != project:
            raise RecordRejected(f"Timi activity {write.activity} is not under project {write.project}")
        if write.date is None or write.minutes is None:
            raise RecordRejected("a Timi entry needs a date and minutes")
        made = self.client.create_entry(TimiEntryWrite(
            body=write.description, date=write.date, duration=write.minutes * 60, project_id=project,
            service_id=service))
        return self._written(entry(made, self.email))

    def _written(self, row: Entry) -> Entry:
        with self._lock:
            self._known[row.id] = row
        return row

    def _current(self, entry_id) -> Entry:
        with self._lock:
            known = self._known.get(entry_id)
        return known if known is not None else self.get(entry_id)

    def update(self, entry_id, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        """PATCH with every field (so Timi's text recognition decides nothing): the changed ones
        from `changes`, the others as last read."""
        if "user" in changes and str(changes["user"]).lower() != self.email:
            raise RecordRejected("Timi cannot move an entry to another person (tokens are personal)")
        now = self._current(entry_id)
        activity = changes.get("activity", now.activity)
        if activity is None:
            raise RecordRejected(f"Timi entry {entry_id}: its service is unknown and no activity was given")
        project, service = split_activity(activity)
        minutes = changes.get("minutes", now.minutes)
        day = changes.get("date", now.date)
        body = changes.get("description", now.description) or ""
        made = self.client.update_entry(entry_id, TimiEntryWrite(
            body=body, date=day, duration=int(minutes or 0) * 60, project_id=project, service_id=service))
        return self._written(entry(made, self.email))

    def retire(self, entry_id) -> Entry:
        """What stands in for a delete: 0 minutes and the body marked, everything else kept.
        Idempotent: an entry already retired is returned as it is (EntryNotFound if there is none)."""
        with self._lock:
            now = self._known.get(entry_id)
        if now is None:
            self._history()
            with self._lock:
                now = self._known.get(entry_id)
        if now is None:
            raise EntryNotFound(f"Timi entry {entry_id} of {self.email} does not exist")
        if is_retired(now):
            return now
        return self.update(entry_id, {"minutes": 0, "description": f"{RETIRED_MARK} {now.description or ''}".strip()})

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    def count_retry(self) -> None:
        self.client.count_retry()


class TimiTracker(Tracker):
    name = "timi"
    title = "Timi"
    entry_word = "time entry"
    capabilities = CAPABILITIES
    links = LINKS
    concurrency = 4
    # extra tries the core's create loop gives a create (0.5 s doubling to 30 s: a minute's budget is outlasted)
    retries = 8

    def __init__(self, endpoint: str, credentials: TimiCredentials, *, timeout: float = 30.0, **client_options):
        self.endpoint = str(endpoint).rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self._client_options = client_options
        self._clients: dict[str, TimiClient] = {}
        self._sessions: dict[str, TimiSession] = {}
        self._services: list[int] | None = None
        self._lock = threading.RLock()

    def _client(self, email: str) -> TimiClient:
        with self._lock:
            client = self._clients.get(email)
            if client is None:
                token = self.credentials.token_for(email)
                if token is None:
                    raise TrackerConfigError(f"no Timi credential for {email} in TIMI_CREDENTIALS_FILE: "
                                             "add their login e-mail and the token from their Timi profile")
                client = self._clients[email] = TimiClient(self.endpoint, email, token, timeout=self.timeout,
                                                           **self._client_options)
            return client

    def _service_ids(self) -> list[int]:
        with self._lock:
            if self._services is None:
                self._services = sorted(a.id for a in self._read_services())
            return self._services

    def _read_services(self):
        for email in self.credentials.emails:
            try:
                return self._client(email).services()
            except TrackerConfigError as err:
                log.warning("Timi services not readable as %s: %s", email, err)
        return []

    def reference_data(self) -> ReferenceData:
        """Clients, projects and services read with every credential, joined by id (a project
        only some people see still arrives); an activity for each project x service."""
        customers: dict[int, Customer] = {}
        projects: dict[int, Project] = {}
        services: dict[int, str] = {}
        refused: list[TrackerError] = []
        for email in self.credentials.emails:
            client = self._client(email)
            try:
                clients = client.clients()
                listed = client.projects(clients)
                offered = client.services()
            except TrackerConfigError as err:
                refused.append(err)
                continue
            for c in clients:
                customers.setdefault(c.id, Customer(c.id, c.name))
            for p in listed:
                projects.setdefault(p.id, Project(p.id, p.name, p.client_id, p.active is not False))
            for s in offered:
                services.setdefault(s.id, s.name)
        if refused and len(refused) == len(self.credentials.emails):
            raise refused[0]
        with self._lock:
            self._services = sorted(services)
        activities = [Activity(activity_id(pid, sid), name, pid, p.visible)
                      for pid, p in projects.items() for sid, name in sorted(services.items())]
        return ReferenceData(list(customers.values()), list(projects.values()), activities)

    def users(self) -> list[TrackerUser]:
        """One account per e-mail in the credentials file (Timi lists no users)."""
        return [TrackerUser(email, email, email=email) for email in self.credentials.emails]

    def session(self, user=None) -> TimiSession:
        if user is None:
            raise TrackerConfigError("Timi has no service credential: each person's entries need their own")
        email = str(user).strip().lower()
        with self._lock:
            session = self._sessions.get(email)
            if session is None:
                session = self._sessions[email] = TimiSession(self._client(email), email, self._service_ids)
            return session

    def describe(self) -> str:
        return f"Timi {self.endpoint} ({len(self.credentials)} personal credentials)"

    def check(self) -> list[tuple[bool, str]]:
        """For `kimai-sync check`: one request per credential (services.json), a line each."""
        if not len(self.credentials):
            return [(False, "FAILED: TIMI_CREDENTIALS_FILE holds no credential: nobody's work logs can be written")]
        lines = [(True, f"ok, {self.describe()}")]
        for email in self.credentials.emails:
            try:
                count = len(self._client(email).services())
            except TrackerError as err:
                lines.append((False, f"FAILED: {err}"))
            else:
                lines.append((True, f"ok, {email}: token accepted ({count} services)"))
        return lines

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            self._sessions.clear()

    @property
    def requests_made(self) -> int:
        return sum(c.requests_made for c in list(self._clients.values()))

    @property
    def retries_made(self) -> int:
        return sum(c.retries_made for c in list(self._clients.values()))


def create(settings, **client_options) -> TimiTracker:
    """The Timi tracker of these settings; the credentials file is read (and checked) here."""
    return TimiTracker(str(settings.timi_endpoint), load_credentials(settings.timi_credentials_file),
                       timeout=settings.timi_timeout, **client_options)
