"""The emulator on a real 127.0.0.1 socket, uvicorn in a background thread (``emulators.common.server``)."""

from __future__ import annotations

from typing import Any

import uvicorn

from emulators.common import server as _common
from emulators.common.server import BackgroundServer, bind, quiet_uvicorn_errors

from .app import PATH, create_app
from .state import Kimai1State

__all__ = ["EmulatorServer", "bind", "quiet_uvicorn_errors", "uvicorn_server"]


def uvicorn_server(state: Kimai1State, **options: Any) -> uvicorn.Server:
    return _common.uvicorn_server(create_app(state), **options)


class EmulatorServer(BackgroundServer):
    """``with EmulatorServer(state) as srv: ...``; ``srv.url`` is the ``json.php`` URL."""

    path = PATH
    thread_name = "kimai1-emulator"

    def __init__(self, state: Kimai1State, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(state, host, port)

    def app(self) -> Any:
        return create_app(self.state)
