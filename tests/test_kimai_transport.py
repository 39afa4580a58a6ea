"""The Kimai client's transport sends each request, headers and body, in one write."""

from __future__ import annotations

import httpcore
import httpx

from kimaisync.kimai.transport import _OneWriteBackend, one_write_transport

REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"id\": 7}"


class FakeStream(httpcore.NetworkStream):
    """A connection to a server that answers every request with REPLY; it logs each write."""

    def __init__(self, writes: list):
        self.writes, self.pending = writes, False

    def write(self, buffer, timeout=None):
        self.writes.append(bytes(buffer))
        self.pending = True

    def read(self, max_bytes, timeout=None):
        if not self.pending:
            raise AssertionError("read before the request was written")
        self.pending = False
        return REPLY

    def close(self):
        pass

    def get_extra_info(self, info):
        return None


class FakeBackend(httpcore.NetworkBackend):
    def __init__(self):
        self.writes: list[bytes] = []

    def connect_tcp(self, *args, **kwargs):
        return FakeStream(self.writes)


def client_over(backend) -> httpx.Client:
    transport = one_write_transport(httpx.Limits(max_connections=1))
    transport._pool._network_backend = backend
    return httpx.Client(transport=transport, base_url="http://kimai.test/api/")


def test_headers_and_body_leave_in_one_write_per_request():
    fake = FakeBackend()
    with client_over(_OneWriteBackend(fake)) as client:
        for n in range(3):
            assert client.post("timesheets", json={"n": n}).json() == {"id": 7}
    assert len(fake.writes) == 3
    for n, data in enumerate(fake.writes):
        head, body = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"POST /api/timesheets HTTP/1.1") and body == b'{"n":%d}' % n


def test_without_it_httpx_writes_twice():  # what the transport is for: keep it honest
    fake = FakeBackend()
    with client_over(fake) as client:
        client.post("timesheets", json={"n": 1})
    assert len([w for w in fake.writes if w]) == 2  # the headers, then the body


def test_the_client_keeps_no_cookies():
    """Kimai's API authenticates by token: a cookie some proxy sets must not be sent back."""
    from kimaisync.kimai import KimaiClient

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
    from kimaisync.kimai import KimaiClient
    from kimaisync.kimai.transport import shared_tls_context

    a, b = (KimaiClient("https://kimai.example.org/api", "token-0123456789") for _ in range(2))
    try:
        contexts = {id(c._http._transport._pool._ssl_context) for c in (a, b)}
        assert contexts == {id(shared_tls_context())}
    finally:
        a.close()
        b.close()
