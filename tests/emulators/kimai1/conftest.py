"""Fixtures of the Kimai 1 emulator's own tests: the small state and a raw JSON-RPC caller."""

from __future__ import annotations

import httpx
import pytest

from emulators.kimai1.app import create_app
from emulators.kimai1.seeds import small_state
from emulators.kimai1.transport import InProcessTransport


class Rpc:
    """Posts raw JSON-RPC bodies to the emulator in-process."""

    def __init__(self, state) -> None:
        self.state = state
        self.http = httpx.Client(transport=InProcessTransport(create_app(state)), base_url="http://kimai1.test")

    def post(self, body, path: str = "/core/json.php") -> httpx.Response:
        if isinstance(body, (bytes, str)):
            return self.http.post(path, content=body, headers={"content-type": "application/json"})
        return self.http.post(path, json=body)

    def call(self, method: str, *params, rpc_id="1") -> dict:
        reply = self.post({"jsonrpc": "2.0", "method": method, "params": list(params), "id": rpc_id})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def result(self, method: str, *params) -> dict:
        return self.call(method, *params)["result"]

    def key(self, name: str) -> str:
        result = self.result("authenticate", name, f"{name}-pw")
        assert result["success"], result
        return result["items"][0]["apiKey"]


@pytest.fixture
def state():
    return small_state()


@pytest.fixture
def rpc(state) -> Rpc:
    return Rpc(state)
