"""The tracker port: what the read → plan → apply → report core asks of a time tracker.

The core owns this interface and speaks only the plain types below; each tracker package
(`kimaisync/trackers/<name>/`) adapts its client to it and declares its `Capabilities`, which the
planner reads instead of ever asking which tracker it talks to. Plain Python: no HTTP library,
no Prefect. `docs/trackers.md` explains the port with Kimai 2 as the worked example.

Ids are opaque to the core (`EntryId`, `RefId`, `UserId`: whatever the tracker uses, ints for
Kimai 2). The core compares them, keys dicts by them and stores them as text through the
tracker's `Links`, which also turns stored text back into an id.

Errors: an adapter translates its client's failures once, at its edge, into the classes of
`kimaisync.errors` (`TrackerTransient`, `TrackerConfigError`, `TrackerAuthError`,
`RecordRejected`, `RecordLocked`, `EntryNotFound`, `OutcomeUnknown`); whether one is retried is
decided by its type alone (`errors.is_retryable`).
"""

from __future__ import annotations

import datetime as dt
import enum
from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from kimaisync.errors import EntryNotFound, TrackerConfigError, TrackerError
from kimaisync.timekeeper import numeric_id

EntryId = Hashable  # a tracker entry's id (Kimai 2: int)
RefId = Hashable  # a customer's, project's or activity's id
UserId = Hashable  # a tracker account's id


# ------------------------------------------------------------------------------ capabilities


class TimeModel(enum.Enum):
    """How a tracker holds the time of an entry."""

    CLOCK = "clock"  # begin and end instants: the core lays out each person's day (Kimai)
    DAY = "day"  # a date and a number of minutes: no clock times are invented


class CredentialScope(enum.Enum):
    """Whose credential a write is made with."""

    SERVICE = "service"  # one credential for everyone (an API user allowed to write for others)
    PER_PERSON = "per-person"  # each person's own: the core asks for `Tracker.session(user)`


class CursorKind(enum.Enum):
    """How a tracker can say what changed since the last run."""

    NONE = "none"  # only windows can be listed
    TOKEN = "token"  # an opaque token handed back with each read
    MODIFIED_SINCE = "modified-since"  # a timestamp filter on the entries' modification time


@dataclass(frozen=True)
class Capabilities:
    """What a tracker can do; the planner asks nothing outside it.

    - `time_model`: clock times (begin/end) or a date plus minutes.
    - `can_delete`: without it the planner never plans a deletion; it reports the entry instead.
    - `credentials`: one service credential, or one per person (a session per person).
    - `locked_immutable`: an entry flagged `locked` (exported, approved, in a closed period) cannot
      be changed or deleted: the planner reports it as blocked and never writes it.
    - `can_mark_exported`: `Session.mark_exported` exists (the monthly lock uses it).
    - `cursor`: what `Session.changes_since` takes; NONE means it is not offered.
    - `locked_word`: how the tracker names its lock flag in report lines ("exported" for Kimai).
    - `retire_word`: for a tracker that cannot delete, what `Session.retire` does instead so the
      entry counts no more (Timi: "set to 0 h and marked"). The planner then plans the deletion
      as for a tracker that deletes, and the apply engine retires. Empty: the entry is reported.
    """

    time_model: TimeModel
    can_delete: bool
    credentials: CredentialScope
    locked_immutable: bool = True
    can_mark_exported: bool = False
    cursor: CursorKind = CursorKind.NONE
    locked_word: str = "locked"
    retire_word: str = ""

    @property
    def can_remove(self) -> bool:
        """A deletion may be planned: the tracker deletes, or retires what it cannot delete."""
        return self.can_delete or bool(self.retire_word)

    @property
    def clock(self) -> bool:
        return self.time_model is TimeModel.CLOCK

    @property
    def per_person(self) -> bool:
        return self.credentials is CredentialScope.PER_PERSON


# ------------------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class Entry:
    """One time entry as the tracker holds it.

    Clock trackers fill `begin`/`end` (aware datetimes; `end` None while running) and may leave
    `date`/`minutes` None; day trackers fill `date`/`minutes` and leave `begin`/`end` None.
    `locked`: exported, approved or in a closed period, whatever the tracker calls it.
    """

    id: EntryId
    user: UserId
    project: RefId | None
    activity: RefId | None
    description: str | None = None
    begin: dt.datetime | None = None
    end: dt.datetime | None = None
    date: dt.date | None = None
    minutes: int | None = None
    locked: bool = False


