"""Seeded faults: deterministic per seed, matched on the JSON-RPC method, a lost reply commits."""

from __future__ import annotations

import httpx
import pytest

from emulators.kimai1.faults import Faults
from emulators.kimai1.server import EmulatorServer

RECORD = {"projectId": 1, "taskId": 1, "start": "2026-06-02 09:00", "end": "2026-06-02 10:00"}


def test_only_the_named_methods_are_faulted(rpc, state):
    state.faults = Faults(error_rate=1.0)
    assert rpc.call("getVersion")["result"]
    key = rpc.key("ann")
    reply = rpc.post({"jsonrpc": "2.0", "method": "getTimesheet", "params": [key], "id": 1})
    assert reply.status_code in (500, 502, 503) and reply.headers["content-type"].startswith("text/html")
    assert state.fault_log == [("getTimesheet", "server_error")]


def test_the_same_seed_gives_the_same_faults(rpc, state):
    key = rpc.key("ann")

    def run(seed):
        state.faults = Faults(seed=seed, error_rate=0.3, rate_limit_every=4)
        return [rpc.post({"jsonrpc": "2.0", "method": "getTimesheet", "params": [key], "id": 1}).status_code
                for _ in range(20)]

    first = run(5)
    assert first == run(5) and 429 in first and 200 in first


def test_a_rate_limit_comes_from_the_proxy_with_retry_after(rpc, state):
    state.faults = Faults(rate_limit_every=1, retry_after=3)
    reply = rpc.post({"jsonrpc": "2.0", "method": "getTimesheet", "params": ["k"], "id": 1})
    assert reply.status_code == 429 and reply.headers["retry-after"] == "3"


def test_a_lost_reply_commits_the_write(rpc, state):
    key = rpc.key("ann")
    state.faults = Faults(lost_response_rate=1.0, after=0)
    before = len(state.entries)
    with pytest.raises(httpx.RemoteProtocolError):
        rpc.post({"jsonrpc": "2.0", "method": "setTimesheetRecord", "params": [key, RECORD, False], "id": 1})
    assert len(state.entries) == before + 1
    assert state.calls_of("setTimesheetRecord")[-1].fault == "lost_response"


def test_key_expiry_clears_the_callers_key(rpc, state):
    key = rpc.key("ann")
    state.faults = Faults(key_expiry_every=2)
    assert rpc.result("getTimesheet", key)["success"] is True
    assert rpc.result("getTimesheet", key)["error"]["msg"] == "Unknown user or no permissions."
    assert rpc.key("ann") != key
    key = rpc.key("ann")
    state.faults = Faults(key_expiry_every=1, key_expiry_limit=1)
    assert rpc.result("getTimesheet", key)["success"] is False
    key = rpc.key("ann")
    assert all(rpc.result("getTimesheet", key)["success"] for _ in range(3)), "one reset only"


def test_after_lets_the_first_calls_through(rpc, state):
    key = rpc.key("ann")
    state.faults = Faults(error_rate=1.0, after=2)
    codes = [rpc.post({"jsonrpc": "2.0", "method": "getTimesheet", "params": [key], "id": 1}).status_code
             for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] >= 500


def test_over_a_real_socket_a_timeout_and_a_dropped_reply(state):
    state.faults = Faults(timeout_rate=1.0, timeout_delay=5.0, rpc_methods={"getTimesheet"})
    with EmulatorServer(state) as srv:
        assert srv.url.endswith("/core/json.php")
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(srv.url, json={"jsonrpc": "2.0", "method": "getTimesheet", "params": ["k"], "id": 1},
                       timeout=0.3)
        state.faults = Faults(lost_response_rate=1.0, rpc_methods={"getVersion"})
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(srv.url, json={"jsonrpc": "2.0", "method": "getVersion", "id": 1}, timeout=5)
