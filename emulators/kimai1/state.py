"""In-memory Kimai 1 database rows, the request log and the fault settings.

Rows are plain dataclasses referencing each other by integer id, like Kimai 1's MySQL tables
(``users``, ``customers``, ``projects``, ``activities``, ``projects_activities``, ``timeSheet``);
the API shapes are made in ``api``. One id sequence per table, so a project and an activity can
share an id. ``Kimai1State`` is shared by the test thread and the server thread: every
read-modify-write holds ``state.lock`` (re-entrant).

Not modelled: groups and membership roles (every user is in the one group, which sees every
customer, project and activity; ``role="admin"`` may list all users, ``"user"`` only itself),
customer logins (``customer_<name>``), expenses and the buzzer (start/stop recording).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .faults import Faults

__all__ = ["EmuActivity", "EmuCustomer", "EmuProject", "EmuTimeEntry", "EmuUser", "Faults", "Kimai1State",
           "RecordedCall"]

VERSION = "1.3.1"
REVISION = "1391"


@dataclass
class EmuUser:
    """A Kimai 1 user. ``name`` is the login. ``apikey`` is handed out by ``authenticate`` and kept
    until someone clears it (``revoke_key``). ``empty_key``: ``authenticate`` answers success with an
    empty key (the documented answer for an account that may not use the API, e.g. an SSO account
    that never logged in on the web)."""

    id: int
    name: str
    password: str
    alias: str | None = None
    mail: str | None = None
    role: str = "user"
    active: bool = True
    trash: bool = False
    timezone: str = "Europe/Brussels"
    apikey: str | None = None
    empty_key: bool = False

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail early on a misspelt zone
        if self.role not in ("admin", "user"):
            raise ValueError(f"unknown role {self.role!r} for user {self.name!r}")


@dataclass
class EmuCustomer:
    id: int
    name: str
    contact: str = ""
    visible: bool = True
    trash: bool = False


@dataclass
class EmuProject:
    id: int
    name: str
    customer: int
    comment: str = ""
    visible: bool = True
    internal: bool = False
    trash: bool = False
    budget: float = 0.0
    effort: float = 0.0
    approved: float = 0.0


@dataclass
class EmuActivity:
    """An activity ("task" in the API). ``projects`` empty: usable with every project (no
    ``projects_activities`` row); else only with those."""

    id: int
    name: str
    visible: bool = True
    trash: bool = False
    projects: list[int] = field(default_factory=list)


@dataclass
class EmuTimeEntry:
    """A ``timeSheet`` row; ``start``/``end`` are unix seconds (``end`` 0 while recording)."""

    id: int
    user: int
    project: int
    activity: int
    start: int
    end: int
    duration: int = 0
    description: str | None = None
    comment: str | None = None
    commentType: int = 0
    location: str | None = None
    trackingNumber: str | None = None
    rate: float = 0.0
    fixedRate: float = 0.0
    cleared: bool = False
    budget: float = 0.0
    approved: float = 0.0
    statusID: int = 1
    billable: int = 0


@dataclass
class RecordedCall:
    """One HTTP request as the server saw it. ``rpc_method``/``params``/``rpc_id`` come from the body
    (None when it was not a JSON-RPC object); ``user`` is the login the key in ``params[0]`` named
    when the call arrived; ``success`` is ``result.success`` of the answer (None for getVersion, Zend
    errors and faults); ``fault`` names an injected fault."""

    http_method: str
    path: str
    rpc_method: str | None
    params: Any
    rpc_id: Any
    user: str | None = None
    status: int | None = None
    success: bool | None = None
    error: str | None = None
    fault: str | None = None


_TABLES = ("users", "customers", "projects", "activities", "entries")


class Kimai1State:
    """The emulated Kimai 1: rows, settings (``row_limit``, ``default_timezone``), faults, logs."""

    def __init__(self, *, faults: Faults | None = None, default_timezone: str = "Europe/Berlin",
                 row_limit: int = 100, hide_cleared: bool = False) -> None:
        self.lock = threading.RLock()
        self.users: dict[int, EmuUser] = {}
        self.customers: dict[int, EmuCustomer] = {}
        self.projects: dict[int, EmuProject] = {}
        self.activities: dict[int, EmuActivity] = {}
        self.entries: dict[int, EmuTimeEntry] = {}
        self.default_timezone = default_timezone
        self.row_limit = row_limit
        self.hide_cleared = hide_cleared
        self.faults = faults or Faults()
        # None: rows with equal starts keep their insertion order; a Random: shuffled anew on every
        # getTimesheet, as MySQL may (ORDER BY start has no tie-breaker), so pages can overlap
        self.tie_order: random.Random | None = None
        self.fault_log: list[tuple[str, str]] = []  # (rpc method, fault kind)
        self.calls: list[RecordedCall] = []
        self._next = {t: 1 for t in _TABLES}
        self._key_counter = 0

    # ------------------------------------------------------------------ rows

    def next_id(self, table: str) -> int:
        with self.lock:
            n = self._next[table]
            self._next[table] = n + 1
            return n

    def _add(self, table: str, cls: type, values: dict[str, Any]) -> Any:
        with self.lock:
            rows = getattr(self, table)
            if "id" in values:
                self._next[table] = max(self._next[table], values["id"] + 1)
            else:
                values["id"] = self.next_id(table)
            row = cls(**values)
            if row.id in rows:
                raise ValueError(f"{table} id {row.id} exists")
            rows[row.id] = row
            return row

    def add_user(self, name: str, password: str, **values: Any) -> EmuUser:
        return self._add("users", EmuUser, {"name": name, "password": password, **values})

    def add_customer(self, name: str, **values: Any) -> EmuCustomer:
        return self._add("customers", EmuCustomer, {"name": name, **values})

    def add_project(self, name: str, customer: int, **values: Any) -> EmuProject:
        if customer not in self.customers:
            raise ValueError(f"no customer {customer}")
        return self._add("projects", EmuProject, {"name": name, "customer": customer, **values})

    def add_activity(self, name: str, **values: Any) -> EmuActivity:
        return self._add("activities", EmuActivity, {"name": name, **values})

    def add_entry(self, user: int, project: int, activity: int, start: int, end: int, **values: Any) -> EmuTimeEntry:
        values.setdefault("duration", end - start if end else 0)
        return self._add("entries", EmuTimeEntry, {"user": user, "project": project, "activity": activity,
                                                    "start": start, "end": end, **values})

    def user_by_name(self, name: str) -> EmuUser | None:
        with self.lock:
            return next((u for u in self.users.values() if u.name == name), None)

    def user_by_key(self, key: Any) -> EmuUser | None:
        """``getUserByApiKey``: an empty key names nobody; trashed users have no key."""
        if not isinstance(key, str) or not key.strip():
            return None
        with self.lock:
            return next((u for u in self.users.values() if u.apikey == key and not u.trash), None)

    def entries_of(self, user_id: int) -> list[EmuTimeEntry]:
        with self.lock:
            return [e for e in self.entries.values() if e.user == user_id]

    # ------------------------------------------------------------------ keys

    def new_key(self) -> str:
        """25 hex digits, like ``substr(md5(..) . sha1(..), 0, 25)``; deterministic here."""
        with self.lock:
            while True:
                self._key_counter += 1
                key = hashlib.sha1(f"kimai1-emulator-key-{self._key_counter}".encode()).hexdigest()[:25]
                if not any(u.apikey == key for u in self.users.values()):
                    return key

    def revoke_key(self, name: str) -> None:
        """Clear a user's API key (an admin resetting it): calls with the old key are refused, and
        the next ``authenticate`` hands out a new one."""
        with self.lock:
            user = self.user_by_name(name)
            if user is None:
                raise KeyError(name)
            user.apikey = None

    # ------------------------------------------------------------------ log

    def record(self, call: RecordedCall) -> None:
        with self.lock:
            self.calls.append(call)

    def clear_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.fault_log.clear()

    def calls_of(self, rpc_method: str) -> list[RecordedCall]:
        with self.lock:
            return [c for c in self.calls if c.rpc_method == rpc_method]

    # ------------------------------------------------------------------ files

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "settings": {"default_timezone": self.default_timezone, "row_limit": self.row_limit,
                             "hide_cleared": self.hide_cleared},
                **{t: [dataclasses.asdict(r) for r in getattr(self, t).values()] for t in _TABLES},
            }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Kimai1State:
        state = cls(**data.get("settings", {}))
        kinds = {"users": EmuUser, "customers": EmuCustomer, "projects": EmuProject,
                 "activities": EmuActivity, "entries": EmuTimeEntry}
        for table, kind in kinds.items():
            for row in data.get(table, []):
                state._add(table, kind, dict(row))
        return state

    @classmethod
    def from_json_file(cls, path: str | Path) -> Kimai1State:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
