"""A Kimai 1 client: one ``JsonRpc`` transport, one key per user per run.

Facts from Kimai 1's ``Kimai_Remote_Api`` (``libraries/Kimai/Remote/Api.php``):

* ``authenticate(username, password)`` gives the user's API key; every other call takes it as
  its first parameter. An empty key, or "Unknown user or no permissions.", is a refusal.
* A key acts as its user only: ``getTimesheet`` lists that user's records, ``setTimesheetRecord``
  writes (and on update: hands over) the record to that user. So a person's records are read and
  written with that person's login (``session(username)``); the service login (``service()``,
  KIMAI1_USER) reads users, customers, projects and tasks.
* A call answering "Unknown user or no permissions." with a key that worked means the key was
  reset: the session authenticates again, once per run, and repeats the call once.
* List calls with nothing to list fail with Kimai's generic "An unhandled error occured."; here
  they are empty lists. ``getTimesheetRecord`` says the same for an unknown id: not found.
* ``getTimesheet(key, from, to, cleared, start, limit)`` pages by ``start``/``limit``, newest
  first, ``total`` counting every match; it keeps records overlapping the window and shows their
  start and end clamped to it, so :meth:`Kimai1Session.entries` asks a window one day wider on
  each side and keeps the records starting inside the asked one.

Retries (kimaisync.retry): reads, updates (a whole record set again) and deletes (Kimai
answers success for an id already gone) are retried on transient failures; a create is not
(the caller looks for its record by marker first, as for Kimai 2).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from kimaisync.errors import (
    KimaiAuthError,
    TrackerConfigError,
    KimaiError,
    KimaiNotFoundError,
    KimaiProtocolError,
    KimaiServerError,
    KimaiValidationError,
    ValidationDetails,
)
from kimaisync.retry import call_with_retry
from kimaisync.trackers.kimai1.models import K1Customer, K1Entry, K1EntryWrite, K1Project, K1Task, K1User, format_time
from kimaisync.trackers.kimai1.rpc import JsonRpc, log

M = TypeVar("M", bound=BaseModel)

AUTH_REFUSED = "Unknown user or no permissions."
NOTHING_FOUND = "An unhandled error occured."  # sic: Kimai's own spelling
PAGE_SIZE = 500
_EDGE = timedelta(days=1)


class NoCredential(KimaiError, TrackerConfigError):
    """The person has no entry in KIMAI1_CREDENTIALS_FILE: their work logs are skipped (the run goes on)."""


class _KeyRefused(Exception):
    """Internal: Kimai did not take the key this call carried."""


def _secret(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")


class Kimai1Session:
    """One Kimai 1 login: its key (obtained on first use), and the calls made with it."""

    def __init__(self, client: Kimai1Client, username: str, password: SecretStr) -> None:
        self.client = client
        self.username = username
        self._password = password
        self._key: str | None = None
        self._reauthenticated = False
        self._refused: KimaiAuthError | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Kimai1Session(username={self.username!r})"

    # ------------------------------------------------------------------ the key

    def _authenticate(self) -> str:
        rpc = self.client.rpc
        result = self.client._retrying(lambda: rpc.call("authenticate", [self.username, _secret(self._password)]))
        items = result.get("items") if isinstance(result, dict) else None
        key = ""
        if isinstance(result, dict) and result.get("success") and isinstance(items, list) and items \
                and isinstance(items[0], dict):
            key = str(items[0].get("apiKey") or "")
        if not key.strip():
            raise KimaiAuthError(f"Kimai 1 refused the login of {self.username!r}: check the username and password "
                                 "(KIMAI1_USER/KIMAI1_PASSWORD or KIMAI1_CREDENTIALS_FILE), that the account is "
                                 "active, and that it may use the API (an SSO account must log in on the web once)",
                                 method="authenticate", path=rpc.path)
        rpc.add_secrets([key])
        return key

    def key(self) -> str:
        with self._lock:
            if self._refused is not None:  # a refused login is asked once per run, not once per record
                raise self._refused
            if self._key is None:
                try:
                    self._key = self._authenticate()
                except KimaiAuthError as err:
                    self._refused = err
                    raise
            return self._key

    def _renew(self, refused: str) -> str:
        """A new key after `refused` stopped working; once per session (then the login is wrong)."""
        with self._lock:
            if self._key != refused:  # another thread renewed it meanwhile
                return self._key
            if self._reauthenticated:
                raise KimaiAuthError(f"Kimai 1 stopped taking the key of {self.username!r} again after it was "
                                     "renewed once in this run: check the account (deactivated? API keys reset?)",
                                     path=self.client.rpc.path)
            self._reauthenticated = True
            self._key = None
            log.info("the Kimai 1 key of %s stopped working; authenticating again", self.username)
            self._key = self._authenticate()
            return self._key

    # ------------------------------------------------------------------ calls

    def call(self, method: str, *params: Any, retry: bool = True) -> dict:
        """``result`` of a successful call ({"success": true, ...}); a KimaiError otherwise."""
        key = self.key()
        try:
            return self._once(method, key, params, retry)
        except _KeyRefused:
            key = self._renew(key)
        try:
            return self._once(method, key, params, retry)
        except _KeyRefused:
            raise KimaiAuthError(f"Kimai 1 refused the fresh key of {self.username!r} ({AUTH_REFUSED})",
                                 method=method, path=self.client.rpc.path) from None

    def _once(self, method: str, key: str, params: tuple, retry: bool) -> dict:
        rpc = self.client.rpc

        def attempt() -> dict:
            result = rpc.call(method, [key, *params])
            if not isinstance(result, dict) or "success" not in result:
                raise KimaiProtocolError("answered a result without 'success'", method=method, path=rpc.path)
            if not result["success"]:
                error = result.get("error")
                msg = str(error.get("msg") if isinstance(error, dict) else error or "")
                if msg == AUTH_REFUSED:
                    raise _KeyRefused()
                raise _refusal(method, rpc.scrub(msg)[:300], rpc.path)
            return result

        return self.client._retrying(attempt) if retry else attempt()

    def _items(self, method: str, *params: Any) -> list:
        try:
            result = self.call(method, *params)
        except _Nothing:
            return []
        items = result.get("items")
        if not isinstance(items, list):
            raise KimaiProtocolError("answered 'items' that is not a list", method=method, path=self.client.rpc.path)
        return items

    # ------------------------------------------------------------------ reference data

    def users(self) -> list[K1User]:
        return self.client._models(K1User, self._items("getUsers"), "getUsers")

    def customers(self) -> list[K1Customer]:
        return self.client._models(K1Customer, self._items("getCustomers"), "getCustomers")

    def projects(self, *, include_tasks: bool = True) -> list[K1Project]:
        """Visible projects of visible customers; with their usable tasks when `include_tasks`."""
        return self.client._models(K1Project, self._items("getProjects", include_tasks), "getProjects")

    def tasks(self, project_id: int | None = None) -> list[K1Task]:
        items = self._items("getTasks", project_id) if project_id is not None else self._items("getTasks")
        return self.client._models(K1Task, items, "getTasks")

    # ------------------------------------------------------------------ the person's records

    def entries(self, begin: datetime, end: datetime, zone: tzinfo) -> list[K1Entry]:
        """This user's records starting in ``[begin, end)``, each once, read in pages."""
        lo, hi = begin - _EDGE, end + _EDGE
        out = [e for e in self._read(format_time(lo, zone), format_time(hi, zone), int(hi.timestamp()))
               if begin <= e.start < end]
        out.sort(key=lambda e: (e.start, e.id))
        return out

    def all_entries(self) -> list[K1Entry]:
        """Every record of this user, any date (no window: nothing is clamped)."""
        return sorted(self._read(0, 0, None), key=lambda e: (e.start, e.id))

    def _read(self, frm: Any, to: Any, clamped_end: int | None) -> list[K1Entry]:
        size = self.client.page_size
        seen: dict[int, dict] = {}
        offset, total = 0, None
        while True:
            result = self.call("getTimesheet", frm, to, -1, offset, size)
            items = result.get("items") or []
            total = _int(result.get("total"), len(items))
            for row in items:
                seen[_int(row.get("timeEntryID"), 0)] = row
            offset += size
            if len(items) < size or offset >= total:
                break
        if len(seen) != total:
            # rows came or went between pages, or equal start times came in another order: one read
            result = self.call("getTimesheet", frm, to, -1, 0, total + size)
            seen = {_int(row.get("timeEntryID"), 0): row for row in result.get("items") or []}
        out = []
        for row in seen.values():
            if clamped_end is not None and isinstance(row.get("end"), int) and row["end"] == clamped_end:
                row = self.record_row(_int(row.get("timeEntryID"), 0))  # longer than the margin: its true end
            out.append(self.client._model(K1Entry, row, "getTimesheet"))
        return out

    def record_row(self, entry_id: int) -> dict:
        try:
            items = self.call("getTimesheetRecord", entry_id)["items"]
        except _Nothing:
            raise KimaiNotFoundError(f"no time-sheet record {entry_id}", method="getTimesheetRecord",
                                     path=self.client.rpc.path) from None
        if not items:
            raise KimaiNotFoundError(f"no time-sheet record {entry_id}", method="getTimesheetRecord",
                                     path=self.client.rpc.path)
        return items[0]

    def entry(self, entry_id: int) -> K1Entry:
        """Any record by id (Kimai checks no owner here)."""
        return self.client._model(K1Entry, self.record_row(entry_id), "getTimesheetRecord")

    def create(self, write: K1EntryWrite, zone: tzinfo) -> int:
        """A new record of this user; its id. Not retried: a lost reply may have created it."""
        result = self.call("setTimesheetRecord", write.record(zone), False, retry=False)
        items = result.get("items") or []
        try:
            return int(items[0]["id"])
        except (IndexError, KeyError, TypeError, ValueError):
            raise KimaiProtocolError("a create answered no id", method="setTimesheetRecord",
                                     path=self.client.rpc.path) from None

    def update(self, entry_id: int, write: K1EntryWrite, zone: tzinfo) -> None:
        """Set the whole record. Kimai makes it this user's record, and answers success for an id
        that does not exist (changing nothing): callers update only records they just read."""
        self.call("setTimesheetRecord", write.record(zone, entry_id), True)

    def remove(self, entry_id: int) -> None:
        """Delete by id; an id already gone is success too (Kimai does not tell)."""
        self.call("removeTimesheetRecord", entry_id)


