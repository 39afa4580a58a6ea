"""JSON-RPC 2.0 over one httpx client: a call in, Kimai 1's ``result`` out, every failure a type.

What can go wrong, and what it becomes (kimaisync.errors; whether it is retried is its type):

* no answer, a dropped connection, a timeout -> ``KimaiTransportError``
* 429 from a proxy -> ``KimaiRateLimitedError`` (with Retry-After); 5xx (PHP fatal error, proxy
  page) -> ``KimaiServerError``; 401/403 from a proxy in front -> ``KimaiAuthError``
* 200 with Kimai's logout script instead of JSON: the key's user is deactivated -> ``KimaiAuthError``
* 404, a redirect, HTML, a body that is no JSON-RPC answer, or one answering another ``id`` ->
  ``KimaiProtocolError`` (with what to check in ``KIMAI1_ENDPOINT``)
* a JSON-RPC ``error`` object: -32600/-32601/-32602 (we asked something Kimai does not know) ->
  ``KimaiProtocolError``; anything else (an exception inside Kimai) -> ``KimaiServerError``

Parameters are never quoted in an error or a log line: they hold passwords and keys.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpx

from kimaisync.errors import (
    KimaiAuthError,
    KimaiProtocolError,
    KimaiRateLimitedError,
    KimaiServerError,
    KimaiTransportError,
)
from kimaisync.retry import parse_retry_after

log = logging.getLogger("kimaisync.kimai1")

ENDPOINT_HINT = "is KIMAI1_ENDPOINT the URL of Kimai 1's core/json.php (e.g. https://kimai.example.org/core/json.php)?"


class JsonRpc:
    """Posts calls to one ``json.php``. Thread-safe; ``calls_made`` counts every HTTP request."""

    def __init__(self, endpoint: str, *, timeout: float = 30.0, max_connections: int = 16,
                 transport: httpx.BaseTransport | None = None) -> None:
        url = httpx.URL(str(endpoint))
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"KIMAI1_ENDPOINT must be an http(s) URL, got {url.copy_with(username=None, password=None)}")
        if url.username or url.password:
            raise ValueError("KIMAI1_ENDPOINT must not carry a user or password: set KIMAI1_USER/KIMAI1_PASSWORD")
        self.endpoint = str(url)
        self.path = url.path
        self.timeout = float(timeout)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout), limits=limits, transport=transport,
            follow_redirects=False,  # a redirect turns the POST into a GET and drops the body
            headers={"Accept": "application/json"},
        )
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.calls_made = 0

    def close(self) -> None:
        self._http.close()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Texts never to repeat: foreign text quoted in an error is scrubbed of them."""
        with self._lock:
            self._secrets.update(s for s in secrets if s)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def call(self, method: str, params: list[Any]) -> Any:
        """One call; its ``result``, or a KimaiError."""
        with self._lock:
            rpc_id = next(self._ids)
            self.calls_made += 1
        payload = {"jsonrpc": "2.0", "method": method, "params": params, "id": rpc_id}
        t0 = time.perf_counter()
        try:
            resp = self._http.post(self.endpoint, json=payload)
        except httpx.TimeoutException as exc:
            raise KimaiTransportError(f"no answer within {self.timeout:g} s ({type(exc).__name__})",
                                      method=method, path=self.path) from None
        except httpx.TransportError as exc:
            detail = self.scrub(str(exc))[:200]
            raise KimaiTransportError(f"connection failed ({type(exc).__name__}{': ' + detail if detail else ''})",
                                      method=method, path=self.path) from None
        log.debug("%s -> %d in %.0f ms", method, resp.status_code, (time.perf_counter() - t0) * 1000)
        return self._result(method, rpc_id, resp)

    def _result(self, method: str, rpc_id: int, resp: httpx.Response) -> Any:
        kw = {"method": method, "path": self.path}
        status = resp.status_code
        if status == 429:
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            after = f", retry after {retry_after:g} s" if retry_after is not None else ""
            raise KimaiRateLimitedError(f"too many requests (429){after}", retry_after=retry_after, **kw)
        if status >= 500:
            raise KimaiServerError(f"Kimai 1 or a proxy in front of it failed ({status} {resp.reason_phrase})",
                                   status=status, **kw)
        if status in (401, 403):
            raise KimaiAuthError(f"a proxy in front of Kimai 1 refused the request ({status}): the sync cannot "
                                 "pass HTTP authentication; let it reach json.php directly", status=status, **kw)
        if 300 <= status < 400:
            raise KimaiProtocolError(f"redirected ({status}): {ENDPOINT_HINT} (https?)", status=status, **kw)
        if status != 200:
            raise KimaiProtocolError(f"unexpected answer {status} {resp.reason_phrase}: {ENDPOINT_HINT}",
                                     status=status, **kw)
        content = resp.content
        if b"index.php?a=logout" in content[:300] and content.lstrip()[:1] == b"<":
            raise KimaiAuthError("Kimai 1 logged the user out instead of answering: the account is deactivated "
                                 "(or deleted) in Kimai 1", status=status, **kw)
        try:
            body = resp.json()
        except ValueError:
            what = "HTML" if content.lstrip()[:1] == b"<" else "no JSON" if content.strip() else "an empty body"
            raise KimaiProtocolError(f"answered {what} instead of a JSON-RPC reply: {ENDPOINT_HINT}",
                                     status=status, **kw) from None
        if not isinstance(body, dict) or ("result" not in body and "error" not in body):
            raise KimaiProtocolError(f"answered JSON that is no JSON-RPC reply: {ENDPOINT_HINT}", status=status, **kw)
        if str(body.get("id")) != str(rpc_id):
            raise KimaiProtocolError("the reply answers another request (its id does not match ours)",
                                     status=status, **kw)
        error = body.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = self.scrub(str(error.get("message") if isinstance(error, dict) else error))[:200]
            if code == -32601:
                raise KimaiProtocolError(f"Kimai 1 does not know the method ({message}): {ENDPOINT_HINT}", **kw)
            if code in (-32600, -32602, -32700, -32768):
                raise KimaiProtocolError(f"Kimai 1 refused the call itself ({code} {message})", **kw)
            raise KimaiServerError(f"Kimai 1 failed inside ({code} {message})", **kw)
        return body["result"]


