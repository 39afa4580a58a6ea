"""One person's Timi REST client over ``httpx.Client``.

* Auth: the ``X-Api-Key: email:token`` header, always. Timi also takes ``email``/``token`` as URL
  parameters, but a token in a URL ends up in proxy and server logs, so this client never sends
  them. The token is never in a URL, a log line, a repr or an exception message.
* Lists: ``clients.json``, ``projects.json``, ``services.json`` are one request each;
  ``time_entries.json`` pages by ``per_page`` (100) until ``total_entries`` are read.
* Writes: POST/PATCH of time entries, form-encoded, with every field explicit (see
  :class:`~kimaisync.trackers.timi.models.TimiEntryWrite`).
* Errors are mapped once, here, to :mod:`kimaisync.errors`' Timi types (each in a port family).
  Reads and PATCHes (they set the same values again) are retried in
  :func:`kimaisync.retry.call_with_retry`. A POST is sent once: the core's create loop retries it
  under the same policy, looking for the sync's marker first when the answer was lost or a 5xx.
* Proxies: httpx's own transport, so ``HTTP(S)_PROXY``/``NO_PROXY`` work as for any httpx client.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Callable, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from kimaisync.errors import (
    TimiAuthError,
    TimiError,
    TimiNotFoundError,
    TimiProtocolError,
    TimiRateLimitedError,
    TimiValidationError,
    TimiUnavailableError,
    ValidationDetails,
)
from kimaisync.retry import call_with_retry
from kimaisync.trackers.timi.models import (
    TimiClientRecord,
    TimiEntry,
    TimiEntryWrite,
    TimiPage,
    TimiProject,
    TimiService,
)

log = logging.getLogger("kimaisync.timi")

DEFAULT_ENDPOINT = "https://timiapp.com/api/v1"
TRACKER = "Timi"
MAX_PAGES = 10_000  # a listing that never ends is a server bug, not a reason to loop for ever
READ_PASSES = 3

T = TypeVar("T")


@functools.cache
def _adapter(shape: Any) -> TypeAdapter:
    return TypeAdapter(shape)


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None


def _field_errors(body: Any) -> ValidationDetails:
    """``{"errors": {"duration": ["is geen getal"]}}`` -> per-field messages; other shapes kept as text."""
    details = ValidationDetails()
    errors = body.get("errors") if isinstance(body, Mapping) else None
    if isinstance(errors, Mapping):
        for name, messages in errors.items():
            if isinstance(messages, list):
                details.field_errors[str(name)] = [str(m) for m in messages]
            else:
                details.field_errors[str(name)] = [str(messages)]
    elif isinstance(errors, list):
        details.global_errors = [str(m) for m in errors]
    elif isinstance(body, Mapping) and body.get("message"):
        details.global_errors = [str(body["message"])]
    return details


class TimiClient:
    """Talks to Timi as one person (``email`` + personal ``token``); safe to share between threads.

    ``retries``: extra attempts for a failure worth repeating (see the module text); the
    backoff (0.5 s doubling to 30 s) outlasts Timi's per-minute budget within 8 retries.
    ``requests_made`` counts every request sent, ``retries_made`` the repeats.
    """

    def __init__(self, base_url: str, email: str, token: SecretStr | str, *, timeout: float = 30.0,
                 retries: int = 8, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None, max_connections: int = 4):
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if not isinstance(secret, str) or not secret.strip():
            raise ValueError(f"the Timi token of {email} is empty")
        if "@" not in email or ":" in email or any(c.isspace() for c in email):
            raise ValueError(f"{email!r} is not a Timi login e-mail")
        url = httpx.URL(str(base_url).rstrip("/"))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"the Timi endpoint must be http(s)://host/api/v1, got {url.copy_with(username=None, password=None, query=None)}")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.base_url = str(url.copy_with(username=None, password=None, query=None))
        self.email = email
        self.timeout = float(timeout)
        self.retries = int(retries)
        self._sleep = sleep
        self._secret = secret.strip()  # only to scrub foreign text; never printed
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={"X-Api-Key": f"{email}:{self._secret}", "Accept": "application/json"},
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,  # a redirect could carry the key elsewhere
        )
        self._lock = threading.Lock()
        self.requests_made = 0
        self.retries_made = 0

    def __repr__(self) -> str:
        return f"TimiClient(base_url={self.base_url!r}, email={self.email!r})"

    def __enter__(self) -> TimiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ reads

    def clients(self) -> list[TimiClientRecord]:
        return self._parse(self._get("clients.json"), list[TimiClientRecord], "clients.json")

    def projects(self, clients: list[TimiClientRecord] | None = None) -> list[TimiProject]:
        """Every project, with ``client_id`` filled from ``clients.json`` (read unless given)."""
        projects = self._parse(self._get("projects.json"), list[TimiProject], "projects.json")
        owner = {p.id: c.id for c in (self.clients() if clients is None else clients) for p in c.projects}
        return [p.model_copy(update={"client_id": owner.get(p.id)}) for p in projects]

    def services(self) -> list[TimiService]:
        body = self._get("services.json")
        if isinstance(body, Mapping):  # the document prints one object; a list is what a list call gives
            body = [body]
        return self._parse(body, list[TimiService], "services.json")

    def entries(self, start: date | None = None, end: date | None = None, *,
                project_ids: Iterable[int] | None = None, service_ids: Iterable[int] | None = None) -> list[TimiEntry]:
        """This person's entries from ``start`` to ``end`` (both included), every page.

        With exactly one service id, each entry's ``service_id`` is that id (the listing itself
        shows no service).
        """
        params: dict[str, str] = {}
        if start is not None:
            params["start_date"] = start.strftime("%d-%m-%Y")
        if end is not None:
            params["end_date"] = end.strftime("%d-%m-%Y")
        if project_ids is not None:
            params["project_ids"] = ",".join(str(i) for i in sorted(set(project_ids)))
        services = sorted(set(service_ids)) if service_ids is not None else None
        if services is not None:
            params["service_ids"] = ",".join(str(i) for i in services)
        for _pass in range(READ_PASSES):
            seen, total = self._read_pages(params)
            if len(seen) >= total:
                break
            # fewer rows than Timi counted: some moved to a page already read (an entry removed in
            # Timi's app meanwhile shifts the newer ones up), so read again from the first page
            log.info("Timi time_entries.json as %s: %d of %d read, reading again", self.email, len(seen), total)
        rows = list(seen.values())
        if services is not None and len(services) == 1:
            rows = [e.model_copy(update={"service_id": services[0]}) for e in rows]
        return rows

    def count_entries(self, start: date | None = None, end: date | None = None) -> int:
        """How many entries this person has from ``start`` to ``end`` (one request: page 1's count)."""
        params = {"page": "1"}
        if start is not None:
            params["start_date"] = start.strftime("%d-%m-%Y")
        if end is not None:
            params["end_date"] = end.strftime("%d-%m-%Y")
        return self._parse(self._get("time_entries.json", params), TimiPage, "time_entries.json").total_entries

    def _read_pages(self, params: Mapping[str, str]) -> tuple[dict[int, TimiEntry], int]:
        seen: dict[int, TimiEntry] = {}
        page, last, total = 1, 1, 0
        while page <= last:
            data = self._parse(self._get("time_entries.json", {**params, "page": str(page)}), TimiPage,
                               "time_entries.json")
            for entry in data.time_entries:
                seen.setdefault(entry.id, entry)
            total = data.total_entries
            if not data.time_entries:
                break
            last = min(MAX_PAGES, math.ceil(data.total_entries / max(1, data.per_page)))
            page += 1
        return seen, total

    # ------------------------------------------------------------------ writes

    def create_entry(self, entry: TimiEntryWrite) -> TimiEntry:
        body = self._call("POST", "time_entries.json", form=entry.form())
        return self._written(body, entry)

    def update_entry(self, entry_id: int, entry: TimiEntryWrite) -> TimiEntry:
        body = self._call("PATCH", f"time_entries/{int(entry_id)}.json", form=entry.form())
        return self._written(body, entry)

    def _written(self, body: Any, sent: TimiEntryWrite) -> TimiEntry:
        entry = self._parse(body, TimiEntry, "time_entries.json")
        return entry.model_copy(update={"service_id": sent.service_id})

    def count_retry(self) -> None:
        """Told of a retry made on this client's behalf (the create loop's), for the run report."""
        with self._lock:
            self.retries_made += 1

    # ------------------------------------------------------------------ transport

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              form: Mapping[str, str] | None = None) -> Any:
        def count_retry(exc: BaseException, attempt: int, delay: float) -> None:
            with self._lock:
                self.retries_made += 1
            log.info("Timi %s %s as %s: %s; try %d in %.1f s", method, path, self.email, exc, attempt + 1, delay)

        if method == "POST":  # not idempotent: retried by the create loop, which checks the marker first
            return self._send(method, path, params, form)
        return call_with_retry(lambda: self._send(method, path, params, form), attempts=self.retries + 1,
                               sleep=self._sleep, on_retry=count_retry)

    def _send(self, method: str, path: str, params: Mapping[str, str] | None,
              form: Mapping[str, str] | None) -> Any:
        kw = {"method": method, "path": "/" + path}
        with self._lock:
            self.requests_made += 1
        try:
            resp = self._http.request(method, path, params=params, data=form)
        except httpx.TimeoutException as exc:
            raise TimiUnavailableError(f"no answer within {self.timeout:g} s ({type(exc).__name__})", **kw) from None
        except httpx.TransportError as exc:
            raise TimiUnavailableError(f"no usable answer ({type(exc).__name__})", **kw) from None
        if resp.is_success:
            try:
                return resp.json()
            except ValueError:
                raise TimiProtocolError(f"{resp.status_code} with a body that is not JSON", **kw) from None
        raise self._error(resp, method, kw)

    def _error(self, resp: httpx.Response, method: str, kw: dict[str, Any]) -> TimiError:
        status = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, Mapping) else None
        said = f": {self._scrub(str(message))[:200]}" if message else ""
        kw = {**kw, "status": status}
        if status in (401, 403):
            return TimiAuthError(
                f"Timi refused the credentials of {self.email} ({status}{said}): check this person's token "
                "in TIMI_CREDENTIALS_FILE (Timi shows it on the profile page) and TIMI_ENDPOINT", **kw)
        if status == 429:
            wait = _retry_after(resp)
            return TimiRateLimitedError(f"rate limit exceeded (429){said}", retry_after=wait,
                                           **{k: v for k, v in kw.items() if k != "status"})
        if status in (400, 422):
            details = _field_errors(body)
            details.global_errors = [self._scrub(m) for m in details.global_errors]
            details.field_errors = {k: [self._scrub(m) for m in v] for k, v in details.field_errors.items()}
            return TimiValidationError(f"Timi refused the data ({status})", details, **kw)
        if status == 404:
            return TimiNotFoundError(f"not found (404){said}", **{k: v for k, v in kw.items() if k != "status"})
        if status >= 500:
            return TimiUnavailableError(f"server error ({status})", **kw)
        return TimiError(f"unexpected answer ({status}{said})", **kw)

    def _parse(self, body: Any, shape: Any, what: str) -> Any:
        try:
            if isinstance(shape, type) and issubclass(shape, BaseModel):
                return shape.model_validate(body)
            return _adapter(shape).validate_python(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TimiProtocolError(f"{what} has an unexpected shape ({where}: {first['msg']})") from None

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret in text else text
