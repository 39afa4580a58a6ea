"""The emulator on a real 127.0.0.1 socket in a background thread (uvicorn), for tests whose code
takes a URL or whose transport matters (timeouts, dropped replies)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from emulators.kimai2.server import HTTP, LOOP, bind, quiet_uvicorn_errors

from .app import create_app
from .state import BASE_PATH, EGroupwareState

_STARTUP_TIMEOUT = 10.0


def uvicorn_server(state: EGroupwareState, **options: object) -> uvicorn.Server:
    config = uvicorn.Config(create_app(state), http=HTTP, loop=LOOP, lifespan="off",
                            timeout_graceful_shutdown=1, **options)
    quiet_uvicorn_errors()
    return uvicorn.Server(config)


class EmulatorServer:
    """``with EmulatorServer(state) as srv: srv.url`` -- the groupdav.php base URL."""

    def __init__(self, state: EGroupwareState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("emulator server already started")
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = uvicorn_server(self.state, log_config=None, access_log=False)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"egroupware-emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError("emulator server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
