"""Kimai 1 behind the tracker port: `create(settings)` is what `kimaisync.trackers` registers.

Kimai 1 keeps clock times (unix seconds; we send wall clock with its offset), deletes by id, and
acts only as the key's own user: `getTimesheet` lists the key user's records and
`setTimesheetRecord` writes (and on update, hands over) the record to the key's user. So the
credentials are per person (`KIMAI1_CREDENTIALS_FILE`); the service login (`KIMAI1_USER`) reads
users, customers, projects and tasks. The API lets a client set the `cleared` flag
(`flagCleared`), which is Kimai 1's lock: the monthly lock sets it, and the sync never changes
or deletes a cleared record. There is no search and no change cursor: `find_marked` reads the
person's records (any date) and looks for the marker.

Store links name Kimai 1 (`ext:kimai1TimesheetId`, `ext:kimai1Id`, `ext:Kimai1Activity`), so they
live beside a Kimai 2 stack's `dct:identifier`s without ever being read as those.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

from kimaisync.errors import EntryNotFound, TrackerConfigError
from kimaisync.rdf.vocab import iri
from kimaisync.trackers.kimai1.client import Kimai1Client, Kimai1Session
from kimaisync.trackers.kimai1.credentials import load_credentials
from kimaisync.trackers.kimai1.models import K1Entry, K1EntryWrite
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

UTC = dt.timezone.utc

CAPABILITIES = Capabilities(
    time_model=TimeModel.CLOCK,
    can_delete=True,
    credentials=CredentialScope.PER_PERSON,
    locked_immutable=True,
    can_mark_exported=True,
    locked_word="cleared",
)

class Kimai1Links(Links):
    """Entry, customer, project and user ids are Kimai 1's integers; an activity's id is
    ``"<projectId>-<taskId>"`` (see `activity_id`)."""

    def parse_id(self, raw: str):
        text = raw.strip()
        if text.isdigit():
            return int(text)
        head, sep, tail = text.partition("-")
        return text if sep and head.isdigit() and tail.isdigit() else None


def activity_id(project: int, task: int) -> str:
    """A bookable activity: a Kimai 1 task *as offered by one project*.

    Timekeeper books a work log on an activity under one project (``skos:broader``), while a
    Kimai 1 task is usually global (every project offers it) or offered by several. So each
    (project, task) pair `getProjects(includeTasks)` lists becomes an activity of its own."""
    return f"{project}-{task}"


def task_of(activity: object) -> int:
    """The Kimai 1 task id of an activity id (``"3-7"`` -> 7; a bare task id as it is)."""
    return int(str(activity).rpartition("-")[2])


LINKS = Kimai1Links(
    entry_predicate=iri("ext:kimai1TimesheetId"),
    ref_predicate=iri("ext:kimai1Id"),
    activity_type=iri("ext:Kimai1Activity"),
    account_homepage_setting="kimai1_account_service_homepage",
    title="Kimai 1",
)


def entry(e: K1Entry) -> Entry:
    """A Kimai 1 record as the port's entry (`locked`: Kimai 1's cleared flag)."""
    minutes = e.duration // 60 if e.end is not None else None
    return Entry(e.id, e.user, e.project, activity_id(e.project, e.activity), e.description, e.start, e.end, None,
                 minutes, e.cleared)


def _zone(moment: dt.datetime | None, zone: str | None) -> dt.tzinfo:
    if zone:
        return ZoneInfo(zone)
    return (moment.tzinfo if moment is not None and moment.tzinfo is not None else UTC)


class Kimai1PortSession(Session):
    """One person's records through that person's own key."""

    def __init__(self, tracker: Kimai1Tracker, user_id: Any, session: Kimai1Session) -> None:
        self.tracker = tracker
        self.user_id = user_id
        self.k1 = session

    def entries(self, start: dt.date, end: dt.date, *, user=None) -> list[Entry]:
        if user is not None and user != self.user_id:
            return self.tracker.session(user).entries(start, end)
        # a day of margin each side: the owner's zone decides the day, and offsets make UTC exact
        lo = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(0), UTC)
        hi = dt.datetime.combine(end + dt.timedelta(days=2), dt.time(0), UTC)
        return [entry(e) for e in self.k1.entries(lo, hi, UTC)]

    def find_marked(self, text: str) -> list[Entry]:
        return [entry(e) for e in self.k1.all_entries() if e.description and text in e.description]

    def get(self, entry_id) -> Entry:
        return entry(self.k1.entry(entry_id))

    def get_many(self, ids: Iterable) -> tuple[list[Entry], set]:
        """By id, `concurrency` calls at once (the API has no bulk read by id)."""
        ids = sorted(set(ids))
        found, missing = [], set()

        def one(entry_id):
            try:
                return self.k1.entry(entry_id)
            except EntryNotFound:
                return entry_id

        if ids:
            with ThreadPoolExecutor(max_workers=max(1, min(self.tracker.concurrency, len(ids)))) as pool:
                for r in pool.map(one, ids):
                    (found.append(entry(r)) if isinstance(r, K1Entry) else missing.add(r))
        return found, missing

    def create(self, write: EntryWrite) -> Entry:
        if write.user is not None and write.user != self.user_id:
            return self.tracker.session(write.user).create(write)
        k1 = K1EntryWrite(project=write.project, task=task_of(write.activity), start=write.begin, end=write.end,
                          description=write.description)
        new_id = self.k1.create(k1, _zone(write.begin, None))
        minutes = int((write.end - write.begin).total_seconds()) // 60
        return Entry(new_id, self.user_id, write.project, activity_id(write.project, k1.task), write.description,
                     write.begin, write.end, None, minutes, False)

    def update(self, entry_id, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        """Kimai 1 takes a whole record: the current one (which also tells a vanished id, that Kimai
        would answer success for) with the changes applied, sent with the owner's key -- the new
        owner's when `user` changes, since Kimai hands the record to whoever's key writes it."""
        current = self.k1.entry(entry_id)
        owner = changes.get("user", current.user)
        if owner != self.user_id:
            return self.tracker.session(owner)._write(current, changes, zone)
        return self._write(current, changes, zone)

    def _write(self, current: K1Entry, changes: Mapping[str, Any], zone: str | None,
               cleared: bool | None = None) -> Entry:
        begin = changes.get("begin", current.start)
        end = changes.get("end", current.end)
        task = task_of(changes["activity"]) if "activity" in changes else current.activity
        write = K1EntryWrite(project=changes.get("project", current.project), task=task, start=begin, end=end,
                             description=changes.get("description", current.description), cleared=cleared)
        self.k1.update(current.id, write, _zone(begin, zone))
        minutes = int((end - begin).total_seconds()) // 60
        return Entry(current.id, self.user_id, write.project, activity_id(write.project, task), write.description,
                     begin, end, None, minutes, current.cleared if cleared is None else cleared)

    def delete(self, entry_id, *, missing_ok: bool = False) -> None:
        if not missing_ok:
            self.k1.entry(entry_id)  # EntryNotFound: Kimai 1 itself answers success for a missing id
        self.k1.remove(entry_id)

    def mark_exported(self, entry_id, exported: bool) -> bool:
        """Set Kimai 1's cleared flag, with the owner's key (another key would take the record)."""
        current = self.k1.entry(entry_id)
        if current.cleared == exported:
            return False
        owner = self if current.user == self.user_id else self.tracker.session(current.user)
        owner._write(current, {}, None, cleared=exported)
        return True

    @property
    def requests_made(self) -> int:
        return self.k1.client.rpc.calls_made


class Kimai1Tracker(Tracker):
    name = "kimai1"
    title = "Kimai 1"
    entry_word = "record"
    capabilities = CAPABILITIES
    links = LINKS

    def __init__(self, client: Kimai1Client, *, concurrency: int = 4) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        self.retries = client.retries
        self._names: dict[Any, str] = {}
        self._sessions: dict[Any, Kimai1PortSession] = {}
        self._lock = threading.Lock()

    def reference_data(self) -> ReferenceData:
        """Customers, projects and activities the service login sees (Kimai 1's API shows visible
        ones only). An activity is a task as one project offers it (`activity_id`): Kimai 1's
        tasks are mostly global, Timekeeper's activities sit under one project."""
        svc = self.client.service()
        projects = svc.projects(include_tasks=True)
        return ReferenceData(
            [Customer(c.id, c.name, c.visible) for c in svc.customers()],
            [Project(p.id, p.name, p.customer, p.visible) for p in projects],
            [Activity(activity_id(p.id, t.id), t.name, p.id, t.visible) for p in projects for t in p.tasks or []],
        )

    def users(self) -> list[TrackerUser]:
        """Users the service login may see (an admin: all). Kimai 1 says neither zone nor mail."""
        found = self.client.service().users()
        with self._lock:
            self._names.update({u.id: u.name for u in found})
        return [TrackerUser(u.id, u.name, True, None, None) for u in found]

    def session(self, user=None) -> Kimai1PortSession:
        """`user`'s own session; None: the KIMAI1_USER login's, which Kimai 1 lets read any record
        by id and delete any record (Api.php checks no owner there) -- but it lists only its own
        records, and a write through it goes to the record's owner's session."""
        if user is None:
            return self._service_session()
        with self._lock:
            known = self._sessions.get(user)
            name = self._names.get(user)
        if known is not None:
            return known
        if name is None:
            self.users()
            with self._lock:
                name = self._names.get(user)
            if name is None:
                raise TrackerConfigError(f"Kimai 1 user {user} is not among the users KIMAI1_USER may list")
        made = Kimai1PortSession(self, user, self.client.session(name))  # NoCredential: that person is skipped
        with self._lock:
            return self._sessions.setdefault(user, made)

    def _service_session(self) -> Kimai1PortSession:
        with self._lock:
            known = self._sessions.get(None)
        if known is not None:
            return known
        service = self.client.service()
        me = next((uid for uid, name in self._names.items() if name == service.username), None)
        if me is None:
            self.users()
            with self._lock:
                me = next((uid for uid, name in self._names.items() if name == service.username), None)
        made = Kimai1PortSession(self, me, service)
        with self._lock:
            return self._sessions.setdefault(None, made)

    def check(self) -> list[tuple[bool, str]]:
        """`kimai-sync check`, as (ok, line) pairs: see kimaisync.trackers.kimai1.check."""
        from kimaisync.errors import TrackerError
        from kimaisync.trackers.kimai1.check import check

        try:
            return [(True, "ok, " + check(self))]
        except TrackerError as err:
            return [(False, f"FAILED: {err}")]

    def describe(self) -> str:
        return f"Kimai 1 {self.client.rpc.endpoint}"

    def close(self) -> None:
        self.client.close()

    @property
    def requests_made(self) -> int:
        return self.client.rpc.calls_made

    @property
    def retries_made(self) -> int:
        return self.client.retries_made


def create(settings, **client_options) -> Kimai1Tracker:
    """The Kimai 1 tracker of these settings; `client_options` go to `Kimai1Client` (tests: transport)."""
    credentials = load_credentials(settings.kimai1_credentials_file) if settings.kimai1_credentials_file else {}
    concurrency = settings.kimai_concurrency
    opts = dict(user=settings.kimai1_user, password=settings.kimai1_password, credentials=credentials,
                timeout=settings.kimai_timeout, retries=settings.kimai_retries,
                max_connections=max(4, 2 * concurrency))
    opts.update(client_options)
    return Kimai1Tracker(Kimai1Client(str(settings.kimai1_endpoint), **opts), concurrency=concurrency)


__all__ = ["CAPABILITIES", "LINKS", "Kimai1PortSession", "Kimai1Tracker", "create", "entry"]
