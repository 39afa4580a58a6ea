"""A Kimai 2 REST client over one pooled ``httpx.Client``.

What it takes care of (facts from ``/work/shared/reference/kimai-api.md``):

* Auth: ``Authorization: Bearer <token>``, or the legacy ``X-AUTH-USER``/``X-AUTH-TOKEN`` pair
  when an API user name is configured. The token lives only in the request headers: never in a
  URL, a log line, a repr or an exception message (every foreign text we quote is scrubbed too).
* Lists: only ``GET /api/timesheets`` paginates. Customers, projects, activities and users are
  ONE request each (they ignore ``page``/``size``; a page loop there never ends), asked with
  ``visible=3`` (and ``ignoreDates=1`` for projects) so hidden and inactive records come too.
* Timesheet paging: ``user=all&orderBy=id&order=ASC&size=500``, page 1 up to ``X-Total-Pages``,
  stop at a short page, a 404 past page 1 ends paging, ids de-duplicated, and rows that shift to
  an earlier page because others were deleted meanwhile are picked up again (see
  :meth:`KimaiClient.iter_timesheets`).
* Time zones: query filters and POST bodies are wall clock in the API user's zone (from
  ``/api/users/me``, cached); PATCH bodies in the record's zone, which the caller passes.
* Errors become the types of :mod:`kimaisync.errors`, with a hint what to check.
* Retries happen in :func:`kimaisync.retry.call_with_retry` only, and only for idempotent
  requests: GET, DELETE and PATCH of field values. ``POST`` (create) is not retried unless the
  caller says so; the export flag, which Kimai only offers as a toggle, is re-read before every
  retry.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
import string
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone as dt_timezone
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel, ValidationError

from kimaisync.retry import parse_retry_after
from kimaisync.errors import (
    Where,
    KimaiAuthError,
    KimaiError,
    KimaiLockedError,
    KimaiNotFoundError,
    KimaiPermissionError,
    KimaiProtocolError,
    KimaiRateLimitedError,
    KimaiServerError,
    KimaiTransportError,
    KimaiValidationError,
    ValidationDetails,
)
from kimaisync.trackers.kimai2.models import (
    KimaiActivity,
    KimaiCustomer,
    KimaiProject,
    KimaiTimesheet,
    KimaiUser,
    TimesheetWrite,
)
from kimaisync.trackers.kimai2.timefmt import format_local, format_query
from kimaisync.retry import call_with_retry

log = logging.getLogger("kimaisync.kimai")

M = TypeVar("M", bound=BaseModel)

MAX_PAGE_SIZE = 500  # Kimai's BaseApiController::MAX_PAGE_SIZE
MAX_STEP_BACKS = 25  # re-reads of earlier pages in one listing before we give up on a moving target

_HEADER_SAFE = set(string.ascii_letters + string.digits + string.punctuation)

# Hints for a 403, per kind of request. (error type, what is missing)
_API_ACCESS = (KimaiAuthError,
               "the API user may not use the API at all: its role needs the 'api_access' permission "
               "(every role has it by default), or the account/token is restricted")
_VIEW_USERS = (KimaiPermissionError,
               "listing users needs the 'view_user' permission, which by default only a super-admin "
               "(ROLE_SUPER_ADMIN) has: make the sync's API user a super-admin")
_LIST_TIMESHEETS = (KimaiPermissionError,
                    "listing all users' timesheets (user=all) needs 'view_other_timesheet' (teamlead or "
                    "higher) and access to the users' teams: make the sync's API user a super-admin")
_VIEW_TIMESHEET = (KimaiPermissionError,
                   "viewing another user's timesheet needs 'view_other_timesheet' and access to its team")
_CREATE_TIMESHEET = (KimaiPermissionError,
                     "creating timesheets needs 'create_own_timesheet', and for another user "
                     "'create_other_timesheet' (teamlead or higher)")
_EDIT_TIMESHEET = (KimaiLockedError,
                   "the timesheet is exported or in a locked period (editing those needs "
                   "'edit_exported_timesheet' / lockdown permissions), or belongs to a user the API "
                   "user may not edit")
_DELETE_TIMESHEET = (KimaiLockedError,
                     "the timesheet is exported or in a locked period, or belongs to a user the API "
                     "user may not delete records of ('delete_other_timesheet')")
_EXPORT_TIMESHEET = (KimaiPermissionError,
                     "changing the export flag needs 'edit_export_other_timesheet' (teamlead or higher); "
                     "un-exporting also needs 'edit_exported_timesheet' (admin)")

_ENDPOINT_HINT = "is KIMAI_ENDPOINT the API URL, ending in /api (e.g. https://kimai.example.org/api)?"


class _ScrubSecrets(logging.Filter):
    """Takes the token of every client made in this process out of httpx's and httpcore's log lines.

    At DEBUG, httpcore logs each response's headers whole, and httpx's INFO line quotes the status
    line: a server or proxy that quotes the request's credentials back (in WWW-Authenticate, say)
    would have them printed. Costs nothing while those loggers are off (no record is made).
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        scrubbed = text
        for secret in self.secrets:
            scrubbed = scrubbed.replace(secret, "***").replace(repr(secret.encode())[2:-1], "***")
        if scrubbed != text:
            record.msg, record.args = scrubbed, ()
        return True


