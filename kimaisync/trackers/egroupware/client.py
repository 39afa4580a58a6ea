"""A client of EGroupware's timesheet REST API (``groupdav.php``) over one pooled ``httpx.Client``.

What it takes care of (facts from EGroupware's doc/REST-CalDAV-CardDAV/Timesheet.md and its
timesheet ApiHandler):

* Auth: HTTP Basic. With a password, every request logs in as ``EGROUPWARE_USER``, who needs each
  person's grant to write into their collection ``/<username>/timesheet/``. With an app token
  (``token<id>_<secret>``) a request into a person's collection logs in *as that person*: a token
  made "for all users" is valid for any username, so one service credential serves everyone (a
  token for one user only gets 401 for the others). The secret lives in the Authorization header
  only: never in a URL, a log line, a repr or an error message.
* ``Accept: application/json`` on every request; bodies are JSON.
* Reads: a collection whole (``filters[search]=``, ``filters[<attr>]=``), or only what changed since
  a sync-token, in ``nresults`` chunks until ``more-results`` ends (a chunk's token is one second
  before its last change, so that record comes again: later answers win), a deleted record as
  ``null``. A token the server refuses makes a full read instead (``Changes.full``).
* Writes: POST with ``Prefer: return=representation`` (201, ``Location``, the record); updates
  are PATCHes of the attributes that differ, never PUT (a PUT on a record deleted meanwhile would
  create a new one); PATCH and DELETE send ``If-Match`` with the ETag we read, and a 412 becomes
  ``EGroupwareConflict`` carrying the current record, so a person's edit is never overwritten.
* Retries (``kimaisync.retry``) for idempotent requests only: reads, PATCH and DELETE. A retried
  PATCH that meets 412 with our own values in place was our earlier attempt (its reply was lost),
  and a retried DELETE that meets 404 likewise. A POST is never retried here: after a lost reply
  the caller looks for its record (``timesheets(search=<marker>)``) before creating again.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from kimaisync.retry import call_with_retry
from kimaisync.trackers.egroupware.errors import (
    EGroupwareAuthError,
    EGroupwareConflict,
    EGroupwareError,
    EGroupwareNotFound,
    EGroupwarePermissionError,
    EGroupwareRateLimited,
    EGroupwareRejected,
    EGroupwareServerError,
    EGroupwareTransportError,
    SyncTokenRejected,
    UnexpectedAnswer,
)
from kimaisync.trackers.egroupware.models import EgwTimesheet, TimesheetWrite, format_utc, unquote_etag

log = logging.getLogger("kimaisync.egroupware")

APP_TOKEN = re.compile(r"^token\d+_.+")
SYNC_CHUNK = 500  # EGroupware reads its database in chunks of 500 too
_URL_HINT = "is EGROUPWARE_URL the groupdav.php base (e.g. https://egw.example.org/egroupware/groupdav.php)?"


@dataclass
class Changes:
    """What a sync-token read found. ``full``: every live record is in ``records`` (a first read, or
    the old token was refused), so a record missing from it is gone; otherwise only what changed,
    with the ids deleted since in ``deleted``. ``token`` is where the next read starts."""

    records: dict[int, EgwTimesheet] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    token: str = ""
    full: bool = False
    requests: int = 0


class _Scrub(logging.Filter):
    """Takes our secrets (raw and as Basic credentials) out of httpx's and httpcore's log lines, in
    case a server or proxy quotes them back in a status line."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        scrubbed = text
        for secret in self.secrets:
            scrubbed = scrubbed.replace(secret, "***")
        if scrubbed != text:
            record.msg, record.args = scrubbed, ()
        return True


