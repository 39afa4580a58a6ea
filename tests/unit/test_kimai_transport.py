"""The Kimai client's HTTP transport (kimaisync.trackers.kimai2.lean_transport) against a scripted server.

Each test scripts the raw bytes a server answers, in order, and checks what an httpx client on
the transport sees: bodies however they are framed, connections kept or dropped as the server
says, and the httpx errors the Kimai client maps (timeouts, hang-ups, refused connections).
"""

from __future__ import annotations

import gzip
import socket
import threading

import httpx
import pytest

from kimaisync.trackers.kimai2.lean_transport import LeanTransport


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"\r\n".join([b"HTTP/1.1 200 OK", b"Content-Type: application/json",
                         b"Content-Length: " + str(len(body)).encode(), *extra, b"", body])


class ScriptedServer:
    """Answers each request with the next scripted item: raw bytes, "close" (hang up without an
    answer) or "hang" (never answer). Records every request's first recv and each connection."""

    def __init__(self, script: list):
        self.script = list(script)
        self.connections = 0
        self.first_reads: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/"
        self.stop = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            buf = b""
            while True:
                first = conn.recv(65536)
                if not first:
                    return
                self.first_reads.append(first)
                buf += first
                while b"\r\n\r\n" not in buf:
                    more = conn.recv(65536)
                    if not more:
                        return
                    buf += more
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n")
                               if l.lower().startswith(b"content-length:")), 0)
                while len(rest) < length:
                    rest += conn.recv(65536)
                buf = rest[length:]
                action = self.script.pop(0) if self.script else "close"
                if action == "close":
                    return
                if action == "hang":
                    self.stop.wait(10)
                    return
                conn.sendall(action)
                if b"connection: close" in action.lower() or b"content-length" not in action.lower() \
                        and b"chunked" not in action.lower():
                    return

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.fixture
def server():
    made = []

    def make(*script):
        s = ScriptedServer(list(script))
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def client(srv, **kw) -> httpx.Client:
    return httpx.Client(base_url=srv.url, transport=LeanTransport(max_connections=2), **kw)


def test_a_request_leaves_in_one_write_and_the_connection_is_kept(server):
    srv = server(ok(b'{"id": 1}'), ok(b'{"id": 2}'))
    with client(srv) as c:
        assert c.post("timesheets", json={"begin": "2025-03-01T09:00:00"}).json() == {"id": 1}
        assert c.post("timesheets", json={"begin": "2025-03-01T10:00:00"}).json() == {"id": 2}
    assert srv.connections == 1
    assert all(r.endswith(b'"2025-03-01T09:00:00"}') or r.endswith(b'"2025-03-01T10:00:00"}')
               for r in srv.first_reads)  # headers and body arrived together
    assert srv.first_reads[0].startswith(b"POST /api/timesheets HTTP/1.1\r\n")


def test_chunked_close_delimited_and_gzip_bodies_are_read_whole(server):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n[1, \r\n3\r\n2]\n\r\n0\r\nTrailer: t\r\n\r\n"
    packed = gzip.compress(b'{"zipped": true}')
    zipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + str(len(packed)).encode() + \
        b"\r\n\r\n" + packed
    to_the_end = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"until\": \"close\"}"
    srv = server(chunked, zipped, to_the_end, ok(b"4"))
    with client(srv) as c:
        assert c.get("a").json() == [1, 2]
        assert c.get("b").json() == {"zipped": True}
        assert c.get("c").json() == {"until": "close"}
        assert c.get("d").json() == 4
    assert srv.connections == 2  # the close-delimited answer ended its connection


def test_an_interim_100_answer_is_skipped_and_connection_close_is_honoured(server):
    srv = server(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"{}", b"Connection: close"), ok(b"[]"))
    with client(srv) as c:
        r = c.post("x", json={})
        assert r.status_code == 200 and r.json() == {}
        assert c.get("y").json() == []
    assert srv.connections == 2


def test_an_idle_connection_the_server_closed_is_not_reused(server):
    srv = server(ok(b"1"), ok(b"2"))
    with client(srv) as c:
        assert c.get("a").text == "1"
        # The server drops the kept connection while it is idle (as keep-alive timeouts do).
        srv.script.insert(0, "close")
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            c.get("b")
        assert c.get("c").text == "2"


def test_hang_ups_and_silence_are_httpx_errors(server):
    srv = server("close", "hang", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"")
    with client(srv, timeout=httpx.Timeout(0.5)) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            c.get("a")
        with pytest.raises(httpx.ReadTimeout):
            c.get("b")
    srv2 = server(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{\"a\"")
    with client(srv2, timeout=httpx.Timeout(2)) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="in the middle of the response body"):
            c.get("c")


def test_garbage_and_refused_connections_are_httpx_errors(server):
    srv = server(b"SMTP ready\r\n\r\n")
    with client(srv) as c, pytest.raises(httpx.RemoteProtocolError, match="not an HTTP/1.1 status line"):
        c.get("a")
    port = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{port.getsockname()[1]}/"
    port.close()  # nobody listens there now
    with httpx.Client(transport=LeanTransport()) as c, pytest.raises(httpx.ConnectError):
        c.get(url)


def test_at_most_max_connections_are_open_and_a_wait_for_one_can_time_out(server):
    srv = server("hang", ok(b"late"))
    transport = LeanTransport(max_connections=1)
    with httpx.Client(base_url=srv.url, transport=transport, timeout=httpx.Timeout(1.0, pool=0.2)) as c:
        stuck = threading.Thread(target=lambda: pytest.raises(httpx.ReadTimeout, c.get, "slow"))
        stuck.start()
        threading.Event().wait(0.3)
        with pytest.raises(httpx.PoolTimeout):
            c.get("other")  # the only connection is busy
        stuck.join(5)


def test_the_client_keeps_no_cookies():
    """Kimai's API authenticates by token: a cookie some proxy sets must not be sent back."""
    from kimaisync.trackers.kimai2 import KimaiClient

    seen = []

    def kimai(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"version": "2.65.0"}, headers={"set-cookie": "PHPSESSID=abc; Path=/"})

    with KimaiClient("http://kimai.test/api", token="t0ken-for-cookie-test", transport=httpx.MockTransport(kimai)) as c:
        c.version()
        c.version()
    assert seen == [None, None]


def test_clients_share_one_tls_context():
    """Loading the CA bundle costs tens of ms of CPU: once per process, not once per client (per run)."""
    from kimaisync.trackers.kimai2 import KimaiClient
    from kimaisync.trackers.kimai2.transport import shared_tls_context

    a, b = (KimaiClient("https://kimai.example.org/api", "token-0123456789") for _ in range(2))
    try:
        assert {c._http._transport._ssl_context for c in (a, b)} == {shared_tls_context}
    finally:
        a.close()
        b.close()
