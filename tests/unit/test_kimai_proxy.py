"""Operators behind a proxy: the Kimai client honours HTTP_PROXY / HTTPS_PROXY and NO_PROXY, as httpx does.

A small forward proxy on 127.0.0.1 relays plain-http requests (absolute URIs) and records them; a
small Kimai stand-in answers /api/version.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from kimaisync.trackers.kimai2 import KimaiClient


class _Kimai(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.seen.append(self.path)
        body = json.dumps({"version": "2.65.0", "versionId": 26500}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _ForwardProxy(BaseHTTPRequestHandler):
    """Relays `GET http://host:port/path` to that host and records the absolute URI it was asked for."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        target = urlsplit(self.path)
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            conn.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.getheader("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def servers(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    kimai, k_thread = _serve(_Kimai)
    proxy, p_thread = _serve(_ForwardProxy)
    yield kimai, proxy
    for server, thread in ((kimai, k_thread), (proxy, p_thread)):
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _version(kimai) -> str:
    url = f"http://127.0.0.1:{kimai.server_address[1]}/api"
    with KimaiClient(url, "proxy-test-token") as client:
        return client.version()["version"]


def test_with_http_proxy_set_kimai_requests_go_through_the_proxy(servers, monkeypatch):
    kimai, proxy = servers
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    assert _version(kimai) == "2.65.0"
    port = kimai.server_address[1]
    assert [uri for uri, _ in proxy.seen] == [f"http://127.0.0.1:{port}/api/version"]
    assert proxy.seen[0][1] == "Bearer proxy-test-token"  # the request as sent, credentials and all
    assert kimai.seen == ["/api/version"]


def test_with_no_proxy_covering_the_host_the_proxy_is_not_used(servers, monkeypatch):
    kimai, proxy = servers
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _version(kimai) == "2.65.0"
    assert proxy.seen == []
    assert kimai.seen == ["/api/version"]
