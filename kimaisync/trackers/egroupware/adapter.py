"""EGroupware behind the tracker port: `create(settings)` is what `kimaisync.trackers` registers.

What EGroupware's timesheet REST API allows, and so what the adapter declares:

* Clock times: a timesheet has a UTC ``start`` and a ``duration`` in minutes (the end is start +
  duration), so the core lays out each person's day as for Kimai (`TimeModel.CLOCK`).
* Deletes: yes (204).
* Credentials: ONE credential (EGROUPWARE_USER + EGROUPWARE_PASSWORD), but the API has no
  collection spanning people: each person's timesheets live in ``/<username>/timesheet/``, and
  with an app token each request logs in as that person. So sessions are per person
  (`CredentialScope.PER_PERSON`): a person whose collection is refused (no grant, a token not
  valid for them) fails alone, the others go on.
* No export or lock flag through this API: nothing is ever `locked`, nothing can be marked
  exported (the monthly lock does only the Timekeeper side).
* Incremental reads: the sync-token protocol (`CursorKind.TOKEN`), one token per person.
* No listing of projects, categories or accounts: `reference_data()` is empty (pull imports
  nothing) and `users()` raises `TrackerConfigError` (the core goes on with the accounts the store
  links). A project is free text and a category a name that EGroupware adds when it does not know
  it, so the references are the names themselves: an entry's `project` RefId is the timesheet's
  ``project`` text, its `activity` RefId the ``category`` name, which also becomes the title.

Writes are guarded by ETags: every entry a session reads keeps its ETag, and an update or delete
sends it as ``If-Match``. When a person edited the record since (412), the adapter looks at the
record EGroupware sent back: if it already holds what we wanted, that is success; otherwise the
write fails as `EGroupwareConflict` (a `RecordRejected`) naming who changed it, and nothing is
overwritten. docs/trackers/egroupware.md has the whole mapping.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kimaisync.errors import RecordRejected, TrackerConfigError, TrackerError
from kimaisync.rdf.vocab import iri
from kimaisync.trackers.egroupware.client import EGroupwareClient
from kimaisync.trackers.egroupware.errors import EGroupwareConflict, EGroupwareNotFound
from kimaisync.trackers.egroupware.mirror import MirrorFiles
from kimaisync.trackers.egroupware.models import EgwTimesheet, TimesheetWrite, format_utc
from kimaisync.trackers.port import (
    Capabilities,
    Changes,
    CredentialScope,
    CursorKind,
    Entry,
    EntryWrite,
    Links,
    ReferenceData,
    Session,
    TimeModel,
    Tracker,
    TrackerUser,
)

CAPABILITIES = Capabilities(
    time_model=TimeModel.CLOCK,
    can_delete=True,
    credentials=CredentialScope.PER_PERSON,
    locked_immutable=False,  # the API shows no lock: nothing is ever locked
    can_mark_exported=False,
    cursor=CursorKind.TOKEN,
    locked_word="locked",
)

@dataclass(frozen=True)
class EGroupwareLinks(Links):
    """Every id is text: a timesheet id as stored (digits), a reference a name, a user a login.

    References are names because EGroupware has no ids for them through this API: a Timekeeper
    task's `rdfs:label` is its category (and title), its project's `rdfs:label` the project text.
    So every task (`wf:Task`) can be booked, with no link of ours on it, and nothing has to be
    pulled first. The user id is the account's `foaf:accountName`: the EGroupware username the
    person typed when they linked their account."""

    def parse_id(self, raw: str) -> str | None:
        text = raw.strip()
        return text or None

    def parse_user_id(self, raw: str) -> str | None:
        text = raw.strip()
        return text if text and "/" not in text and not any(c.isspace() for c in text) else None


LINKS = EGroupwareLinks(
    entry_predicate=iri("ext:egroupwareTimesheetId"),
    ref_predicate=iri("rdfs:label"),
    activity_type=iri("wf:Task"),
    account_homepage_setting="egroupware_account_service_homepage",
    title="EGroupware",
    account_id_predicate=iri("foaf:accountName"),
)

DEFAULT_TITLE = "Timekeeper"
NO_ACCOUNT_LISTING = ("EGroupware's timesheet API lists no accounts: each person's EGroupware login is "
                      "the foaf:accountName of the foaf:OnlineAccount they link (foaf:account)")


def entry(ts: EgwTimesheet, user: str) -> Entry:
    """A timesheet as the port's entry; `user` is the collection's username. Ids are text (see
    `EGroupwareLinks`): the timesheet id as the store keeps it."""
    return Entry(str(ts.id), user, ts.project or None, ts.category or None, ts.description, ts.start, ts.end,
                 None, ts.duration, False)


def minutes_between(begin: dt.datetime, end: dt.datetime) -> int:
    """Whole minutes (EGroupware keeps minutes; the core's layout works in whole minutes too)."""
    return max(0, int(round((end - begin).total_seconds() / 60)))


def title_for(project: Any, activity: Any) -> str:
    """The title rule: the activity's name, else the project's, else "Timekeeper"."""
    for ref in (activity, project):
        if ref is not None and str(ref).strip():
            return str(ref).strip()
    return DEFAULT_TITLE


def window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] with a day of margin each side, in UTC: owners' zones differ."""
    utc = dt.timezone.utc
    return (dt.datetime.combine(start - dt.timedelta(days=1), dt.time(0), utc),
            dt.datetime.combine(end + dt.timedelta(days=2), dt.time(0), utc))