@dataclass(frozen=True, slots=True)
class EntryWrite:
    """An entry to create: the core fills the time fields the tracker's `TimeModel` names."""

    user: UserId
    project: RefId
    activity: RefId
    description: str
    begin: dt.datetime | None = None
    end: dt.datetime | None = None
    date: dt.date | None = None
    minutes: int | None = None


# The fields an update may name (`Session.update`'s `changes`), the same for every tracker.
UPDATE_FIELDS = frozenset({"user", "project", "activity", "description", "begin", "end", "date", "minutes"})


@dataclass(frozen=True, slots=True)
class TrackerUser:
    """A tracker account. `timezone`: the zone the tracker reads its wall clocks in (clock trackers)."""

    id: UserId
    name: str
    enabled: bool = True
    timezone: str | None = None
    email: str | None = None
    alias: str | None = None  # a display name, when the tracker has one beside the login name


@dataclass(frozen=True, slots=True)
class Customer:
    id: RefId
    name: str
    visible: bool = True
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Project:
    id: RefId
    name: str
    customer: RefId | None
    visible: bool = True
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """A bookable activity; `project` None for one every project may use (Kimai's global activities)."""

    id: RefId
    name: str
    project: RefId | None
    visible: bool = True
    color: str | None = None


@dataclass(frozen=True)
class ReferenceData:
    """What entries are booked on. A tracker without customers returns none; one whose entries are
    booked on projects only gives each project one activity of its own (same id)."""

    customers: Sequence[Customer] = ()
    projects: Sequence[Project] = ()
    activities: Sequence[Activity] = ()


@dataclass(frozen=True)
class Changes:
    """What `Session.changes_since` returns: changed entries, deleted ids, and the cursor to keep
    once every outcome of the run that used them is recorded (never before)."""

    entries: Sequence[Entry] = ()
    deleted: Collection[EntryId] = ()
    cursor: str | None = None


# ------------------------------------------------------------------------------ store links


@dataclass(frozen=True)
class Links:
    """How the store links Timekeeper resources to this tracker's records.

    Every tracker has its own predicate and types, so one tracker's ids are never read as
    another's (a stack that moves from Kimai 2 to another tracker keeps both sets of links side
    by side). Kimai 2 keeps the seed's triples: `dct:identifier` on the work log and on tasks and
    customers, tasks typed `ext:KimaiActivity`.

    - `entry_predicate`: on a work log (`cal:Vevent`), the id of its entry in this tracker.
    - `ref_predicate`: on a customer, project or activity resource, its id in this tracker.
    - `activity_type`: the type a task carries when it is a bookable activity of this tracker.
    - `account_homepage_setting`: the settings field naming the `foaf:accountServiceHomepage`
      that marks a person's `foaf:OnlineAccount` in this tracker.
    - `account_id_predicate`: on such an account, the tracker's user id (`dct:identifier` for the
      trackers whose accounts the accounts pull creates; `foaf:accountName` where people link a
      login they type themselves, as for EGroupware).
    """

    entry_predicate: str
    ref_predicate: str
    activity_type: str
    account_homepage_setting: str
    title: str = "the tracker"  # how store-side reasons name the tracker ("Kimai")
    account_id_predicate: str = "http://purl.org/dc/terms/identifier"

    def homepage(self, settings) -> str:
        """The `foaf:accountServiceHomepage` of this tracker's accounts, from the settings."""
        return getattr(settings, self.account_homepage_setting)

    def parse_id(self, raw: str) -> EntryId | None:
        """A stored id as the tracker's id, or None when it is not one (digits → int by default;
        a tracker with other ids overrides this, and `parse_user_id` alike)."""
        return numeric_id(raw)

    def parse_user_id(self, raw: str) -> UserId | None:
        """An account's stored `dct:identifier` as the tracker's user id."""
        return numeric_id(raw)


# ------------------------------------------------------------------------------ the port


