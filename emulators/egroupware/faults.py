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

from emulators.common.faults import Send, proxy_page, send_body, send_json
from emulators.kimai2.faults import (
    LOST_RESPONSE,
    RATE_LIMIT,
    SERVER_ERROR,
    TIMEOUT,
    Faults,
    ResponseLost,
)
from emulators.kimai2.faults import FaultInjector as _KimaiFaultInjector

__all__ = ["FaultInjector", "ResponseLost", "LOST_RESPONSE", "RATE_LIMIT", "SERVER_ERROR", "TIMEOUT"]


class FaultInjector(_KimaiFaultInjector):
    """ASGI middleware applying ``state.faults`` (read per request, so a test may swap it)."""

    async def send_rate_limited(self, send: Send, faults: Faults) -> None:
        await send_json(send, 429, {"error": 429, "message": "Too Many Requests"},
                        [(b"retry-after", str(faults.retry_after).encode())])

    async def send_server_error(self, send: Send, status: int) -> None:
        if status == 500:
            await send_json(send, 500, {"error": 500, "message": "Internal Server Error", "details": None,
                                        "script": None})
        else:
            await send_body(send, status, b"text/html; charset=utf-8", proxy_page(status, numbered_heading=False))

    async def send_timeout(self, send: Send) -> None:
        await send_json(send, 504, {"error": 504, "message": "Gateway Timeout"})