_SCRUB_SECRETS = _ScrubSecrets()
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks"):
    logging.getLogger(_name).addFilter(_SCRUB_SECRETS)


def _header_int(resp: httpx.Response, name: str) -> int | None:
    raw = resp.headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def parse_validation_details(body: Any) -> ValidationDetails:
    """Kimai's 400 body -> global and per-field messages.

    Shapes: the form shape ``{"code":400,"message":"Validation Failed","errors":{"errors":[..],
    "children":{"activity":{"errors":[..]}, "begin":{}}}}`` (fields without errors are ``{}``),
    the string-code shape ``{"code":"400",...,"errors":{"children":{"duration":{"errors":[..]}}}}``,
    and the plain ``{"code":400,"message":"Bad Request"}`` (no details).
    Nested children (compound fields) are named ``parent.child``.
    """
    details = ValidationDetails()
    if not isinstance(body, Mapping):
        return details
    errors = body.get("errors")
    if isinstance(errors, list):
        details.global_errors.extend(str(e) for e in errors if e is not None)
        return details
    if not isinstance(errors, Mapping):
        return details

    def messages(node: Any) -> list[str]:
        raw = node.get("errors") if isinstance(node, Mapping) else None
        if isinstance(raw, list):
            return [str(m) for m in raw if m is not None]
        if isinstance(raw, str):
            return [raw]
        return []

    details.global_errors.extend(messages(errors))

    def walk(children: Any, prefix: str) -> None:
        if not isinstance(children, Mapping):
            return
        for name, node in children.items():
            path = f"{prefix}{name}"
            msgs = messages(node)
            if msgs:
                details.field_errors.setdefault(path, []).extend(msgs)
            if isinstance(node, Mapping):
                walk(node.get("children"), path + ".")

    walk(errors.get("children"), "")
    return details


