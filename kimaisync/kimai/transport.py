"""An HTTP transport that sends each request in one write.

httpx (through httpcore and h11) writes a request's headers and its body separately. With
TCP_NODELAY each write is a packet of its own, and Kimai's server wakes up twice per request;
without it, Nagle's algorithm and the server's delayed ACK stall every request by ~40 ms. So
writes are held back until the connection next reads (an HTTP/1.1 client reads only once its
request is complete) and go out as one. Measured against the emulator: about 0.1 ms less CPU per
request on each side, which is what bounds a 10,000-record push on a small machine.
"""

from __future__ import annotations

import socket
import ssl
import threading
import typing

import httpcore
import httpx


class _OneWriteStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream
        self._held: list[bytes] = []

    def _flush(self, timeout: float | None) -> None:
        if self._held:
            data, self._held = b"".join(self._held), []
            self._stream.write(data, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._held.append(buffer)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._flush(timeout)
        return self._stream.read(max_bytes, timeout)

    def close(self) -> None:
        self._held = []
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._flush(timeout)
        return _OneWriteStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _OneWriteBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend):
        self._backend = backend

    def connect_tcp(self, *args, **kwargs) -> httpcore.NetworkStream:
        return _OneWriteStream(self._backend.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args, **kwargs) -> httpcore.NetworkStream:
        return _OneWriteStream(self._backend.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


def shared_tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (CA bundle, SSL_CERT_FILE/SSL_CERT_DIR), made once per process.

    Making one loads the whole CA bundle: 20-60 ms of CPU here, paid by every new client before
    its first request (a delta run makes one), even when Kimai is reached over plain http. A
    context is safe to share between clients and threads once made."""
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = httpx.create_ssl_context()
        return _tls


def one_write_transport(limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's own transport (TLS, pooling, error mapping unchanged), on streams that write once."""
    transport = httpx.HTTPTransport(limits=limits, verify=shared_tls_context(),
                                   socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    pool = transport._pool  # httpx builds its httpcore pool itself and has no parameter for the backend
    pool._network_backend = _OneWriteBackend(pool._network_backend)
    return transport
