"""Faults for the Timi emulator: the Kimai 2 emulator's ``Faults`` (same knobs, same seeded
sequence, so one fault campaign drives either), answered in Timi's shapes."""

from __future__ import annotations

from typing import Any

from emulators.common.faults import send_json
from emulators.kimai2.faults import FaultInjector, Faults, ResponseLost

__all__ = ["Faults", "ResponseLost", "TimiFaultInjector"]


async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
    await send_json(send, status, body, content_type=b"application/json; charset=utf-8")


class TimiFaultInjector(FaultInjector):
    """A seeded 429 looks like Timi's own (no Retry-After: the document shows none); a 500 like a
    Rails API's; 502/503 stay a proxy's HTML page."""

    async def send_rate_limited(self, send: Any, faults: Faults) -> None:
        await _json(send, 429, {"message": "rate limit exceeded"})

    async def send_server_error(self, send: Any, status: int) -> None:
        if status == 500:
            await _json(send, 500, {"status": 500, "error": "Internal Server Error"})
        else:
            await super().send_server_error(send, status)
