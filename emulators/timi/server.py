"""The Timi emulator on a real 127.0.0.1 socket, in a background thread (``emulators.common.server``),
for tests where the transport matters (timeouts, lost replies, proxies) or the code takes only a base URL."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from emulators.common.server import BackgroundServer, bind

from .app import create_app
from .state import TimiState

__all__ = ["TimiServer", "bind"]


class TimiServer(BackgroundServer[TimiState]):
    """``with TimiServer(state) as srv: httpx.get(srv.url + "/services.json", ...)``; ``url`` ends in ``/api/v1``."""

    path = "/api/v1"
    thread_name = "timi-emulator"

    def __init__(self, state: TimiState, host: str = "127.0.0.1", port: int = 0,
                 today: Callable[[], date] = date.today) -> None:
        super().__init__(state, host, port)
        self.today = today

    def app(self) -> Any:
        return create_app(self.state, today=self.today)