class _Nothing(KimaiNotFoundError):
    """A list or record call answered Kimai's generic failure: there is nothing to show."""


def _refusal(method: str, msg: str, path: str) -> KimaiError:
    kw = {"method": method, "path": path}
    if msg == NOTHING_FOUND and method in ("getUsers", "getCustomers", "getProjects", "getTasks",
                                          "getTimesheetRecord"):
        return _Nothing("nothing found", **kw)
    if msg.startswith("Invalid") or msg.startswith("Performed an update"):
        return KimaiValidationError("Kimai 1 refused the record", ValidationDetails(global_errors=[msg]), **kw)
    if msg == "Failed to add entry.":
        return KimaiServerError("Kimai 1 could not store the record (database)", **kw)
    return KimaiError(f"Kimai 1 refused: {msg or 'no reason given'}", **kw)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class Kimai1Client:
    """Talks to one Kimai 1. ``service()`` is the KIMAI1_USER login (reference data, users);
    ``session(username)`` a person's own login from the credentials; both made once per client."""

    def __init__(self, endpoint: str, *, user: str | None = None, password: SecretStr | str | None = None,
                 credentials: Mapping[str, SecretStr | str] | None = None, timeout: float = 30.0,
                 retries: int = 4, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, page_size: int = PAGE_SIZE,
                 max_connections: int = 16) -> None:
        self.rpc = JsonRpc(endpoint, timeout=timeout, max_connections=max_connections, transport=transport)
        self.retries = int(retries)
        self.page_size = max(1, int(page_size))
        self._sleep = sleep
        self._service_login = (user, SecretStr(_secret(password))) if user else None
        self._credentials = {name: SecretStr(_secret(pw)) for name, pw in (credentials or {}).items()}
        self.rpc.add_secrets([_secret(password)] + [_secret(p) for p in self._credentials.values()])
        self._sessions: dict[str, Kimai1Session] = {}
        self._lock = threading.Lock()
        self.retries_made = 0

    def __repr__(self) -> str:
        return f"Kimai1Client(endpoint={self.rpc.endpoint!r}, people={len(self._credentials)})"

    def __enter__(self) -> Kimai1Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.rpc.close()

    def version(self) -> str:
        """``getVersion``: ``"1.3.1-1391"``; needs no login."""
        result = self._retrying(lambda: self.rpc.call("getVersion", []))
        return str(result)

    def has_credential(self, username: str) -> bool:
        return username in self._credentials

    def credential_names(self) -> list[str]:
        """The usernames KIMAI1_CREDENTIALS_FILE has a password for (never the passwords)."""
        return sorted(self._credentials)

    def service(self) -> Kimai1Session:
        if self._service_login is None:
            raise KimaiAuthError("no Kimai 1 service login: set KIMAI1_USER and KIMAI1_PASSWORD")
        return self._session(*self._service_login)

    def session(self, username: str) -> Kimai1Session:
        """The person's own login; ``NoCredential`` when the credentials file has none."""
        if username not in self._credentials:
            raise NoCredential(f"no Kimai 1 password for {username!r} in KIMAI1_CREDENTIALS_FILE: their work logs "
                               "are skipped (Kimai 1 writes a record only as the key's own user)")
        return self._session(username, self._credentials[username])

    def _session(self, username: str, password: SecretStr) -> Kimai1Session:
        with self._lock:
            session = self._sessions.get(username)
            if session is None:
                session = self._sessions[username] = Kimai1Session(self, username, password)
            return session

    # ------------------------------------------------------------------ helpers

    def _on_retry(self, exc: BaseException, attempt: int, delay: float) -> None:
        with self._lock:
            self.retries_made += 1
        log.info("attempt %d of %d failed: %s; retrying in %.1f s", attempt, self.retries + 1, exc, delay)

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        return call_with_retry(fn, attempts=self.retries + 1, sleep=self._sleep, on_retry=self._on_retry)

    def _model(self, model: type[M], row: Any, method: str) -> M:
        try:
            return model.model_validate(row)
        except ValidationError as exc:
            fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()}))
            raise KimaiProtocolError(f"a row Kimai 1 answered does not fit {model.__name__} ({fields})",
                                     method=method, path=self.rpc.path) from None

    def _models(self, model: type[M], rows: list, method: str) -> list[M]:
        return [self._model(model, row, method) for row in rows]
