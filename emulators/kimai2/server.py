"""Run the emulator on a real socket, in a background thread (``emulators.common.server``).

Most tests use FastAPI's in-process TestClient; a real server is needed when the transport itself
matters (timeouts, connections dropped by the lost-response fault) or when the code under test
only takes a base URL.
"""

from __future__ import annotations

from typing import Any

from emulators.common.server import HTTP, LOOP, BackgroundServer, bind, quiet_uvicorn_errors

from .app import create_app
from .state import KimaiState

__all__ = ["HTTP", "LOOP", "EmulatorServer", "bind", "quiet_uvicorn_errors"]


class EmulatorServer(BackgroundServer[KimaiState]):
    """``with EmulatorServer(state) as srv: httpx.get(srv.url + "/ping", ...)``.

    ``url`` is the API base, ending in ``/api``. Binds to 127.0.0.1 by default.
    """

    path = "/api"
    thread_name = "kimai-emulator"

    def app(self) -> Any:
        return create_app(self.state)
