"""Run an emulator's ASGI app on a real socket, uvicorn in a background thread.

Most tests use an in-process client; a real server is needed when the transport itself matters
(timeouts, connections dropped by the lost-response fault) or when the code under test only takes a
base URL. Each emulator subclasses :class:`BackgroundServer` with its app and its URL path.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any, Generic, TypeVar

import uvicorn

from .faults import ResponseLost

_STARTUP_TIMEOUT = 10.0

_S = TypeVar("_S", bound="BackgroundServer[Any]")
StateT = TypeVar("StateT")


class _HideDeliberateDrops(logging.Filter):
    """Uvicorn logs an application error for every lost-response fault; those are intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ResponseLost))


def quiet_uvicorn_errors() -> None:
    """Install the filter once on uvicorn's error logger."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDeliberateDrops) for f in logger.filters):
        logger.addFilter(_HideDeliberateDrops())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free port (read it back from ``getsockname``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
    sock.listen(128)
    return sock


def _fast_stack() -> tuple[str, str]:
    """httptools + uvloop when installed (less CPU per request), else h11 + asyncio."""
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError:
        return "h11", "asyncio"
    return "httptools", "uvloop"


HTTP, LOOP = _fast_stack()


def uvicorn_server(app: Any, **options: Any) -> uvicorn.Server:
    """A uvicorn server for ``app`` on the fast stack, without lifespan, quick to shut down."""
    config = uvicorn.Config(app, http=HTTP, loop=LOOP, lifespan="off", timeout_graceful_shutdown=1, **options)
    quiet_uvicorn_errors()
    return uvicorn.Server(config)


class BackgroundServer(Generic[StateT]):
    """``with Sub(state) as srv: httpx.get(srv.url + ...)``; binds 127.0.0.1 on a free port by default.

    A subclass names its ``path`` (the base URL's path), its ``thread_name`` and builds its ``app()``.
    """

    path = ""
    thread_name = "emulator"

    def __init__(self, state: StateT, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def app(self) -> Any:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def start(self: _S) -> _S:
        if self._thread is not None:
            raise RuntimeError("emulator server already started")
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = uvicorn_server(self.app(), log_config=None, access_log=False)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"{self.thread_name}-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"{self.thread_name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_STARTUP_TIMEOUT)
        self._server = None
        self._thread = None

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
