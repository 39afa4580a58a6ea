"""Slow clients are cut off: a connection that takes too long to send its request's headers, or its
body, is closed by the receiver (a slow-loris would otherwise hold connections for as long as it likes)."""

from __future__ import annotations

import select
import socket
import time
from types import SimpleNamespace

import httpx
import pytest

from deployments.receiver import RunningReceiver
from deployments.run_queue import RunQueue
from kimaisync.inputs import InputLimits

LIMITS = SimpleNamespace(receiver_header_timeout=1.0, receiver_body_timeout=1.0, input_limits=InputLimits())


class Nothing:
    def __call__(self, return_state=False, **params):
        return type("S", (), {"type": type("T", (), {"value": "COMPLETED"})()})()


@pytest.fixture(scope="module")
def receiver():
    srv = RunningReceiver(RunQueue({"lock": Nothing()}), None, settings=LIMITS)
    yield srv
    srv.stop()


def closed_while_trickling(sock: socket.socket, first: bytes, trickle: bytes, within: float) -> float | None:
    """Send `first`, then `trickle` every 0.2 s; seconds until the server closed the connection (None: it did not)."""
    start = time.monotonic()
    sock.sendall(first)
    while time.monotonic() - start < within:
        readable, _, _ = select.select([sock], [], [], 0.2)
        try:
            if readable and sock.recv(4096) == b"":
                return time.monotonic() - start
            sock.sendall(trickle)
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
    return None


def connect(receiver) -> socket.socket:
    host, port = receiver.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_headers_sent_a_line_at_a_time_forever_are_cut_off(receiver):
    with connect(receiver) as sock:
        took = closed_while_trickling(sock, b"POST /timesheets/lock HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n", 30)
    assert took is not None, "the connection was still open after 30 s of trickled headers"


def test_a_body_sent_a_byte_at_a_time_is_cut_off(receiver):
    head = (b"POST /timesheets/lock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{")
    with connect(receiver) as sock:
        took = closed_while_trickling(sock, head, b" ", 30)
    assert took is not None, "the connection was still open after 30 s of a trickled body"


def test_a_connection_that_says_nothing_is_closed(receiver):
    with connect(receiver) as sock:
        sock.settimeout(30)
        assert sock.recv(1) == b""


def test_a_prompt_client_is_served_as_before(receiver):
    r = httpx.post(receiver.url + "/timesheets/lock", json={"month": "3", "year": "2025"}, timeout=10)
    assert r.status_code == 204
