"""The emulator on a real 127.0.0.1 socket in a background thread (``emulators.common.server``),
for tests whose code takes a URL or whose transport matters (timeouts, dropped replies)."""

from __future__ import annotations

from typing import Any

from emulators.common.server import BackgroundServer, bind

from .app import create_app
from .state import BASE_PATH, EGroupwareState

__all__ = ["EmulatorServer", "bind"]


class EmulatorServer(BackgroundServer[EGroupwareState]):
    """``with EmulatorServer(state) as srv: srv.url`` -- the groupdav.php base URL."""

    path = BASE_PATH
    thread_name = "egroupware-emulator"

    def app(self) -> Any:
        return create_app(self.state)