_SCRUB = _Scrub()
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_SCRUB)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date); None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        return max(float(value.strip()), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _id_of(path: str) -> int | None:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else None


def _same_values(record: EgwTimesheet, changes: Mapping[str, Any]) -> bool:
    """Whether `record` already holds every value a PATCH body sets."""
    have = {
        "title": record.title,
        "start": format_utc(record.start),
        "duration": record.duration,
        "description": record.description,
        "project": record.project,
        "category": {record.category: True} if record.category else None,
    }
    return all(k in have and (v or None) == (have[k] or None) for k, v in changes.items() if k != "@type")


class EGroupwareClient:
    """Talks to one EGroupware; safe to share between threads.

    `retries`: extra attempts for a transient failure of an idempotent request; `sleep` is
    injectable for tests. `requests_made` counts every HTTP request (retries included).
    """

    def __init__(
        self,
        base_url: str,
        user: str,
        secret: SecretStr | str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 16,
        sync_chunk: int = SYNC_CHUNK,
    ) -> None:
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("the EGroupware password or app token is empty: set EGROUPWARE_PASSWORD")
        if not user or not user.strip() or ":" in user:
            raise ValueError("the EGroupware user is empty or contains ':': set EGROUPWARE_USER")
        url = httpx.URL(str(base_url).rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"EGROUPWARE_URL must be http(s)://host/.../groupdav.php, got "
                             f"{url.copy_with(username=None, password=None)}")
        if retries < 0 or sync_chunk < 2:
            raise ValueError("retries must be >= 0 and sync_chunk >= 2")
        self.base_url = str(url.copy_with(username=None, password=None))
        self._base_path = url.path.rstrip("/")
        self.user = user.strip()
        self._secret = SecretStr(raw.strip())
        self.impersonates = bool(APP_TOKEN.match(raw.strip()))
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.sync_chunk = int(sync_chunk)
        self._sleep = sleep
        self._auth: dict[str, str] = {}
        self._lock = threading.Lock()
        self.requests_made = 0
        self.retries_made = 0
        _SCRUB.secrets.add(raw.strip())
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,  # None: httpx's own, which honours the proxy environment
            follow_redirects=False,  # a redirect would drop (or leak) the credentials and turn POST into GET
        )

    def __repr__(self) -> str:
        mode = "app token, acting as each person" if self.impersonates else "password"
        return f"EGroupwareClient(base_url={self.base_url!r}, user={self.user!r}, auth={mode!r})"

    def __enter__(self) -> "EGroupwareClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport

    def login_for(self, username: str | None) -> str:
        """Who a request into `username`'s collection logs in as."""
        return username if (self.impersonates and username) else self.user

    def _authorization(self, login: str) -> str:
        header = self._auth.get(login)
        if header is None:
            pair = f"{login}:{self._secret.get_secret_value()}".encode()
            header = "Basic " + base64.b64encode(pair).decode("ascii")
            _SCRUB.secrets.add(header.split(" ", 1)[1])
            self._auth[login] = header
        return header

    def _scrub(self, text: str) -> str:
        secret = self._secret.get_secret_value()
        text = text.replace(secret, "***")
        for header in self._auth.values():
            text = text.replace(header.split(" ", 1)[1], "***")
        return text

    @staticmethod
    def collection(username: str) -> str:
        return f"/{quote(username, safe='@.')}/timesheet/"

    def _send(self, method: str, path: str, *, owner: str | None, params: Any = None, body: Any = None,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        """One request; a 2xx (or 304) response, or the matching error."""
        where = self._base_path + path
        hdrs = {"Authorization": self._authorization(self.login_for(owner)), **(headers or {})}
        with self._lock:
            self.requests_made += 1
        t0 = time.perf_counter()
        try:
            resp = self._http.request(method, path.lstrip("/"), params=params, json=body, headers=hdrs)
        except httpx.TimeoutException as exc:
            raise EGroupwareTransportError(f"EGroupware gave no answer within {self.timeout:g} s ({type(exc).__name__})",
                                      method=method, path=where) from None
        except httpx.TransportError as exc:
            detail = self._scrub(str(exc))[:200]
            raise EGroupwareTransportError(f"connection to EGroupware failed ({type(exc).__name__}"
                                      f"{': ' + detail if detail else ''})", method=method, path=where) from None
        log.debug("%s %s -> %d in %.0f ms", method, where, resp.status_code, (time.perf_counter() - t0) * 1000)
        if resp.is_success:
            return resp
        raise self._error(resp, method, where, owner)

    def _error(self, resp: httpx.Response, method: str, where: str, owner: str | None) -> EGroupwareError:
        status = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, Mapping) else None
        message = self._scrub(str(message))[:300] if message else None
        said = f": {message}" if message else ""
        kw = {"method": method, "path": where}
        login = self.login_for(owner)
        if status == 401:
            if self.impersonates and login != self.user:
                hint = (f"the app token in EGROUPWARE_PASSWORD is not valid for user {login!r}: make it a token "
                        "for all users (Admin > Token), or check that the account exists and is enabled")
            else:
                hint = (f"check EGROUPWARE_USER ({self.user!r}) and EGROUPWARE_PASSWORD (the password or an app "
                        "token), and that the account is enabled")
            return EGroupwareAuthError(f"EGroupware rejected the credentials (401): {hint}", status=401, **kw)
        if status == 403:
            if owner and login != owner:
                hint = (f"{login!r} may not access {owner!r}'s timesheets: {owner!r} must grant {login!r} read, "
                        "add, edit and delete rights in the timesheet ACL, or use an app token for all users")
            else:
                hint = f"{login!r} lacks the timesheet application's rights (or the token is limited to other apps)"
            return EGroupwarePermissionError(f"EGroupware refused (403{said}): {hint}", status=403, **kw)
        if status == 404:
            return EGroupwareNotFound(f"not found (404{said})", **kw)
        if status == 412:
            current = None
            if isinstance(body, Mapping) and "id" in body:
                current = self._record(body, resp)
            return EGroupwareConflict("the timesheet changed in EGroupware since it was read (412 Precondition "
                                      "Failed)", current, **kw)
        if status in (400, 422):
            return EGroupwareRejected(f"EGroupware refused the timesheet ({status}{said})", status=status, **kw)
        if status == 429:
            after = _retry_after(resp.headers.get("retry-after"))
            return EGroupwareRateLimited("too many requests (429)" + (f", retry after {after:g} s" if after else ""),
                                         retry_after=after, **kw)
        if status == 408:
            return EGroupwareTransportError("the server timed out waiting for the request (408)", status=408, **kw)
        if status >= 500:
            return EGroupwareServerError(f"EGroupware or a proxy in front of it failed ({status}{said})", status=status, **kw)
        if 300 <= status < 400:
            return UnexpectedAnswer(f"redirected ({status}): {_URL_HINT} (https?)", status=status, **kw)
        return EGroupwareError(f"unexpected answer {status}{said}", status=status, **kw)

    def _on_retry(self, exc: BaseException, attempt: int, delay: float) -> None:
        with self._lock:
            self.retries_made += 1
        log.info("attempt %d of %d failed: %s; retrying in %.1f s", attempt, self.retries + 1, exc, delay)

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        return call_with_retry(fn, attempts=self.retries + 1, sleep=self._sleep, on_retry=self._on_retry)

    # ------------------------------------------------------------------ decoding

    def _json(self, resp: httpx.Response) -> Any:
        method, where = resp.request.method, resp.request.url.path
        content = resp.content
        if not content.strip():
            raise UnexpectedAnswer(f"empty answer ({resp.status_code}) where JSON was expected",
                                   method=method, path=where, status=resp.status_code)
        if "html" in resp.headers.get("content-type", "").lower() or content.lstrip()[:1] == b"<":
            raise UnexpectedAnswer(f"answered HTML instead of JSON ({resp.status_code}): {_URL_HINT}",
                                   method=method, path=where, status=resp.status_code)
        try:
            return json.loads(content)
        except ValueError:
            raise UnexpectedAnswer(f"answered invalid or truncated JSON ({resp.status_code}, {len(content)} bytes)",
                                   method=method, path=where, status=resp.status_code) from None

    def _record(self, data: Any, resp: httpx.Response, etag: str | None = None) -> EgwTimesheet:
        try:
            record = EgwTimesheet.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            loc = ".".join(str(p) for p in first.get("loc", ()))
            raise UnexpectedAnswer(self._scrub(f"unexpected timesheet shape ({loc}: {first.get('msg', 'invalid')})")[:300],
                                   method=resp.request.method, path=resp.request.url.path) from None
        if etag:
            record.etag = unquote_etag(etag)
        return record

    def _responses(self, resp: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]]:
        data = self._json(resp)
        responses = data.get("responses") if isinstance(data, Mapping) else None
        if not isinstance(responses, Mapping):
            raise UnexpectedAnswer("a collection answer without 'responses'", method=resp.request.method,
                                   path=resp.request.url.path)
        return dict(responses), data

    # ------------------------------------------------------------------ reading

    def timesheets(self, username: str, *, search: str | None = None,
                   filters: Mapping[str, str | int] | None = None) -> list[EgwTimesheet]:
        """Every live timesheet in `username`'s collection (one request), in id order.

        `search`: EGroupware's full-text search (``filters[search]``), e.g. our marker;
        `filters`: attribute equals value (``filters[<name>]``; ``start`` in epoch seconds)."""
        params: list[tuple[str, str]] = []
        if search:
            params.append(("filters[search]", search))
        for name, value in (filters or {}).items():
            params.append((f"filters[{name}]", str(value)))
        path = self.collection(username)
        resp = self._retrying(lambda: self._send("GET", path, owner=username, params=params or None))
        responses, _ = self._responses(resp)
        out = [self._record(v, resp) for v in responses.values() if isinstance(v, Mapping)]
        return sorted(out, key=lambda r: r.id)

    def get(self, username: str, timesheet_id: int) -> EgwTimesheet:
        """One timesheet with its current ETag; EGroupwareNotFound (an EntryNotFound) when it is gone."""
        path = self.collection(username) + str(int(timesheet_id))
        resp = self._retrying(lambda: self._send("GET", path, owner=username))
        return self._record(self._json(resp), resp, resp.headers.get("etag"))

    def changes(self, username: str, token: str | None) -> Changes:
        """What changed in `username`'s collection since `token` (None or "": everything, ``full``).

        A token the server refuses is dropped and everything is read instead (``full`` set)."""
        if token:
            try:
                return self._sync(username, token)
            except SyncTokenRejected as exc:
                log.info("%s: sync-token refused (%s); reading the whole collection", username, exc)
        return self._sync(username, "")

    def _sync(self, username: str, token: str) -> Changes:
        out = Changes(full=not token)
        path = self.collection(username)
        chunk = self.sync_chunk
        current = token
        while True:
            params = {"sync-token": current, "nresults": chunk}

            def once(params: dict[str, Any] = params) -> httpx.Response:
                try:
                    return self._send("GET", path, owner=username, params=params)
                except (EGroupwarePermissionError, EGroupwareNotFound, EGroupwareRejected, EGroupwareConflict) as exc:
                    if params["sync-token"] and exc.status in (400, 403, 404, 409, 410, 412, 422):
                        # RFC 6578: a token the server cannot honour is 403 valid-sync-token; other
                        # servers say 400/409/410. A real permission problem shows again on the full read.
                        raise SyncTokenRejected(f"sync-token refused ({exc.status})", method="GET",
                                                path=self._base_path + path) from None
                    raise

            resp = self._retrying(once)
            out.requests += 1
            responses, data = self._responses(resp)
            for key, value in responses.items():
                ts_id = _id_of(key)
                if ts_id is None:
                    continue
                if value is None:
                    out.records.pop(ts_id, None)
                    out.deleted.add(ts_id)
                elif isinstance(value, Mapping):
                    out.deleted.discard(ts_id)
                    out.records[ts_id] = self._record(value, resp)
            new_token = data.get("sync-token")
            if not isinstance(new_token, str) or not new_token:
                raise UnexpectedAnswer("a sync answer without a sync-token", method="GET",
                                       path=self._base_path + path)
            if not data.get("more-results"):
                out.token = new_token
                return out
            if new_token == current:
                # a whole chunk changed within one second: ask for more at once, or it never ends
                chunk *= 2
                if chunk > 64 * self.sync_chunk:
                    raise UnexpectedAnswer("the sync-token does not advance", method="GET",
                                           path=self._base_path + path)
            current = new_token

    def probe(self, username: str | None = None) -> str:
        """The cheapest authenticated read of `username`'s collection (default: our own user's):
        one ETag of a sync answer. Returns the collection's sync-token."""
        path = self.collection(username or self.user)
        params = {"sync-token": "", "nresults": 1, "props[]": "getetag"}
        resp = self._send("GET", path, owner=username, params=params)
        _, data = self._responses(resp)
        return str(data.get("sync-token", ""))

    # ------------------------------------------------------------------ writing

    def create(self, username: str, w: TimesheetWrite) -> EgwTimesheet:
        """POST a new timesheet into `username`'s collection; the record as EGroupware stored it.

        Never retried here: after a lost reply or a 5xx the record may exist, so the caller looks
        for it (by its marker) before creating again."""
        path = self.collection(username)
        resp = self._send("POST", path, owner=username, body=w.to_body(),
                          headers={"Prefer": "return=representation"})
        if resp.content.strip():
            return self._record(self._json(resp), resp, resp.headers.get("etag"))
        new_id = _id_of(resp.headers.get("location", ""))
        if new_id is None:
            raise UnexpectedAnswer(f"created ({resp.status_code}) without a Location of the new timesheet",
                                   method="POST", path=self._base_path + path)
        return self.get(username, new_id)

    def update(self, username: str, timesheet_id: int, changes: Mapping[str, Any], etag: str) -> EgwTimesheet:
        """PATCH the given attributes, only if the record still has `etag`; the record afterwards.

        EGroupwareConflict when someone changed it meanwhile (``.current``: the record now). A
        retry that meets 412 with our values already in place was our own lost write: success."""
        if not changes:
            raise ValueError("nothing to update")
        path = self.collection(username) + str(int(timesheet_id))
        attempt = 0

        def once() -> httpx.Response | EgwTimesheet:
            nonlocal attempt
            attempt += 1
            try:
                return self._send("PATCH", path, owner=username, body=dict(changes),
                                  headers={"If-Match": f'"{unquote_etag(etag)}"', "Prefer": "return=representation"})
            except EGroupwareConflict as exc:
                if attempt > 1:
                    current = exc.current or self.get(username, timesheet_id)
                    if _same_values(current, changes):
                        return current
                raise

        result = self._retrying(once)
        if isinstance(result, EgwTimesheet):
            return result
        if result.content.strip():
            return self._record(self._json(result), result, result.headers.get("etag"))
        return self.get(username, timesheet_id)

    def delete(self, username: str, timesheet_id: int, etag: str | None = None, *, missing_ok: bool = False) -> None:
        """DELETE (204), with ``If-Match`` when `etag` is given (EGroupwareConflict if it changed).

        EGroupwareNotFound if it does not exist, unless `missing_ok`; a 404 on a retry counts as
        done (the earlier attempt whose reply was lost deleted it)."""
        path = self.collection(username) + str(int(timesheet_id))
        headers = {"If-Match": f'"{unquote_etag(etag)}"'} if etag else None
        attempt = 0

        def once() -> None:
            nonlocal attempt
            attempt += 1
            try:
                self._send("DELETE", path, owner=username, headers=headers)
            except EGroupwareNotFound:
                if missing_ok or attempt > 1:
                    return
                raise

        self._retrying(once)
