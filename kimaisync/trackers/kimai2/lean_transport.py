"""A lean HTTP/1.1 transport for httpx: blocking sockets, C-level buffered reads, no h11.

httpx's own transport goes through httpcore and h11: a connection pool with its own locks and
events, and a pure-Python parser state machine per request. For the Kimai client (JSON requests
to one host, small JSON answers, thousands of them from eight threads in a period run) that
machinery is most of the client's CPU per request, and on a two-core machine that CPU is what
holds a push above its request floor. Here a request is one `sendall` (TCP_NODELAY: one packet,
no delayed-ACK stall) and the answer is read with a buffered reader's readline/read.

What it speaks: HTTP/1.1 keep-alive (at most `max_connections` open; an idle connection the
server closed is noticed and dropped before reuse), responses framed by Content-Length,
chunked transfer coding or the connection's end, interim 1xx answers skipped, `Connection:
close` and HTTP/1.0 honoured, TLS through the given context. Timeouts are httpx's: connect (TLS
included), each write, each read, the wait for a free connection (pool). Errors are httpx's
exception classes, so the Kimai client maps them as before. No proxies, no HTTP/2.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

MAX_LINE = 64 * 1024  # a status or header line longer than this is refused
MAX_HEADERS = 200
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Connection:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=65536)

    def usable(self) -> bool:
        """Nothing to read while idle: a readable idle socket was closed by the server (or holds junk)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


@dataclass
class _Reply:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    content: bytes
    keep_alive: bool


def _values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for k, v in headers if k.lower() == name]


def _tokens(values: list[bytes]) -> set[bytes]:
    return {t.strip().lower() for v in values for t in v.split(b",") if t.strip()}


class LeanTransport(httpx.BaseTransport):
    """A synchronous httpx transport; safe to share between threads."""

    def __init__(self, *, max_connections: int = 16, ssl_context: Callable[[], ssl.SSLContext] | None = None):
        self._slots = threading.BoundedSemaphore(max(1, max_connections))
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        timeouts = request.extensions.get("timeout", {})
        url = request.url
        key = (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        pool = timeouts.get("pool")
        if not self._slots.acquire(timeout=pool if pool is not None else -1):
            raise httpx.PoolTimeout("no free connection in time", request=request)
        try:
            conn = self._idle_connection(key) or self._connect(key, timeouts.get("connect"), request)
            try:
                self._send(conn, request, body, timeouts.get("write"))
                reply = self._receive(conn, request, timeouts.get("read"))
            except BaseException:
                conn.close()
                raise
            if reply.keep_alive:
                with self._lock:
                    if not self._closed:
                        self._idle.setdefault(key, []).append(conn)
                        conn = None
            if conn is not None:
                conn.close()
        finally:
            self._slots.release()
        return httpx.Response(reply.status, headers=reply.headers, stream=httpx.ByteStream(reply.content),
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": reply.reason})

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # ------------------------------------------------------------------ connections

    def _idle_connection(self, key) -> _Connection | None:
        while True:
            with self._lock:
                conns = self._idle.get(key)
                if self._closed:
                    raise RuntimeError("the transport is closed")
                if not conns:
                    return None
                conn = conns.pop()
            if conn.usable():
                return conn
            conn.close()

    def _connect(self, key, timeout: float | None, request: httpx.Request) -> _Connection:
        scheme, host, port = key
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in time", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                context = self._ssl_context() if self._ssl_context else ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=host)  # the handshake, within `timeout`
        except TimeoutError:
            sock.close()
            raise httpx.ConnectTimeout(f"no TLS session with {host}:{port} in time", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return _Connection(sock)

    # ------------------------------------------------------------------ one exchange

    @staticmethod
    def _send(conn: _Connection, request: httpx.Request, body: bytes, timeout: float | None) -> None:
        head = [request.method.encode("ascii") + b" " + request.url.raw_path + b" HTTP/1.1"]
        head += [name + b": " + value for name, value in request.headers.raw]
        if body and "content-length" not in request.headers and "transfer-encoding" not in request.headers:
            head.append(b"Content-Length: " + str(len(body)).encode("ascii"))
        try:
            conn.sock.settimeout(timeout)
            conn.sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)  # one write: one packet, usually
        except TimeoutError:
            raise httpx.WriteTimeout("the request could not be sent in time", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None

    @staticmethod
    def _receive(conn: _Connection, request: httpx.Request, timeout: float | None) -> _Reply:
        reader = conn.reader
        got_any = False

        def line(what: str) -> bytes:
            nonlocal got_any
            try:
                data = reader.readline(MAX_LINE + 1)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no {what} in time", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
            if not data.endswith(b"\n"):
                if len(data) > MAX_LINE:
                    raise httpx.RemoteProtocolError(f"a line of the {what} is too long", request=request)
                said = "in the middle of the response" if got_any or data else "without sending a response"
                raise httpx.RemoteProtocolError(f"Server disconnected {said}.", request=request)
            got_any = True
            return data.rstrip(b"\r\n")

        def exactly(n: int, what: str) -> bytes:
            try:
                data = reader.read(n)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no {what} in time", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
            if len(data) != n:
                raise httpx.RemoteProtocolError(f"Server disconnected in the middle of the {what}.", request=request)
            return data

        conn.sock.settimeout(timeout)
        while True:
            status_line = line("response")
            try:
                version, code, *reason = status_line.split(b" ", 2)
                status = int(code)
                if not version.startswith(b"HTTP/1.") or not 100 <= status <= 999:
                    raise ValueError
            except ValueError:
                raise httpx.RemoteProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}",
                                                request=request) from None
            headers: list[tuple[bytes, bytes]] = []
            while raw := line("response headers"):
                name, sep, value = raw.partition(b":")
                if not sep or not name.strip() or len(headers) >= MAX_HEADERS:
                    raise httpx.RemoteProtocolError(f"malformed response header: {raw[:80]!r}", request=request)
                headers.append((name.strip(), value.strip()))
            if not 100 <= status < 200 or status == 101:
                break  # 1xx answers are interim: the response follows

        connection = _tokens(_values(headers, b"connection"))
        keep_alive = (version == b"HTTP/1.1" and b"close" not in connection) or b"keep-alive" in connection
        if request.method == "HEAD" or status in (204, 304):
            content = b""
        elif b"chunked" in _tokens(_values(headers, b"transfer-encoding")):
            parts = []
            while True:
                size_line = line("chunked body")
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise httpx.RemoteProtocolError(f"bad chunk size: {size_line[:40]!r}", request=request) from None
                if size == 0:
                    while line("chunked body"):
                        pass  # trailers: not used
                    break
                parts.append(exactly(size, "chunked body"))
                exactly(2, "chunked body")
            content = b"".join(parts)
            headers = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
        elif lengths := _values(headers, b"content-length"):
            try:
                length = int(lengths[0])
                if length < 0 or any(int(v) != length for v in lengths):
                    raise ValueError
            except ValueError:
                raise httpx.RemoteProtocolError("bad Content-Length", request=request) from None
            content = exactly(length, "response body")
        else:  # the body runs to the end of the connection
            try:
                content = reader.read()
            except TimeoutError:
                raise httpx.ReadTimeout("no response body in time", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
            keep_alive = False
        return _Reply(status, reason[0] if reason else b"", headers, content, keep_alive)