class EGroupwareSession(Session):
    """One person's collection ``/<username>/timesheet/``, with the ETags of what it has read."""

    def __init__(self, client: EGroupwareClient, username: str, concurrency: int = 4,
                 mirrors: MirrorFiles | None = None) -> None:
        self.client = client
        self.username = username
        self.mirrors = mirrors
        self.concurrency = max(1, concurrency)
        self._known: dict[int, EgwTimesheet] = {}  # id -> the record as last read or written
        self._lock = threading.Lock()
        # The collection as of `_token`: the first window read fills it (one sync-token read from
        # the start), every later one in this process asks only for what changed since.
        self._mirror: dict[int, EgwTimesheet] | None = None
        self._token: str | None = None
        self._mirror_lock = threading.Lock()

    def _remember(self, records: Iterable[EgwTimesheet]) -> list[Entry]:
        out = []
        with self._lock:
            for r in records:
                self._known[r.id] = r
                out.append(entry(r, self.username))
        return out

    def _forget(self, entry_id: int) -> None:
        with self._lock:
            self._known.pop(entry_id, None)

    def known(self, entry_id) -> EgwTimesheet | None:
        with self._lock:
            return self._known.get(int(entry_id))

    # ------------------------------------------------------------------ reads

    def entries(self, start: dt.date, end: dt.date, *, user=None) -> list[Entry]:
        """The person's timesheets starting in the window (no date filter in the API: the
        collection is read and cut here; after the first read, by sync-token)."""
        if user is not None and user != self.username:
            return []
        lo, hi = window(start, end)
        return self._remember(t for t in self._collection() if lo <= t.start < hi)

    def _collection(self) -> list[EgwTimesheet]:
        """Every live timesheet of the person: read whole once, then only what changed since
        (the period run's read-back after its writes gets just those writes)."""
        with self._mirror_lock:
            if self._mirror is None and self.mirrors is not None:
                kept = self.mirrors.load(self.username)  # the collection as an earlier run left it
                if kept is not None:
                    self._token, self._mirror = kept
            got = self.client.changes(self.username, self._token)
            if got.full or self._mirror is None:
                self._mirror = dict(got.records)
            else:
                for tid in got.deleted:
                    self._mirror.pop(tid, None)
                self._mirror.update(got.records)
            self._token = got.token
            if self.mirrors is not None:
                self.mirrors.save(self.username, got.token, self._mirror)
            return list(self._mirror.values())

    def find_marked(self, text: str) -> list[Entry]:
        found = self.client.timesheets(self.username, search=text)
        return self._remember(t for t in found if text in (t.description or ""))

    def get(self, entry_id) -> Entry:
        return self._remember([self.client.get(self.username, int(entry_id))])[0]

    def get_many(self, ids: Iterable) -> tuple[list[Entry], set]:
        found: list[Entry] = []
        missing: set = set()

        def one(tid) -> EgwTimesheet | None:
            try:
                return self.client.get(self.username, int(tid))
            except EGroupwareNotFound:
                return None

        ids = sorted(set(ids), key=str)
        if ids:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(ids))) as pool:
                for tid, r in zip(ids, pool.map(one, ids)):
                    (missing.add(tid) if r is None else found.extend(self._remember([r])))
        return found, missing

    def changes_since(self, cursor: str | None) -> Changes:
        """Changed timesheets and deleted ids since `cursor` (a sync-token; None: everything).
        A token EGroupware refuses gives a full read; its `deleted` is then empty (the caller
        compares with what it knows)."""
        got = self.client.changes(self.username, cursor)
        return Changes(self._remember(got.records.values()), [str(i) for i in sorted(got.deleted)], got.token)

    # ------------------------------------------------------------------ writes

    def create(self, write: EntryWrite) -> Entry:
        if write.user is not None and write.user != self.username:
            raise ValueError(f"a write for {write.user!r} sent to {self.username!r}'s session")
        if write.begin is None or (write.end is None and write.minutes is None):
            raise RecordRejected("EGroupware needs a start and a duration (a clock tracker)")
        minutes = minutes_between(write.begin, write.end) if write.end is not None else int(write.minutes)
        w = TimesheetWrite(title=title_for(write.project, write.activity), start=write.begin, duration=minutes,
                           description=write.description, project=_text(write.project),
                           category=_text(write.activity))
        return self._remember([self.client.create(self.username, w)])[0]

    def _current(self, entry_id: int) -> EgwTimesheet:
        """The record as this session last saw it (read now when it never did)."""
        return self.known(entry_id) or self.client.get(self.username, entry_id)

    def update(self, entry_id, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        """PATCH what `changes` names, with ``If-Match`` of the record as last read (`zone` is not
        needed: EGroupware takes UTC)."""
        tid = int(entry_id)
        if changes.get("user") not in (None, self.username):
            raise RecordRejected("EGroupware cannot move a timesheet to another person's collection (it keeps "
                                 "the owner): delete it and create it for the new person")
        before = self._current(tid)
        body = patch_body(before, changes)
        if not body:
            return entry(before, self.username)
        try:
            after = self.client.update(self.username, tid, body, before.etag)
        except EGroupwareConflict as exc:
            current = exc.current or self.client.get(self.username, tid)
            self._remember([current])
            if not patch_body(current, changes):
                return entry(current, self.username)  # someone already made it what we wanted
            raise EGroupwareConflict(
                f"timesheet {tid} was changed in EGroupware by {current.modifier or '?'} at "
                f"{format_utc(current.modified) if current.modified else '?'} after it was read; "
                "left as it is (the next run reads it again and plans anew)", current,
                method="PATCH", path=exc.path) from None
        return self._remember([after])[0]

    def delete(self, entry_id, *, missing_ok: bool = False) -> None:
        """DELETE with ``If-Match`` of the record as last read: a record someone edited since is
        left (EGroupwareConflict)."""
        tid = int(entry_id)
        try:
            before = self._current(tid)
        except EGroupwareNotFound:
            if missing_ok:
                return
            raise
        try:
            self.client.delete(self.username, tid, before.etag, missing_ok=missing_ok)
        except EGroupwareConflict as exc:
            current = exc.current
            raise EGroupwareConflict(
                f"timesheet {tid} was changed in EGroupware"
                + (f" by {current.modifier}" if current is not None and current.modifier else "")
                + " after it was read; not deleted (the next run reads it again)", current,
                method="DELETE", path=exc.path) from None
        self._forget(tid)

    @property
    def requests_made(self) -> int:
        return self.client.requests_made


def _text(ref: Any) -> str | None:
    return str(ref).strip() or None if ref is not None else None


def patch_body(current: EgwTimesheet, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A PATCH body for the port's `changes` (only values that differ from `current`).

    ``begin``/``end``/``minutes`` become ``start`` and ``duration``; ``project`` the project text;
    ``activity`` the category and the title. (``user`` is the session's business.)"""
    begin = changes.get("begin", current.start)
    if changes.get("end") is not None:
        duration = minutes_between(begin, changes["end"])
    elif changes.get("minutes") is not None:
        duration = int(changes["minutes"])
    else:
        duration = current.duration
    want: dict[str, Any] = {"start": format_utc(begin), "duration": duration}
    if "description" in changes:
        want["description"] = changes["description"]
    if "project" in changes:
        want["project"] = _text(changes["project"])
    if "activity" in changes:
        category = _text(changes["activity"])
        want["category"] = {category: True} if category else None
        want["title"] = title_for(changes.get("project", current.project), changes["activity"])
    have = {"start": format_utc(current.start), "duration": current.duration, "description": current.description,
            "project": current.project, "category": {current.category: True} if current.category else None,
            "title": current.title}
    return {k: v for k, v in want.items() if (v or None) != (have[k] or None)}


class EGroupwareTracker(Tracker):
    name = "egroupware"
    title = "EGroupware"
    capabilities = CAPABILITIES
    links = LINKS

    def __init__(self, client: EGroupwareClient, *, concurrency: int = 4, mirrors: MirrorFiles | None = None) -> None:
        self.client = client
        self.mirrors = mirrors
        self.concurrency = max(1, concurrency)
        self.retries = client.retries
        self._sessions: dict[str, EGroupwareSession] = {}
        self._lock = threading.Lock()

    def reference_data(self) -> ReferenceData:
        """Nothing: the API lists no projects or categories (they are free text and names)."""
        return ReferenceData()

    def users(self) -> list[TrackerUser]:
        raise TrackerConfigError(NO_ACCOUNT_LISTING)

    def session(self, user=None) -> EGroupwareSession:
        """`user`'s collection (their EGroupware username); None: EGROUPWARE_USER's own."""
        name = str(user).strip() if user is not None else self.client.user
        if not name or "/" in name:
            raise TrackerConfigError(f"{user!r} is not an EGroupware username (foaf:accountName)")
        with self._lock:
            s = self._sessions.get(name)
            if s is None:
                s = self._sessions[name] = EGroupwareSession(self.client, name, self.concurrency, self.mirrors)
            return s

    def check(self) -> list[tuple[bool, str]]:
        """What EGroupware answered for our own collection: (ok, line) pairs, as the port says."""
        try:
            self.client.probe()
        except TrackerError as err:
            return [(False, f"FAILED: {err}")]
        how = ("an app token, acting as each person" if self.client.impersonates
               else "a password; each person must grant it access to their timesheets")
        return [(True, f"ok, logged in as {self.client.user!r} with {how} ({self.describe()})")]

    def describe(self) -> str:
        return f"EGroupware {self.client.base_url} as {self.client.user}"

    def close(self) -> None:
        self.client.close()

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def retries_made(self) -> int:
        return self.client.retries_made


def create(settings, **client_options) -> EGroupwareTracker:
    """The EGroupware tracker of these settings (`client_options` go to the client)."""
    opts: dict[str, Any] = {"timeout": settings.kimai_timeout, "retries": settings.kimai_retries,
                            "max_connections": max(4, 2 * settings.kimai_concurrency)}
    opts.update(client_options)
    client = EGroupwareClient(settings.egroupware_base, settings.egroupware_user, settings.egroupware_password, **opts)
    mirrors = MirrorFiles(settings.egroupware_mirror_dir, client.base_url) if settings.egroupware_mirror_dir else None
    return EGroupwareTracker(client, concurrency=settings.kimai_concurrency, mirrors=mirrors)
