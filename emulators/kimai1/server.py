"""The emulator on a real 127.0.0.1 socket, uvicorn in a background thread (``emulators.common.server``)."""

from __future__ import annotations

from typing import Any

from emulators.common.server import BackgroundServer, bind, quiet_uvicorn_errors

from .app import PATH, create_app
from .state import Kimai1State

__all__ = ["EmulatorServer", "bind", "quiet_uvicorn_errors"]


class EmulatorServer(BackgroundServer[Kimai1State]):
    """``with EmulatorServer(state) as srv: ...``; ``srv.url`` is the ``json.php`` URL."""

    path = PATH
    thread_name = "kimai1-emulator"

    def app(self) -> Any:
        return create_app(self.state)
