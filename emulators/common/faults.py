"""Seeded fault injection shared by the emulators: the knobs and the draw, and the ASGI pieces
(hold a reply back, stall into a 504, lose a reply after commit). Which requests match and what
the error bodies look like stay with each tracker (``emulators.kimai2.faults`` is the model).

All random decisions come from ``random.Random(seed)`` owned by the ``SeededFaults`` instance, so the
same seed and the same sequence of matching requests always produce the same faults.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
SERVER_ERROR = "server_error"
LOST_RESPONSE = "lost_response"

# Keys in the ASGI scope state telling the request recorder what really happened.
FAULT_SCOPE_KEY = "emulator_fault"
COMMITTED_STATUS_SCOPE_KEY = "emulator_committed_status"

SERVER_ERROR_STATUSES = (500, 502, 503)

Send = Callable[[dict[str, Any]], Any]


class ResponseLost(Exception):
    """Raised after a half-sent reply so the server drops the connection.

    Uvicorn closes the transport when the application raises after the response started, which is
    exactly what a client sees when a proxy or network dies mid-reply. In-process (TestClient) the
    exception reaches the caller instead, which is an equally clear transport-level failure.
    """


@dataclass
class SeededFaults:
    """The fault knobs every emulator has; a subclass says which requests match.

    Per matching request, in this order: ``after=N`` lets the first N pass untouched;
    ``rate_limit_every=N`` starts a burst of ``max(1, rate_limit_burst)`` 429s on the N-th, 2N-th, ...;
    otherwise one draw ``r`` picks ``r < timeout_rate`` -> timeout, next ``error_rate`` -> 500/502/503,
    next ``lost_response_rate`` -> lost response. ``latency``: the reply leaves no sooner than this
    many seconds after the request arrived.
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
    after: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _matched: int = field(default=0, init=False, repr=False, compare=False)
    _burst_left: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

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
            return SERVER_ERROR, self._rng.choice(SERVER_ERROR_STATUSES)
        draw -= self.error_rate
        if draw < self.lost_response_rate:
            return LOST_RESPONSE, None
        return None


def not_before(send: Send, deadline: float) -> Send:
    """`send`, holding the reply back until the loop's clock reaches `deadline`."""

    async def held(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            wait = deadline - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
        await send(message)

    return held


async def send_body(send: Send, status: int, content_type: bytes, payload: bytes,
                    extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": payload})


async def send_json(send: Send, status: int, body: dict[str, Any],
                    extra_headers: list[tuple[bytes, bytes]] | None = None,
                    content_type: bytes = b"application/json") -> None:
    await send_body(send, status, content_type, json.dumps(body).encode(), extra_headers)


def proxy_page(status: int, *, numbered_heading: bool = True) -> bytes:
    """A reverse proxy's 502/503 HTML page (nginx numbers its heading, others do not)."""
    phrase = {502: "Bad Gateway", 503: "Service Unavailable"}[status]
    heading = f"{status} {phrase}" if numbered_heading else phrase
    return f"<html><head><title>{status} {phrase}</title></head><body><h1>{heading}</h1></body></html>".encode()


async def stall(receive: Any, delay: float, on_timeout: Callable[[], Awaitable[None]]) -> None:
    """Answer with ``on_timeout()`` after ``delay`` seconds without touching the application.

    A client with a shorter timeout gives up first; we notice its disconnect and return early so
    that a stopping server is not held up by a sleeping request.
    """

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), delay)
    except asyncio.TimeoutError:
        await on_timeout()


async def lose_response(app: Any, scope: dict[str, Any], receive: Any, send: Send) -> None:
    """Run the request to completion (so writes commit), then send half a reply and hang up."""
    messages: list[dict[str, Any]] = []

    async def capture(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    start = messages[0]
    scope["state"][COMMITTED_STATUS_SCOPE_KEY] = start["status"]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    await send_half(send, start["status"], headers, body)
    raise ResponseLost(f"{scope['method']} {scope['path']}: reply dropped after commit")


async def send_half(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Announce the whole reply, send half its body and leave it open (the caller then raises)."""
    # A 204 cannot carry a body, so announce a 200 with one byte that never arrives.
    headers = headers + [(b"content-length", str(max(len(body), 1)).encode())]
    await send({"type": "http.response.start", "status": 200 if status == 204 else status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