class Session(ABC):
    """Entry operations made with one credential: the service's, or one person's.

    Reads return every entry the credential may see. Writes raise the port's errors; `update`
    and `delete` are idempotent (an adapter may retry them), `create` is not (the core retries it
    itself, looking for the first attempt's record by its marker in between).
    """

    @abstractmethod
    def entries(self, start: dt.date, end: dt.date, *, user: UserId | None = None) -> list[Entry]:
        """Entries whose day may fall in [start, end] for any owner's zone (an adapter reading a
        clock window adds a day of margin each side); only `user`'s when given."""

    @abstractmethod
    def find_marked(self, text: str) -> list[Entry]:
        """Entries whose description contains `text` (the sync's marker), any date."""

    @abstractmethod
    def get(self, entry_id: EntryId) -> Entry:
        """One entry by id; `EntryNotFound` when it does not exist."""

    def get_many(self, ids: Iterable[EntryId]) -> tuple[list[Entry], set[EntryId]]:
        """Entries by id and the ids that do not exist. Adapters may fetch in parallel or in bulk."""
        found, missing = [], set()
        for i in ids:
            try:
                found.append(self.get(i))
            except EntryNotFound:
                missing.add(i)
        return found, missing

    @abstractmethod
    def create(self, write: EntryWrite) -> Entry:
        """Create an entry; returns it with its new id."""

    @abstractmethod
    def update(self, entry_id: EntryId, changes: Mapping[str, Any], *, zone: str | None = None) -> Entry:
        """Change the named fields (`UPDATE_FIELDS`) of an entry; `zone`: the zone a clock tracker
        reads the entry's wall clock in (the core knows it; the tracker may not say)."""

    def delete(self, entry_id: EntryId, *, missing_ok: bool = False) -> None:
        """Delete an entry (only when `Capabilities.can_delete`); `EntryNotFound` unless `missing_ok`."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete entries")

    def retire(self, entry_id: EntryId) -> None:
        """Make an entry count nothing where the tracker cannot delete (only when
        `Capabilities.retire_word`); idempotent; `EntryNotFound` when there is no such entry."""
        raise NotImplementedError(f"{type(self).__name__} cannot retire entries")

    def mark_exported(self, entry_id: EntryId, exported: bool) -> bool:
        """Set the lock flag (only when `Capabilities.can_mark_exported`); True if it changed."""
        raise NotImplementedError(f"{type(self).__name__} cannot mark entries exported")

    def changes_since(self, cursor: str | None) -> Changes:
        """Entries changed since `cursor` (None: from the start); only when `Capabilities.cursor`
        is not NONE. The core saves the returned cursor after the run's writes are recorded."""
        raise NotImplementedError(f"{type(self).__name__} offers no change cursor")

    @property
    def requests_made(self) -> int:
        """Requests sent so far (for the run report); 0 when the adapter does not count."""
        return 0

    def count_retry(self) -> None:
        """Told of a retry the core made on this session's behalf (a create after a transient failure)."""
        return None


class Tracker(ABC):
    """One configured tracker: its capabilities, its reference data and users, its sessions.

    Made by the tracker's factory from the settings (`kimaisync.trackers.open_tracker`); a context
    manager that closes every session it opened.
    """

    name: ClassVar[str]  # the TRACKER setting's value, e.g. "kimai"
    title: ClassVar[str]  # how reports name it, e.g. "Kimai"
    entry_word: ClassVar[str] = "entry"  # what it calls an entry in reports, e.g. "timesheet"
    capabilities: ClassVar[Capabilities]
    links: ClassVar[Links]
    concurrency: int = 4  # writes in flight at most
    retries: int = 0  # extra attempts the core grants a create after a transient failure

    @abstractmethod
    def reference_data(self) -> ReferenceData:
        """Customers, projects and activities, hidden ones included."""

    @abstractmethod
    def users(self) -> list[TrackerUser]:
        """Every account, disabled ones included. `TrackerConfigError` when the credential may not
        list them (the core then carries on with the accounts the store links, in the default zone)."""

    @abstractmethod
    def session(self, user: UserId | None = None) -> Session:
        """The session that reads and writes `user`'s entries.

        SERVICE trackers return their one session whatever `user` is. PER_PERSON trackers return
        that person's (made once, then kept), and raise `TrackerConfigError` when no credential is
        configured for them: the core then reports that person's work logs and goes on with the
        others. `None` asks for the service session, which a PER_PERSON tracker may not have.
        """

    def sessions(self, users: Iterable[UserId]) -> tuple[dict[UserId, Session], dict[UserId, str]]:
        """A session per user, and why there is none for the others (a missing credential)."""
        out: dict[UserId, Session] = {}
        problems: dict[UserId, str] = {}
        for u in users:
            try:
                out[u] = self.session(u)
            except TrackerConfigError as err:
                problems[u] = str(err)
        return out, problems

    def describe(self) -> str:
        """One line naming where the tracker is; never a secret."""
        return self.title

    def check(self) -> list[tuple[bool, str]]:
        """Reach the tracker as `kimai-sync check` does: (ok, line) pairs, a False one failing the
        check. The default lists the users; adapters say more (version, the API user, permissions)."""
        try:
            return [(True, f"ok, {len(self.users())} users")]
        except TrackerError as err:
            return [(False, f"FAILED: {err}")]

    def close(self) -> None:
        """Close every session opened."""
        return None

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def requests_made(self) -> int:
        """Requests sent by every session so far (for the run report)."""
        return 0

    @property
    def retries_made(self) -> int:
        return 0
