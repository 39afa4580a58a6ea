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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulators.common.faults import (
    COMMITTED_STATUS_SCOPE_KEY,
    FAULT_SCOPE_KEY,
    LOST_RESPONSE,
    RATE_LIMIT,
    SERVER_ERROR,
    TIMEOUT,
    ResponseLost,
    SeededFaults,
    Send,
    lose_response,
    not_before,
    proxy_page,
    send_body,
    send_json,
    stall,
)

if TYPE_CHECKING:
    from .state import KimaiState

__all__ = ["COMMITTED_STATUS_SCOPE_KEY", "FAULT_SCOPE_KEY", "LOST_RESPONSE", "RATE_LIMIT", "SERVER_ERROR",
           "TIMEOUT", "FaultInjector", "Faults", "ResponseLost", "Send"]


@dataclass
class Faults(SeededFaults):
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

    methods: set[str] = field(default_factory=lambda: {"GET", "POST", "PATCH", "DELETE"})
    paths_prefix: str = "/api/timesheets"

    def applies_to(self, method: str, path: str) -> bool:
        return method in self.methods and path.startswith(self.paths_prefix)


class FaultInjector:
    """ASGI middleware applying ``state.faults`` to each request (read per request, so runtime
    changes take effect immediately) and logging each injected fault in ``state.fault_log``.

    The bodies are Kimai's; another emulator's injector overrides the ``send_*`` methods, and its
    state need only have the same ``lock``, ``faults`` and ``fault_log``."""

    def __init__(self, app: Any, state: KimaiState | Any) -> None:
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
            send = not_before(send, asyncio.get_running_loop().time() + faults.latency)
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
            await stall(receive, faults.timeout_delay, lambda: self.send_timeout(send))
        else:
            await lose_response(self.app, scope, receive, send)

    async def send_rate_limited(self, send: Send, faults: Faults) -> None:
        await send_json(send, 429, {"code": 429, "message": "Too Many Requests"},
                        [(b"retry-after", str(faults.retry_after).encode())])

    async def send_server_error(self, send: Send, status: int) -> None:
        """500 looks like Kimai's own error body; 502/503 look like a reverse proxy's HTML page."""
        if status == 500:
            await send_json(send, 500, {"code": 500, "message": "Internal Server Error"})
        else:
            await send_body(send, status, b"text/html; charset=utf-8", proxy_page(status))

    async def send_timeout(self, send: Send) -> None:
        await send_json(send, 504, {"code": 504, "message": "Gateway Timeout"})
