"""In-memory data of the emulated Kimai server.

Entities are plain dataclasses that reference each other by integer id, like Kimai's database rows;
the API shapes are produced separately by ``serialize``. Each entity type has its own id sequence,
so a project and an activity can share an id -- clients that mix up the two must fail here too.

``KimaiState`` is shared between the test thread and the server thread: every read-modify-write
goes through ``state.lock`` (re-entrant, so helpers may nest).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

from .dates import zone
from .faults import Faults

__all__ = [
    "EmuActivity", "EmuConfig", "EmuCustomer", "EmuProject", "EmuTag", "EmuTimesheet", "EmuUser",
    "Faults", "KimaiState", "RecordedRequest",
]

KNOWN_ROLES = ("ROLE_USER", "ROLE_TEAMLEAD", "ROLE_ADMIN", "ROLE_SUPER_ADMIN")


@dataclass
class EmuUser:
    """A Kimai user. ``api_token`` is the Bearer token, ``api_password`` the legacy X-AUTH-TOKEN."""

    id: int
    username: str
    alias: str | None = None
    email: str | None = None
    enabled: bool = True
    timezone: str = "Europe/Brussels"
    roles: list[str] = field(default_factory=lambda: ["ROLE_USER"])
    api_token: str | None = None
    api_password: str | None = None
    language: str = "en"
    color: str | None = None

    def __post_init__(self) -> None:
        zone(self.timezone)  # fail early on a misspelt zone name
        unknown = set(self.roles) - set(KNOWN_ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)} for user {self.username!r}")


@dataclass
class EmuCustomer:
    id: int
    name: str
    visible: bool = True
    color: str | None = None
    number: str | None = None
    comment: str | None = None
    billable: bool = True
    company: str | None = None
    country: str = "BE"
    currency: str = "EUR"
    language: str = "en"
    timezone: str = "Europe/Brussels"
    # Address details, only serialized by ``/api/customers?full=1`` for callers allowed to see them.
    vat_id: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    post_code: str | None = None
    city: str | None = None


@dataclass
class EmuProject:
    """A project; ``start``/``end`` are dates (Kimai serializes them as ``Y-m-d``)."""

    id: int
    name: str
    customer: int
    visible: bool = True
    color: str | None = None
    start: date | None = None
    end: date | None = None
    global_activities: bool = True
    number: str | None = None
    comment: str | None = None
    billable: bool = True
    order_number: str | None = None
    order_date: date | None = None


@dataclass
class EmuActivity:
    """An activity; ``project=None`` makes it a global activity usable with any project."""

    id: int
    name: str
    project: int | None = None
    visible: bool = True
    color: str | None = None
    number: str | None = None
    comment: str | None = None
    billable: bool = True


@dataclass
class EmuTag:
    id: int
    name: str
    color: str | None = None
    visible: bool = True


@dataclass
class EmuTimesheet:
    """A time record. ``begin``/``end`` are timezone-aware instants; ``timezone`` is the zone the
    record is displayed in (the owner's zone at creation). ``end=None`` means running."""

    id: int
    user: int
    project: int
    activity: int
    begin: datetime
    end: datetime | None = None
    description: str | None = None
    exported: bool = False
    tags: list[str] = field(default_factory=list)
    timezone: str = "Europe/Brussels"
    billable: bool = True
    fixed_rate: float | None = None
    hourly_rate: float | None = None
    modified_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("begin", "end", "modified_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"timesheet {self.id}: {name} must be timezone-aware")

    @property
    def duration(self) -> int:
        """Seconds between begin and end; 0 while running (as Kimai serializes it)."""
        if self.end is None:
            return 0
        return int((self.end - self.begin).total_seconds())

    @property
    def rate(self) -> float:
        """Kimai's rate: the fixed rate if set, else hourly rate x hours, else 0."""
        if self.fixed_rate is not None:
            return float(self.fixed_rate)
        if self.hourly_rate is not None:
            return round(self.hourly_rate * self.duration / 3600, 2)
        return 0.0


@dataclass
class EmuConfig:
    """Server settings that change API behaviour.

    ``rounding_minutes``: begin is floored and end ceiled to this many minutes (Kimai's default
    rounding with 1 minute); 0 disables rounding. ``lockdown_end``: records beginning at or before
    this instant are locked (no grace period is emulated).
    """

    allow_overlapping: bool = True
    allow_future_times: bool = True
    allow_zero_duration: bool = True
    tracking_mode: str = "default"
    version: str = "2.65.0"
    version_id: int = 26500
    rounding_minutes: int = 1
    lockdown_end: datetime | None = None
    active_entries_hard_limit: int = 1


@dataclass
class RecordedRequest:
    """One request as the emulator saw it.

    ``query`` is a multidict (``.get`` gives the last value, ``.getlist`` all of them); ``body`` is
    the parsed JSON or None; ``status`` is what the application answered (for a lost response:
    the status of the committed write the client never saw; None if no answer was sent because the
    client left during a timeout fault); ``fault`` names the injected fault, if any.
    """

    method: str
    path: str
    query: Any
    body: Any
    status: int | None
    auth_user_id: int | None
    fault: str | None = None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


_Entity = TypeVar("_Entity")

# Entity tables, in dependency order; also the list keys of seed dictionaries.
_TABLES = ("users", "customers", "projects", "activities", "tags", "timesheets")


class TimesheetTable(dict):
    """Timesheets by id, with an index by user and by day: Kimai's overlap rule looks at one user's
    records around one time, and scanning every record on every write would make a 10,000-record
    run quadratic. Records are replaced whole when they change (routes store a new object), so
    keeping the index in ``__setitem__``/``__delitem__`` is enough; the one change made in place,
    a running record being stopped, is covered by keeping running records out of the day index."""

    def __init__(self) -> None:
        super().__init__()
        self._by_user: dict[int, dict[int, EmuTimesheet]] = {}
        self._by_day: dict[tuple[int, date], dict[int, EmuTimesheet]] = {}
        self._loose: dict[int, dict[int, EmuTimesheet]] = {}  # per user: running, or longer than a day
        self.max_id = 0  # the highest id ever stored: the next id without a scan of every record

    @staticmethod
    def _day(value: EmuTimesheet) -> date | None:
        if value.end is None or value.end - value.begin > timedelta(days=1):
            return None
        return value.begin.astimezone(timezone.utc).date()

    def _unindex(self, key: int) -> None:
        old = dict.__getitem__(self, key)
        self._by_user.get(old.user, {}).pop(key, None)
        day = self._day(old)
        self._loose.get(old.user, {}).pop(key, None)
        if day is not None:
            self._by_day.get((old.user, day), {}).pop(key, None)

    def __setitem__(self, key: int, value: EmuTimesheet) -> None:
        if key in self:
            self._unindex(key)
        super().__setitem__(key, value)
        self._by_user.setdefault(value.user, {})[key] = value
        day = self._day(value)
        if day is None:
            self._loose.setdefault(value.user, {})[key] = value
        else:
            self._by_day.setdefault((value.user, day), {})[key] = value
        self.max_id = max(self.max_id, key)

    def __delitem__(self, key: int) -> None:
        self._unindex(key)
        super().__delitem__(key)

    def pop(self, key, *default):
        if key in self:
            value = self[key]
            del self[key]
            return value
        return super().pop(key, *default)

    def clear(self) -> None:
        super().clear()
        self._by_user.clear()
        self._by_day.clear()
        self._loose.clear()

    def of_user(self, user: int) -> list[EmuTimesheet]:
        return list(self._by_user.get(user, {}).values())

    def of_user_around(self, user: int, begin: datetime, end: datetime) -> list[EmuTimesheet]:
        """The user's records that may touch [begin, end]: those beginning from the day before
        `begin` to the day of `end` (UTC), and every running or multi-day one."""
        first = begin.astimezone(timezone.utc).date() - timedelta(days=1)
        last = end.astimezone(timezone.utc).date()
        out = list(self._loose.get(user, {}).values())
        for n in range((last - first).days + 1):
            out.extend(self._by_day.get((user, first + timedelta(days=n)), {}).values())
        return out


class KimaiState:
    """Everything the emulator knows: data, settings, faults and the request log.

    ``clock`` returns the current UTC instant; tests replace it to pin "now" (default begin of new
    records, "projects active today", future-time checks).
    """

    def __init__(self, config: EmuConfig | None = None, faults: Faults | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.lock = threading.RLock()
        self.config = config or EmuConfig()
        self.faults = faults or Faults()
        self.clock = clock
        self.users: dict[int, EmuUser] = {}
        self.customers: dict[int, EmuCustomer] = {}
        self.projects: dict[int, EmuProject] = {}
        self.activities: dict[int, EmuActivity] = {}
        self.tags: dict[int, EmuTag] = {}
        self.timesheets: TimesheetTable = TimesheetTable()
        self.requests: list[RecordedRequest] = []
        self.fault_log: list[tuple[str, str, str]] = []
        self._last_ids: dict[str, int] = {}

    # ----------------------------------------------------------------- convenience constructors

    def next_id(self, table: str) -> int:
        """Next id of ``table`` (e.g. "timesheets"); like an auto-increment column, ids of
        deleted rows are never handed out again."""
        with self.lock:
            rows = getattr(self, table)
            top = rows.max_id if isinstance(rows, TimesheetTable) else max(rows, default=0)
            new_id = max(self._last_ids.get(table, 0), top) + 1
            self._last_ids[table] = new_id
            return new_id

    def _insert(self, table: str, cls: Callable[..., _Entity], values: dict[str, Any]) -> _Entity:
        with self.lock:
            rows = getattr(self, table)
            if values.get("id") is None:
                values["id"] = self.next_id(table)
            if values["id"] in rows:
                raise ValueError(f"duplicate {cls.__name__} id {values['id']}")
            entity = cls(**values)
            rows[values["id"]] = entity
            return entity

    def add_user(self, username: str, **values: Any) -> EmuUser:
        return self._insert("users", EmuUser, {"username": username, **values})

    def add_customer(self, name: str, **values: Any) -> EmuCustomer:
        return self._insert("customers", EmuCustomer, {"name": name, **values})

    def add_project(self, name: str, customer: int, **values: Any) -> EmuProject:
        with self.lock:
            if customer not in self.customers:
                raise ValueError(f"project {name!r}: unknown customer {customer}")
            return self._insert("projects", EmuProject, {"name": name, "customer": customer, **values})

    def add_activity(self, name: str, project: int | None = None, **values: Any) -> EmuActivity:
        with self.lock:
            if project is not None and project not in self.projects:
                raise ValueError(f"activity {name!r}: unknown project {project}")
            return self._insert("activities", EmuActivity, {"name": name, "project": project, **values})

    def add_tag(self, name: str, **values: Any) -> EmuTag:
        return self._insert("tags", EmuTag, {"name": name, **values})

    def add_timesheet(self, user: int, project: int, activity: int, begin: datetime | str,
                      end: datetime | str | None = None, **values: Any) -> EmuTimesheet:
        """Store a record as-is (no rounding or rule checks: seeding may create any situation).

        ``begin``/``end`` may be ISO strings; naive values are read in the record's timezone,
        which defaults to the owner's timezone.
        """
        with self.lock:
            owner = self.users[user]
            tz_name = values.pop("timezone", None) or owner.timezone
            values.setdefault("modified_at", self.clock())
            return self._insert("timesheets", EmuTimesheet, {
                "user": user, "project": project, "activity": activity, "timezone": tz_name,
                "begin": _aware(begin, tz_name), "end": _aware(end, tz_name), **values})

    # ------------------------------------------------------------------------------- lookups

    def user_by_token(self, token: str) -> EmuUser | None:
        with self.lock:
            return next((u for u in self.users.values() if u.api_token is not None and u.api_token == token), None)

    def user_by_login(self, name: str) -> EmuUser | None:
        """Legacy auth accepts the username or the email address."""
        with self.lock:
            return next((u for u in self.users.values() if name in (u.username, u.email)), None)

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    # ------------------------------------------------------------------------ (de)serialization

    @classmethod
    def seed_from_dict(cls, data: dict[str, Any]) -> KimaiState:
        """Build a state from a dictionary as written by ``to_dict`` (or by hand).

        Keys: ``config`` (EmuConfig fields) and lists ``users``, ``customers``, ``projects``,
        ``activities``, ``tags``, ``timesheets`` of objects with the dataclass field names.
        Datetimes are ISO 8601 strings (naive timesheet values are read in the owner's zone),
        dates ``YYYY-MM-DD``. Entries without ``id`` get the next free id.
        """
        config = dict(data.get("config", {}))
        if config.get("lockdown_end"):
            config["lockdown_end"] = datetime.fromisoformat(config["lockdown_end"])
        state = cls(config=EmuConfig(**config))
        for entry in data.get("users", []):
            state.add_user(**entry)
        for entry in data.get("customers", []):
            state.add_customer(**entry)
        for entry in data.get("tags", []):
            state.add_tag(**entry)
        for entry in data.get("projects", []):
            entry = dict(entry)
            for name in ("start", "end", "order_date"):
                if entry.get(name):
                    entry[name] = date.fromisoformat(entry[name])
            state.add_project(**entry)
        for entry in data.get("activities", []):
            state.add_activity(**entry)
        for entry in data.get("timesheets", []):
            entry = dict(entry)
            if entry.get("modified_at"):
                entry["modified_at"] = datetime.fromisoformat(entry["modified_at"])
            state.add_timesheet(**entry)
        return state

    @classmethod
    def from_json_file(cls, path: str | Path) -> KimaiState:
        return cls.seed_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible snapshot of config and data (not faults or the request log)."""
        with self.lock:
            result: dict[str, Any] = {"config": _plain(dataclasses.asdict(self.config))}
            for table in _TABLES:
                result[table] = [_plain(dataclasses.asdict(e)) for _id, e in sorted(getattr(self, table).items())]
            return result


def _aware(value: datetime | str | None, tz_name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=zone(tz_name))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}
