"""Deterministic fault injection for the emulator.

A sync client has to survive an unreliable server: rate limits, gateway errors, replies that time
out, and -- the nasty one -- writes that were committed although the client never saw the answer.
``Faults`` describes how often each of these happens; ``FaultInjector`` is the ASGI middleware that
makes them happen. All random decisions come from ``random.Random(seed)`` owned by the ``Faults``
instance, so the same seed and the same sequence of matching requests always produce the same
faults. Replacing ``state.faults`` starts a fresh, independent sequence.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .state import KimaiState

RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
SERVER_ERROR = "server_error"
LOST_RESPONSE = "lost_response"

# Keys in the ASGI scope state telling the request recorder what really happened.
FAULT_SCOPE_KEY = "emulator_fault"
COMMITTED_STATUS_SCOPE_KEY = "emulator_committed_status"

_SERVER_ERROR_STATUSES = (500, 502, 503)


class ResponseLost(Exception):
    """Raised after a half-sent reply so the server drops the connection.

    Uvicorn closes the transport when the application raises after the response started, which is
    exactly what a client sees when a proxy or network dies mid-reply. In-process (TestClient) the
    exception reaches the caller instead, which is an equally clear transport-level failure.
    """


@dataclass
class Faults:
    """Fault rates and patterns; applies only to ``methods`` on paths starting with ``paths_prefix``.

    Per matching request, in this order:

    * ``after=N``: the first N matching requests pass untouched (no fault, no latency); the rest
      get the faults below -- a server that degrades in the middle of a run.
    * ``rate_limit_every=N``: the N-th, 2N-th, ... matching request starts a burst of
      ``max(1, rate_limit_burst)`` consecutive 429 replies with a ``Retry-After: retry_after`` header.
    * otherwise one draw ``r`` from the seeded RNG picks: ``r < timeout_rate`` -> timeout,
      next ``error_rate`` -> 500/502/503, next ``lost_response_rate`` -> lost response.

    ``latency``: a matching request's reply leaves no sooner than ``latency`` seconds after the
    request arrived; the emulator's own work counts in it, as a real server's does in its response
    time (so a benchmark's floor, requests x latency / concurrency, holds the server's work, and
    measures the client's overhead alone). Nothing is committed for 429,
    5xx and timeout faults; a lost response is committed first and only the reply is destroyed.
    """

    seed: int = 0
    latency: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_delay: float = 5.0
    lost_response_rate: float = 0.0
    rate_limit_every: int = 0
    rate_limit_burst: int = 0
    retry_after: int = 1
    methods: set[str] = field(default_factory=lambda: {"GET", "POST", "PATCH", "DELETE"})
    paths_prefix: str = "/api/timesheets"
    after: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _matched: int = field(default=0, init=False, repr=False, compare=False)
    _burst_left: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def applies_to(self, method: str, path: str) -> bool:
        return method in self.methods and path.startswith(self.paths_prefix)

    @property
    def matched(self) -> int:
        """How many matching requests have arrived so far (counted on arrival, not on reply)."""
        return self._matched

    def passes_untouched(self) -> bool:
        """Whether the matching request being served is one of the first ``after`` (counts it)."""
        self._matched += 1
        return self._matched <= self.after

    def decide(self) -> tuple[str, int | None] | None:
        """Pick the fault for the next matching request: ``(kind, status)`` or None.

        ``status`` is what the client will be answered; None for a lost response, whose status
        is whatever the application answers before the reply is destroyed.

        Called after ``passes_untouched`` said no. Callers must serialise calls (the state lock
        does) so that the sequence, and therefore the outcome for a given seed, does not depend on
        thread scheduling.
        """
        if self.rate_limit_every and (self._matched - self.after) % self.rate_limit_every == 0:
            self._burst_left = max(1, self.rate_limit_burst)
        if self._burst_left:
            self._burst_left -= 1
            return RATE_LIMIT, 429
        draw = self._rng.random()
        if draw < self.timeout_rate:
            return TIMEOUT, 504
        draw -= self.timeout_rate
        if draw < self.error_rate:
            return SERVER_ERROR, self._rng.choice(_SERVER_ERROR_STATUSES)
        draw -= self.error_rate
        if draw < self.lost_response_rate:
            return LOST_RESPONSE, None
        return None


Send = Callable[[dict[str, Any]], Any]


class FaultInjector:
    """ASGI middleware applying ``state.faults`` to each request (read per request, so runtime
    changes take effect immediately) and logging each injected fault in ``state.fault_log``."""

    def __init__(self, app: Any, state: KimaiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        with self.state.lock:
            faults = self.state.faults
            matches = faults.applies_to(method, path) and not faults.passes_untouched()
            decision = faults.decide() if matches else None
            if decision:
                self.state.fault_log.append((method, path, decision[0]))
        if not matches:
            await self.app(scope, receive, send)
            return
        if faults.latency:
            send = _not_before(send, asyncio.get_running_loop().time() + faults.latency)
        if decision is None:
            await self.app(scope, receive, send)
            return
        kind, status = decision
        scope.setdefault("state", {})[FAULT_SCOPE_KEY] = kind
        if kind == RATE_LIMIT:
            await self.send_rate_limited(send, faults)
        elif kind == SERVER_ERROR:
            await self.send_server_error(send, status)
        elif kind == TIMEOUT:
            await _stall(receive, send, faults.timeout_delay)
        else:
            await _lose_response(self.app, scope, receive, send)


    async def send_rate_limited(self, send: Send, faults: Faults) -> None:
        """The 429 in Kimai's shape; another emulator's injector overrides the bodies."""
        await _send_json(send, 429, {"code": 429, "message": "Too Many Requests"},
                         [(b"retry-after", str(faults.retry_after).encode())])

    async def send_server_error(self, send: Send, status: int) -> None:
        await _send_server_error(send, status)


def _not_before(send: Send, deadline: float) -> Send:
    """`send`, holding the reply back until the loop's clock reaches `deadline`."""

    async def held(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            wait = deadline - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
        await send(message)

    return held


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": payload})


async def _send_server_error(send: Send, status: int) -> None:
    """500 looks like Kimai's own error body; 502/503 look like a reverse proxy's HTML page."""
    if status == 500:
        await _send_json(send, 500, {"code": 500, "message": "Internal Server Error"})
        return
    phrase = {502: "Bad Gateway", 503: "Service Unavailable"}[status]
    page = f"<html><head><title>{status} {phrase}</title></head><body><h1>{status} {phrase}</h1></body></html>"
    payload = page.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def _stall(receive: Any, send: Send, delay: float) -> None:
    """Answer 504 after ``delay`` seconds without touching the application.

    A client with a shorter timeout gives up first; we notice its disconnect and return early so
    that a stopping server is not held up by a sleeping request.
    """

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), delay)
    except asyncio.TimeoutError:
        await _send_json(send, 504, {"code": 504, "message": "Gateway Timeout"})


async def _lose_response(app: Any, scope: dict[str, Any], receive: Any, send: Send) -> None:
    """Run the request to completion (so writes commit), then send half a reply and hang up."""
    messages: list[dict[str, Any]] = []

    async def capture(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    start = messages[0]
    scope["state"][COMMITTED_STATUS_SCOPE_KEY] = start["status"]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    # A 204 cannot carry a body, so announce a 200 with one byte that never arrives.
    status = 200 if start["status"] == 204 else start["status"]
    declared = max(len(body), 1)
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(declared).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise ResponseLost(f"{scope['method']} {scope['path']}: reply dropped after commit")