def _fields_body(fields: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A PATCH body from loose fields: datetimes as wall clock in `zone`, tags as 'a,b'."""
    body: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            body[key] = format_local(value, zone)
        elif key == "tags" and isinstance(value, (list, tuple, set)):
            body[key] = ",".join(value)
        else:
            body[key] = value
    return body


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (its CA bundle, SSL_CERT_FILE/SSL_CERT_DIR), made once per process:
    loading the CA bundle is slow, and a delta run makes a client of its own."""
    return httpx.create_ssl_context()


class KimaiClient:
    """Talks to one Kimai; one instance is safe to share between threads.

    `retries` is the number of extra attempts for a retryable failure (429, 5xx, timeouts, dropped
    connections) of an idempotent request; `sleep` is injectable for tests. `requests_made`
    counts every HTTP request sent (retries included), `retries_made` the retries.
    """

    def __init__(
        self,
        base_url: str,
        token: Any,
        *,
        api_user: str | None = None,
        timeout: float = 30.0,
        max_connections: int = 16,
        transport: httpx.BaseTransport | None = None,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        page_concurrency: int = 1,
    ):
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else token
        if not isinstance(secret, str) or not secret.strip():
            raise ValueError("the Kimai API token is empty: set API_TOKEN")
        secret = secret.strip()
        if not set(secret) <= _HEADER_SAFE:
            raise ValueError("the Kimai API token contains characters that cannot be sent in an HTTP header "
                             "(spaces, line breaks or non-ASCII): check API_TOKEN")
        base = str(base_url).rstrip("/")
        url = httpx.URL(base)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"Kimai base URL must be http(s)://host/.../api, got {url.copy_with(username=None, password=None)}")
        if retries < 0:
            raise ValueError("retries must be >= 0")

        self.base_url = str(url.copy_with(username=None, password=None))
        self._base_path = url.path.rstrip("/")
        self.api_user = api_user or None
        self.auth_kind = "legacy" if self.api_user else "bearer"
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.page_concurrency = max(1, int(page_concurrency))  # timesheet pages read at once (see _paginate)
        self._sleep = sleep
        self._secret = secret  # only for scrubbing foreign text; never printed
        _SCRUB_SECRETS.secrets.add(secret)
        headers = {"Accept": "application/json"}
        if self.api_user:
            headers["X-AUTH-USER"] = self.api_user
            headers["X-AUTH-TOKEN"] = secret
        else:
            headers["Authorization"] = f"Bearer {secret}"
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # httpx's own transport unless a test hands one in: it honours HTTP(S)_PROXY and NO_PROXY.
        self._http = httpx.Client(
            base_url=base + "/",
            headers=headers,
            timeout=httpx.Timeout(connect=self.timeout, read=self.timeout, write=self.timeout, pool=self.timeout),
            limits=limits,
            verify=_tls_context(),
            follow_redirects=False,  # a redirect would drop (or leak) the credentials and turn POST into GET
            transport=transport,  # None: httpx's default
        )
        self._lock = threading.Lock()
        self._me: KimaiUser | None = None
        self.requests_made = 0
        self.retries_made = 0

    @classmethod
    def from_settings(cls, settings, **kw) -> "KimaiClient":
        """A client configured from :class:`kimaisync.settings.Settings` (keywords override)."""
        opts = dict(
            api_user=settings.kimai_api_user,
            timeout=settings.kimai_timeout,
            retries=settings.kimai_retries,
            max_connections=max(4, 2 * settings.kimai_concurrency),
            page_concurrency=settings.kimai_concurrency,
        )
        opts.update(kw)
        return cls(settings.kimai_base, settings.api_token, **opts)

    def __repr__(self) -> str:
        return f"KimaiClient(base_url={self.base_url!r}, auth={self.auth_kind!r})"

    def __enter__(self) -> "KimaiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ transport

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret in text else text

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        forbidden: tuple[type[KimaiError], str] | None = None,
        not_found: str | None = None,
    ) -> httpx.Response:
        """One HTTP request; a 2xx response, or the matching KimaiError."""
        where = self._base_path + path
        query = str(httpx.QueryParams(params)) if params else ""
        shown = f"{where}?{query}" if query else where
        with self._lock:
            self.requests_made += 1
        t0 = time.perf_counter()
        try:
            resp = self._http.request(method, path.lstrip("/"), params=params, json=body)
        except httpx.TimeoutException as exc:
            log.debug("%s %s -> %s after %.0f ms", method, shown, type(exc).__name__, (time.perf_counter() - t0) * 1000)
            raise KimaiTransportError(f"no answer within {self.timeout:g} s ({type(exc).__name__})",
                                      method=method, path=where) from None
        except httpx.TransportError as exc:
            log.debug("%s %s -> %s after %.0f ms", method, shown, type(exc).__name__, (time.perf_counter() - t0) * 1000)
            detail = self._scrub(str(exc))[:200]
            raise KimaiTransportError(f"connection failed ({type(exc).__name__}{': ' + detail if detail else ''})",
                                      method=method, path=where) from None
        log.debug("%s %s -> %d in %.0f ms", method, shown, resp.status_code, (time.perf_counter() - t0) * 1000)
        if resp.is_success:
            return resp
        raise self._error(resp, method, where, forbidden=forbidden, not_found=not_found)

    def _error(self, resp: httpx.Response, method: str, where: str, *,
               forbidden: tuple[type[KimaiError], str] | None, not_found: str | None) -> KimaiError:
        status = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, Mapping) else None
        message = self._scrub(str(message))[:200] if message else None
        kw: Where = {"method": method, "path": where}

        if status == 400:
            details = parse_validation_details(body)
            text = f"Kimai refused the request (400{': ' + message if message else ''})"
            if not details.global_errors and not details.field_errors:
                text += (" without details: a query parameter has an invalid format, or the JSON body is "
                         "malformed")
                if self.auth_kind == "legacy":
                    text += ("; with the legacy X-AUTH login, Kimai (>= 2.54) also answers 400 after 5 failed "
                             "logins per minute: check KIMAI_API_USER and the API password in API_TOKEN")
            details.global_errors = [self._scrub(m) for m in details.global_errors]
            details.field_errors = {k: [self._scrub(m) for m in v] for k, v in details.field_errors.items()}
            return KimaiValidationError(text, details, **kw)
        if status == 401:
            return KimaiAuthError(f"Kimai rejected the credentials (401{self._scrub(self._auth_reason(resp))}): "
                                  f"{self._auth_hint()}",
                                  status=401, **kw)
        if status == 403:
            if self.auth_kind == "legacy" and isinstance(body, Mapping) and "code" not in body:
                # the legacy authenticator's own failure: {"message": "Invalid credentials"}, no code
                return KimaiAuthError(f"Kimai rejected the credentials (403{': ' + message if message else ''}): "
                                      f"{self._auth_hint()}", status=403, **kw)
            cls, hint = forbidden or _API_ACCESS
            return cls(f"Kimai refused (403 Forbidden): {hint}", status=403, **kw)
        if status == 404:
            return KimaiNotFoundError("not found (404)" + (f": {not_found}" if not_found else ""), **kw)
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            after = f", retry after {retry_after:g} s" if retry_after is not None else ""
            return KimaiRateLimitedError(f"too many requests (429){after}", retry_after=retry_after, **kw)
        if status == 408:
            return KimaiTransportError("the server timed out waiting for the request (408)", status=408, **kw)
        if status >= 500:
            return KimaiServerError(f"Kimai or a proxy in front of it failed ({status} {self._scrub(resp.reason_phrase)})",
                                    status=status, **kw)
        if 300 <= status < 400:
            location = resp.headers.get("location", "")
            target = self._scrub(str(httpx.URL(location).copy_with(query=None, username=None, password=None))) \
                if location else "?"
            return KimaiProtocolError(f"redirected ({status}) to {target}: set KIMAI_ENDPOINT to the final URL "
                                      f"(https?), ending in /api", status=status, **kw)
        return KimaiError(f"unexpected answer {status} {self._scrub(resp.reason_phrase)}", status=status, **kw)

    @staticmethod
    def _auth_reason(resp: httpx.Response) -> str:
        challenge = resp.headers.get("www-authenticate", "")
        marker = 'error_description="'
        if marker in challenge:
            reason = challenge.split(marker, 1)[1].split('"', 1)[0]
            return f": {reason[:100]}"
        return ""

    def _auth_hint(self) -> str:
        if self.auth_kind == "legacy":
            return ("check KIMAI_API_USER (username or email) and that API_TOKEN holds that user's API password "
                    "(not the login password), and that the user is enabled; better: use an API token "
                    "(Kimai >= 2.14) and unset KIMAI_API_USER")
        return ("check API_TOKEN (a token from the Kimai profile, 'API tokens'), that the token is not "
                "expired and that the user is enabled")

    def count_retry(self) -> None:
        """A caller retrying a request itself (a create, after looking for its record) counts it here."""
        with self._lock:
            self.retries_made += 1

    def _on_retry(self, exc: BaseException, attempt: int, delay: float) -> None:
        self.count_retry()
        log.info("attempt %d of %d failed: %s; retrying in %.1f s", attempt, self.retries + 1, exc, delay)

    def _call(self, method: str, path: str, *, retry: bool = True, **kw) -> httpx.Response:
        if not retry:
            return self._send(method, path, **kw)
        return call_with_retry(lambda: self._send(method, path, **kw), attempts=self.retries + 1,
                               sleep=self._sleep, on_retry=self._on_retry)

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        return call_with_retry(fn, attempts=self.retries + 1, sleep=self._sleep, on_retry=self._on_retry)

    # ------------------------------------------------------------------ decoding

    def _json(self, resp: httpx.Response) -> Any:
        method, where = resp.request.method, resp.request.url.path
        content = resp.content
        ctype = resp.headers.get("content-type", "").lower()
        if not content.strip():
            raise KimaiProtocolError(f"empty answer ({resp.status_code}) where JSON was expected",
                                     method=method, path=where, status=resp.status_code)
        if "html" in ctype or content.lstrip()[:1] == b"<":
            raise KimaiProtocolError(f"answered HTML instead of JSON ({resp.status_code}): {_ENDPOINT_HINT} "
                                     "(a web page or login page answered)",
                                     method=method, path=where, status=resp.status_code)
        try:
            return json.loads(content)
        except ValueError:
            raise KimaiProtocolError(f"answered invalid or truncated JSON ({resp.status_code}, {len(content)} bytes)",
                                     method=method, path=where, status=resp.status_code) from None

    def _model(self, model: type[M], data: Any, resp: httpx.Response) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            msg = errors[0]["msg"] if errors else "invalid"
            raise KimaiProtocolError(
                self._scrub(f"unexpected {model.__name__} shape ({loc}: {msg})")[:300],
                method=resp.request.method, path=resp.request.url.path) from None

    def _models(self, model: type[M], resp: httpx.Response) -> list[M]:
        data = self._json(resp)
        if not isinstance(data, list):
            raise KimaiProtocolError(f"expected a JSON array of {model.__name__}, got {type(data).__name__}",
                                     method=resp.request.method, path=resp.request.url.path)
        return [self._model(model, row, resp) for row in data]

    def _object(self, resp: httpx.Response) -> dict:
        data = self._json(resp)
        if not isinstance(data, dict):
            raise KimaiProtocolError(f"expected a JSON object, got {type(data).__name__}",
                                     method=resp.request.method, path=resp.request.url.path)
        return data

    # ------------------------------------------------------------------ system

    def version(self) -> dict:
        """``GET /api/version``: ``{"version": "2.65.0", "versionId": 26500, ...}``."""
        return self._object(self._call("GET", "/version", forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT))

    def timesheet_config(self) -> dict:
        """``GET /api/config/timesheet``: tracking mode, active-entries limit, future/overlap rules."""
        return self._object(self._call("GET", "/config/timesheet", forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT))

    def me(self) -> KimaiUser:
        """The API user (``GET /api/users/me``), fetched once and cached."""
        with self._lock:
            if self._me is not None:
                return self._me
        resp = self._call("GET", "/users/me", forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT)
        user = self._model(KimaiUser, self._object(resp), resp)
        with self._lock:
            self._me = user
        return user

    def api_zone(self) -> ZoneInfo:
        """The API user's time zone: Kimai reads query filters and POST bodies in it."""
        user = self.me()
        try:
            return ZoneInfo(user.timezone or "")
        except (ZoneInfoNotFoundError, ValueError):
            raise KimaiProtocolError(self._scrub(f"the API user's time zone {user.timezone!r} is not an IANA zone name"),
                                     method="GET", path=self._base_path + "/users/me") from None

    # ------------------------------------------------------------------ master data (not paginated)

    def customers(self, *, visible: int = 3) -> list[KimaiCustomer]:
        """All customers the API user may see, hidden ones too (one request; not paginated)."""
        return self._models(KimaiCustomer, self._call("GET", "/customers", params={"visible": visible},
                                                       forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT))

    def projects(self, *, visible: int = 3) -> list[KimaiProject]:
        """All projects, hidden and outside their start/end dates too (``ignoreDates=1``; one request)."""
        return self._models(KimaiProject, self._call("GET", "/projects", params={"visible": visible, "ignoreDates": 1},
                                                     forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT))

    def activities(self, *, visible: int = 3) -> list[KimaiActivity]:
        """All activities, global ones (``project is None``) and hidden ones too (one request)."""
        return self._models(KimaiActivity, self._call("GET", "/activities", params={"visible": visible},
                                                      forbidden=_API_ACCESS, not_found=_ENDPOINT_HINT))

    def users(self, *, visible: int = 3) -> list[KimaiUser]:
        """All users, disabled ones too (one request). Needs ``view_user`` (a super-admin API user)."""
        return self._models(KimaiUser, self._call("GET", "/users", params={"visible": visible},
                                                  forbidden=_VIEW_USERS, not_found=_ENDPOINT_HINT))

    # ------------------------------------------------------------------ timesheets: reading

    def iter_timesheets(
        self,
        begin: datetime | None = None,
        end: datetime | None = None,
        *,
        user: str | int | None = "all",
        term: str | None = None,
        exported: bool | None = None,
        modified_after: datetime | None = None,
        size: int = MAX_PAGE_SIZE,
    ) -> Iterator[KimaiTimesheet]:
        """Every timesheet matching the filters, each once, in id order (as far as paging allows).

        `begin`: records starting at or after it; `end`: records *starting* at or before it (Kimai
        compares `end` with the record's begin). Both are sent as wall clock in the API user's zone.
        `user`: ``"all"`` (needs ``view_other_timesheet``; silently ignored by Kimai without it),
        a user id, or None for the API user's own records. `modified_after` is sent in UTC.

        Paging: page 1, then up to ``X-Total-Pages``; a page shorter than ``X-Per-Page`` is the
        last; a 404 past page 1 means the data shrank and ends paging. Kimai pages by offset, so
        when rows are deleted between two page requests the following rows move to earlier pages.
        Whenever ``X-Total-Count`` changes (or a page 404s) we re-read the earlier pages those rows
        can have moved into, and ids already yielded are skipped. Limit: deletions hidden by as
        many insertions between the same two requests leave the count unchanged; a row skipped
        that way is found by the next listing. A listing that keeps changing on almost every
        request is given up with KimaiProtocolError rather than returned incomplete.

        Arguments are checked (and the API user's zone fetched) at the call; pages are requested
        as the iterator is consumed.
        """
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_PAGE_SIZE}")
        for name, value in (("begin", begin), ("end", end), ("modified_after", modified_after)):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"{name} must be a timezone-aware datetime")
        params: dict[str, Any] = {}
        if user is not None:
            params["user"] = user
        if begin is not None or end is not None:
            zone = self.api_zone()
            if begin is not None:
                params["begin"] = format_query(begin, zone)
            if end is not None:
                params["end"] = format_query(end, zone)
        if modified_after is not None:
            params["modified_after"] = format_query(modified_after, dt_timezone.utc)
        if term:
            params["term"] = term
        if exported is not None:
            params["exported"] = 1 if exported else 0
        params.update(orderBy="id", order="ASC", size=size)

        return self._paginate(params, size)

    def _paginate(self, params: dict[str, Any], size: int) -> Iterator[KimaiTimesheet]:
        if self.page_concurrency > 1:
            rows = self._pages_at_once(params)
            if rows is not None:
                yield from rows
                return
        yield from self._pages_one_by_one(params, size)

    def _pages_at_once(self, params: dict[str, Any]) -> list[KimaiTimesheet] | None:
        """Page 1, then every other page at once (`page_concurrency` in flight); None when the
        answers do not fit together (a count that changed, a page gone or short): the data moved
        while it was read, and the careful one-by-one reading below takes over from the start.

        Ten thousand timesheets are twenty pages of 500: read one after the other they cost
        twenty round trips, at once about three."""
        def page(n: int) -> tuple[httpx.Response, list[KimaiTimesheet]]:
            resp = self._call("GET", "/timesheets", params={**params, "page": n}, forbidden=_LIST_TIMESHEETS,
                              not_found=_ENDPOINT_HINT if n == 1 else None)
            return resp, self._models(KimaiTimesheet, resp)  # parsed as it arrives: no body waits

        first, rows = page(1)
        count, pages = _header_int(first, "X-Total-Count"), _header_int(first, "X-Total-Pages")
        per_page = _header_int(first, "X-Per-Page")
        if count is None or pages is None or not per_page:
            return None  # no counts to check the pages against: one by one
        if pages <= 1 or len(rows) < per_page:
            return rows if len(rows) == count else None
        with ThreadPoolExecutor(max_workers=min(self.page_concurrency, pages - 1),
                                thread_name_prefix="kimai-page") as pool:
            try:
                answers = [(_header_int(resp, "X-Total-Count"), more)
                           for resp, more in pool.map(page, range(2, pages + 1))]
            except KimaiNotFoundError:
                return None  # a page vanished: rows were deleted meanwhile
        for n, (page_count, more) in enumerate(answers, start=2):
            full = per_page if n < pages else count - per_page * (pages - 1)
            if page_count != count or len(more) != full:
                return None
            rows += more
        by_id: dict[int, KimaiTimesheet] = {}  # the first row of each id, in order
        for r in rows:
            by_id.setdefault(r.id, r)
        return list(by_id.values())

    def _pages_one_by_one(self, params: dict[str, Any], size: int) -> Iterator[KimaiTimesheet]:
        seen: set[int] = set()
        page = 1
        pos = 0  # every row at offsets [0, pos) of the data as of the latest answer has been yielded
        last_count: int | None = None  # X-Total-Count of the latest answer
        cap: int | None = None  # a 404 showed the data ends at or before this page
        per_page = size
        step_backs = 0
        highest = 1

        def step_back(to_page: int) -> int:
            nonlocal step_backs
            step_backs += 1
            if step_backs > MAX_STEP_BACKS + highest:
                raise KimaiProtocolError(
                    f"timesheets kept changing while they were listed ({step_backs - 1} pages re-read); "
                    "the list would be incomplete: try again", method="GET", path=self._base_path + "/timesheets")
            return max(1, to_page)

        while True:
            highest = max(highest, page)
            try:
                resp = self._call("GET", "/timesheets", params={**params, "page": page},
                                  forbidden=_LIST_TIMESHEETS, not_found=_ENDPOINT_HINT if page == 1 else None)
            except KimaiNotFoundError:
                if page == 1:
                    raise
                cap = page - 1 if cap is None else min(cap, page - 1)
                if last_count is None:
                    break  # no counts to reason with (an odd server): take the 404 as the end
                # Rows vanished since the previous answer, so rows we have not seen may have moved
                # onto the last page that still exists; its X-Total-Count says how many vanished.
                log.debug("GET /timesheets page %d: 404, re-reading page %d", page, cap)
                page = step_back(cap)
                continue

            rows = self._models(KimaiTimesheet, resp)
            count = _header_int(resp, "X-Total-Count")
            total_pages = _header_int(resp, "X-Total-Pages")
            per_page = _header_int(resp, "X-Per-Page") or per_page
            for row in rows:
                if row.id not in seen:
                    seen.add(row.id)
                    yield row

            # Kimai pages by offset: when n rows before `pos` vanish, the next unseen rows move n
            # places forward. A drop in the count shows n; a rise may hide a deletion, count it as 1.
            shift = 0
            if count is not None and last_count is not None and count != last_count:
                shift = max(last_count - count, 1)
            if count is not None:
                last_count = count
            pos = max(pos - shift, 0)
            first = (page - 1) * per_page
            if first > pos:  # rows in [pos, first) may be unseen: read again from the page holding pos
                log.debug("GET /timesheets: the list changed while paging (count %s); re-reading from page %d",
                          count, pos // per_page + 1)
                page = step_back(pos // per_page + 1)
                continue
            pos = max(pos, first + len(rows))

            last = total_pages
            if cap is not None:
                last = cap if last is None else min(last, cap)
            if not rows or len(rows) < per_page or (last is not None and page >= last):
                break
            page += 1

    def timesheets(self, begin: datetime | None = None, end: datetime | None = None, **kw) -> list[KimaiTimesheet]:
        """:meth:`iter_timesheets` as a list."""
        return list(self.iter_timesheets(begin, end, **kw))

    def get_timesheet(self, timesheet_id: int) -> KimaiTimesheet:
        """``GET /api/timesheets/{id}``; KimaiNotFoundError if it does not exist."""
        return self._get_timesheet(timesheet_id, retry=True)

    def _get_timesheet(self, timesheet_id: int, *, retry: bool) -> KimaiTimesheet:
        resp = self._call("GET", f"/timesheets/{int(timesheet_id)}", retry=retry, forbidden=_VIEW_TIMESHEET)
        return self._model(KimaiTimesheet, self._object(resp), resp)

    # ------------------------------------------------------------------ timesheets: writing

    def create_timesheet(self, w: TimesheetWrite, *, retry: bool = False) -> KimaiTimesheet:
        """``POST /api/timesheets``; returns the record as Kimai stored it (rounded, with its id).

        begin/end are sent as wall clock in the API user's zone: that is how Kimai reads a POST,
        even when creating for another `user`.

        Not retried by default: when the reply is lost (timeout, dropped connection, 5xx from a
        proxy) the record may nevertheless have been created, and a blind retry would create it
        twice. The caller should look for its record (e.g. by the marker in its description) and
        only then create again. ``retry=True`` retries like an idempotent request: only for
        callers that can tolerate, or will clean up, a duplicate.
        """
        body = w.to_body(self.api_zone())
        resp = self._call("POST", "/timesheets", body=body, retry=retry, forbidden=_CREATE_TIMESHEET)
        return self._model(KimaiTimesheet, self._object(resp), resp)

    def update_timesheet(self, timesheet_id: int, w_or_fields: TimesheetWrite | Mapping[str, Any], *,
                         zone: ZoneInfo | str) -> KimaiTimesheet:
        """``PATCH /api/timesheets/{id}``: set the given fields (others stay as they are).

        `zone` is the RECORD's time zone (normally its owner's; it is the zone of the offset in the
        record's ``begin``): Kimai reads PATCHed wall clocks in it. Datetimes in a field mapping
        are converted the same way; a ``tags`` list becomes ``"a,b"``.
        Retried on transient failures: setting values is idempotent.
        """
        zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        if isinstance(w_or_fields, TimesheetWrite):
            body = w_or_fields.to_body(zone)
        else:
            body = _fields_body(w_or_fields, zone)
        if not body:
            raise ValueError("nothing to update")
        resp = self._call("PATCH", f"/timesheets/{int(timesheet_id)}", body=body, forbidden=_EDIT_TIMESHEET)
        return self._model(KimaiTimesheet, self._object(resp), resp)

    def delete_timesheet(self, timesheet_id: int, *, missing_ok: bool = False) -> None:
        """``DELETE /api/timesheets/{id}`` (204).

        KimaiNotFoundError if it does not exist, unless `missing_ok`. A 404 on a *retry* counts
        as success: the earlier attempt whose reply was lost deleted it.
        """
        path = f"/timesheets/{int(timesheet_id)}"
        attempt = 0

        def once() -> None:
            nonlocal attempt
            attempt += 1
            try:
                self._send("DELETE", path, forbidden=_DELETE_TIMESHEET)
            except KimaiNotFoundError:
                if missing_ok or attempt > 1:
                    return
                raise

        self._retrying(once)

    def set_exported(self, timesheet_id: int, exported: bool, *, current: bool | None = None) -> bool:
        """Make the record's export flag `exported`; True if Kimai was asked to change it.

        Kimai only offers a toggle (``PATCH /api/timesheets/{id}/export``), which must not be sent
        when the flag already has the wanted value, nor blindly retried (a lost reply plus a retry
        would toggle it back). So the flag is read first (unless the caller passes `current`, the
        value it just read) and read again before every retry.
        """
        path = f"/timesheets/{int(timesheet_id)}/export"
        known, sent = current, False

        def once() -> bool:
            nonlocal known, sent
            now, known = known, None  # from the second attempt on, always re-read
            if now is None:
                now = self._get_timesheet(timesheet_id, retry=False).exported
            if bool(now) == bool(exported):
                return sent
            sent = True
            self._send("PATCH", path, forbidden=_EXPORT_TIMESHEET)
            return True

        return self._retrying(once)
