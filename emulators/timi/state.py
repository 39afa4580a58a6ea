"""In-memory data of the emulated Timi account (one company: its users share clients, projects and
services; each time entry belongs to one user).

``TimiState`` is shared between the test thread and the server thread: every read-modify-write
goes through ``state.lock`` (re-entrant).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from emulators.kimai2.faults import Faults

__all__ = ["Client", "Faults", "Project", "RateBudget", "RecordedRequest", "Service", "TimeEntry",
           "TimiState", "User"]


@dataclass
class User:
    id: int
    email: str
    token: str
    display_name: str


@dataclass
class Client:
    id: int
    name: str


@dataclass
class Project:
    """``aliases`` are the words (often people's names) Timi's text recognition maps to the project."""

    id: int
    name: str
    client: int | None = None
    active: bool = True
    aliases: list[str] = field(default_factory=list)


@dataclass
class Service:
    """An activity ("activiteit"); the API calls it a service."""

    id: int
    name: str
    aliases: list[str] = field(default_factory=list)


@dataclass
class TimeEntry:
    id: int
    user: int
    body: str
    date: date
    duration: int  # seconds
    project: int | None = None
    service: int | None = None


@dataclass
class RecordedRequest:
    """One request as the emulator saw it. ``form`` holds the decoded form (or JSON) fields with
    ``token`` blanked; ``auth`` says which of the three ways the caller used."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    auth: str | None
    user: str | None
    status: int | None
    fault: str | None = None


class RateBudget:
    """``limit`` requests per account per fixed window of ``window`` seconds (0 = no limit).

    Timi documents "a limited number of requests per minute" without the number; the window is a
    parameter so tests need not wait a minute. ``clock`` is injectable.
    """

    def __init__(self, limit: int = 0, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window number, requests in it)
        self.refused = 0

    def take(self, key: str) -> bool:
        """Count one request of ``key``; False when its budget for this window is spent."""
        if not self.limit:
            return True
        slot = int(self.clock() // self.window)
        seen_slot, count = self._counts.get(key, (slot, 0))
        if seen_slot != slot:
            count = 0
        if count >= self.limit:
            self.refused += 1
            self._counts[key] = (slot, count)
            return False
        self._counts[key] = (slot, count + 1)
        return True


class TimiState:
    PER_PAGE = 100

    def __init__(self, *, rate: RateBudget | None = None, faults: Faults | None = None) -> None:
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.clients: dict[int, Client] = {}
        self.projects: dict[int, Project] = {}
        self.services: dict[int, Service] = {}
        self.entries: dict[int, TimeEntry] = {}
        self._by_user: dict[int, dict[int, TimeEntry]] = {}  # a listing reads one user's entries only
        self.timers: dict[int, tuple[int, str]] = {}  # user id -> (entry id, timer_started_at)
        self.rate = rate or RateBudget()
        self.faults = faults or Faults(paths_prefix="/api/v1/time_entries")
        self.fault_log: list[tuple[str, str, str]] = []
        self.requests: list[RecordedRequest] = []
        self._ids: dict[str, int] = {}

    def next_id(self, table: str, start: int = 1) -> int:
        with self.lock:
            self._ids[table] = max(self._ids.get(table, start - 1), start - 1) + 1
            return self._ids[table]

    def _keep(self, table: str, value: Any) -> Any:
        self._ids[table] = max(self._ids.get(table, 0), value.id)
        return value

    # ------------------------------------------------------------------ seeding

    def add_user(self, email: str, token: str, display_name: str | None = None, id: int | None = None) -> User:
        with self.lock:
            user = User(id or self.next_id("users"), email, token, display_name or email.split("@")[0].title())
            self.users[user.id] = self._keep("users", user)
            return user

    def add_client(self, name: str, id: int | None = None) -> Client:
        with self.lock:
            client = Client(id or self.next_id("clients"), name)
            self.clients[client.id] = self._keep("clients", client)
            return client

    def add_project(self, name: str, client: int | None = None, *, aliases: list[str] | None = None,
                    active: bool = True, id: int | None = None) -> Project:
        with self.lock:
            project = Project(id or self.next_id("projects"), name, client, active, list(aliases or []))
            self.projects[project.id] = self._keep("projects", project)
            return project

    def add_service(self, name: str, *, aliases: list[str] | None = None, id: int | None = None) -> Service:
        with self.lock:
            service = Service(id or self.next_id("services"), name, list(aliases or []))
            self.services[service.id] = self._keep("services", service)
            return service

    def add_entry(self, user: int, body: str, day: date | str, duration: int, project: int | None = None,
                  service: int | None = None, id: int | None = None) -> TimeEntry:
        with self.lock:
            day = date.fromisoformat(day) if isinstance(day, str) else day
            entry = TimeEntry(id or self.next_id("entries", 100000), user, body, day, duration, project, service)
            self.entries[entry.id] = self._keep("entries", entry)
            self._by_user.setdefault(user, {})[entry.id] = entry
            return entry

    # ------------------------------------------------------------------ lookups

    def user_by_credentials(self, email: str, token: str) -> User | None:
        for user in self.users.values():
            if user.email.lower() == email.strip().lower() and user.token == token:
                return user
        return None

    def entries_of(self, user: int) -> list[TimeEntry]:
        with self.lock:
            return list(self._by_user.get(user, {}).values())

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()
            self.fault_log.clear()
