"""Seeded faults for the EGroupware emulator: the Kimai 2 emulator's model, EGroupware's bodies.

``state.faults`` is a :class:`emulators.egroupware.state.Faults` (the same fields and the same
seeded draws as ``emulators.kimai2.faults.Faults``, so a fault campaign drives both alike). Per
matching request: a 429 burst with ``Retry-After``; a timeout (504 after ``timeout_delay``, or the
client gives up first); a 500 in EGroupware's JSON error shape or a 502/503 HTML page from a proxy;
or a lost reply -- the request is carried out (a POST creates its record) and the connection
drops halfway through the answer. Every injected fault is listed in ``state.fault_log`` and marked
in the request log.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Callable

from emulators.kimai2.faults import (
    COMMITTED_STATUS_SCOPE_KEY,
    FAULT_SCOPE_KEY,
    LOST_RESPONSE,
    RATE_LIMIT,
    SERVER_ERROR,
    TIMEOUT,
    ResponseLost,
)

if TYPE_CHECKING:
    from .state import EGroupwareState

__all__ = ["FaultInjector", "ResponseLost", "LOST_RESPONSE", "RATE_LIMIT", "SERVER_ERROR", "TIMEOUT"]

Send = Callable[[dict[str, Any]], Any]


class FaultInjector:
    """ASGI middleware applying ``state.faults`` (read per request, so a test may swap it)."""

    def __init__(self, app: Any, state: EGroupwareState) -> None:
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
        if matches and faults.latency:
            send = _not_before(send, asyncio.get_running_loop().time() + faults.latency)
        if decision is None:
            await self.app(scope, receive, send)
            return
        kind, status = decision
        scope.setdefault("state", {})[FAULT_SCOPE_KEY] = kind
        if kind == RATE_LIMIT:
            await _json(send, 429, {"error": 429, "message": "Too Many Requests"},
                        [(b"retry-after", str(faults.retry_after).encode())])
        elif kind == SERVER_ERROR:
            if status == 500:
                await _json(send, 500, {"error": 500, "message": "Internal Server Error", "details": None,
                                        "script": None})
            else:
                await _html(send, status)
        elif kind == TIMEOUT:
            await _stall(receive, send, faults.timeout_delay)
        else:
            await _lose_reply(self.app, scope, receive, send)


def _not_before(send: Send, deadline: float) -> Send:
    async def held(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            wait = deadline - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
        await send(message)

    return held


async def _json(send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())] + (extra or [])})
    await send({"type": "http.response.body", "body": payload})


async def _html(send: Send, status: int) -> None:
    phrase = {502: "Bad Gateway", 503: "Service Unavailable"}[status]
    payload = f"<html><head><title>{status} {phrase}</title></head><body><h1>{phrase}</h1></body></html>".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def _stall(receive: Any, send: Send, delay: float) -> None:
    """504 after `delay` seconds, the request never reaching EGroupware; returns early when the
    client hangs up, so a stopping server is not held by a sleeping request."""

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), delay)
    except asyncio.TimeoutError:
        await _json(send, 504, {"error": 504, "message": "Gateway Timeout"})


async def _lose_reply(app: Any, scope: dict[str, Any], receive: Any, send: Send) -> None:
    """Carry the request out (writes commit), then send half the answer and hang up."""
    messages: list[dict[str, Any]] = []

    async def capture(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    start = messages[0]
    scope["state"][COMMITTED_STATUS_SCOPE_KEY] = start["status"]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    status = 200 if start["status"] == 204 else start["status"]  # a 204 cannot announce a body
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(max(len(body), 1)).encode()))  # promise a byte that never comes
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
    raise ResponseLost(f"{scope['method']} {scope['path']}: reply dropped after commit")
