"""The emulator on a real 127.0.0.1 socket in a background thread (``emulators.common.server``),
for tests whose code takes a URL or whose transport matters (timeouts, dropped replies)."""

from __future__ import annotations

from typing import Any

import uvicorn

from emulators.common import server as _common
from emulators.common.server import BackgroundServer, bind

from .app import create_app
from .state import BASE_PATH, EGroupwareState

__all__ = ["EmulatorServer", "bind", "uvicorn_server"]


def uvicorn_server(state: EGroupwareState, **options: Any) -> uvicorn.Server:
    return _common.uvicorn_server(create_app(state), **options)


class EmulatorServer(BackgroundServer):
    """``with EmulatorServer(state) as srv: srv.url`` -- the groupdav.php base URL."""

    path = BASE_PATH
    thread_name = "egroupware-emulator"

    def __init__(self, state: EGroupwareState, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(state, host, port)

    def app(self) -> Any:
        return create_app(self.state)
