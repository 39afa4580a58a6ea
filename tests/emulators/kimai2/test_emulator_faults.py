"""Fault injection, the request log and the real-socket server of the Kimai emulator."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from emulators.kimai2.app import create_app
from emulators.kimai2.faults import ResponseLost
from emulators.kimai2.seeds import DEMO_TOKEN, small_state
from emulators.kimai2.server import EmulatorServer
from emulators.kimai2.state import Faults

BODY = {"project": 1, "activity": 2, "begin": "2026-08-18T09:00:00", "end": "2026-08-18T10:00:00"}
ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture
def server(state):
    with EmulatorServer(state) as srv:
        yield srv


def statuses(client, count, method="GET", path="/api/timesheets", **kwargs):
    return [client.request(method, path, headers=ADMIN, **kwargs).status_code for _ in range(count)]


# --------------------------------------------------------------------------- real-socket faults

def test_lost_response_commits_but_the_client_sees_a_transport_error(server, state):
    state.faults = Faults(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        httpx.post(server.url + "/timesheets", headers=ADMIN, json=BODY)
    assert len(state.timesheets) == 1
    assert state.fault_log == [("POST", "/api/timesheets", "lost_response")]
    recorded = state.requests[-1]
    assert (recorded.status, recorded.fault, recorded.body) == (200, "lost_response", BODY)


def test_lost_response_of_a_delete(server, state):
    record = state.add_timesheet(1, 1, 2, "2026-08-18T09:00:00", "2026-08-18T10:00:00")
    state.faults = Faults(lost_response_rate=1.0, methods={"DELETE"})
    with pytest.raises(httpx.TransportError):
        httpx.delete(f"{server.url}/timesheets/{record.id}", headers=ADMIN)
    assert state.timesheets == {}
    assert state.requests[-1].status == 204


def test_timeout_does_not_commit(server, state):
    state.faults = Faults(timeout_rate=1.0, timeout_delay=3.0)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        httpx.post(server.url + "/timesheets", headers=ADMIN, json=BODY, timeout=0.3)
    assert time.monotonic() - started < 2
    assert state.timesheets == {}
    assert state.fault_log == [("POST", "/api/timesheets", "timeout")]


def test_patient_client_gets_504_after_the_delay(server, state):
    state.faults = Faults(timeout_rate=1.0, timeout_delay=0.2)
    response = httpx.post(server.url + "/timesheets", headers=ADMIN, json=BODY, timeout=5)
    assert response.status_code == 504
    assert state.timesheets == {}


def test_faults_can_be_switched_off_at_runtime(server, state):
    state.faults = Faults(error_rate=1.0)
    assert httpx.get(server.url + "/timesheets", headers=ADMIN).status_code >= 500
    state.faults = Faults()
    assert httpx.get(server.url + "/timesheets", headers=ADMIN).status_code == 200


# ---------------------------------------------------------------------------- in-process faults

def test_rate_limit_bursts_carry_retry_after(client, state):
    state.faults = Faults(rate_limit_every=3, rate_limit_burst=2, retry_after=7)
    assert statuses(client, 9) == [200, 200, 429, 429, 200, 429, 429, 200, 429]
    response = client.get("/api/timesheets", headers=ADMIN)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"code": 429, "message": "Too Many Requests"}


def test_rate_limited_writes_are_not_committed(client, state):
    state.faults = Faults(rate_limit_every=1)
    assert client.post("/api/timesheets", headers=ADMIN, json=BODY).status_code == 429
    assert state.timesheets == {}


def test_server_errors_commit_nothing_and_vary_in_shape(client, state):
    state.faults = Faults(error_rate=1.0, seed=3)
    seen = {}
    for _ in range(30):
        response = client.post("/api/timesheets", headers=ADMIN, json=BODY)
        seen[response.status_code] = response.headers["content-type"]
    assert set(seen) == {500, 502, 503}
    assert seen[500] == "application/json" and seen[502].startswith("text/html")
    assert state.timesheets == {}


def test_in_process_lost_response_raises_after_commit(client, state):
    state.faults = Faults(lost_response_rate=1.0)
    with pytest.raises(ResponseLost):
        client.post("/api/timesheets", headers=ADMIN, json=BODY)
    assert len(state.timesheets) == 1


def test_faults_are_deterministic_per_seed():
    def run(seed):
        state = small_state()
        state.faults = Faults(seed=seed, error_rate=0.3, timeout_rate=0.2, timeout_delay=0.0)
        return statuses(TestClient(create_app(state)), 40), state.fault_log

    assert run(11) == run(11)
    assert run(11)[0] != run(12)[0]


def test_faults_only_hit_matching_methods_and_paths(client, state):
    state.faults = Faults(error_rate=1.0, methods={"POST"})
    assert statuses(client, 3) == [200] * 3
    assert statuses(client, 3, path="/api/customers") == [200] * 3
    assert client.post("/api/timesheets", headers=ADMIN, json=BODY).status_code >= 500
    state.faults = Faults(error_rate=1.0, paths_prefix="/api/customers")
    assert client.get("/api/customers", headers=ADMIN).status_code >= 500
    assert client.get("/api/timesheets", headers=ADMIN).status_code == 200


def test_latency(client, state):
    state.faults = Faults(latency=0.2)
    started = time.monotonic()
    assert client.get("/api/timesheets", headers=ADMIN).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_faults_start_after_the_first_n_matching_requests(client, state):
    """A server that degrades mid-run: the first `after` matching requests are served as usual, quickly."""
    state.faults = Faults(error_rate=1.0, latency=0.3, methods={"GET"}, after=2)
    started = time.monotonic()
    assert [client.get("/api/timesheets", headers=ADMIN).status_code for _ in range(2)] == [200, 200]
    assert client.post("/api/timesheets", headers=ADMIN, json={}).status_code == 400  # not a matching method
    assert time.monotonic() - started < 0.3
    assert client.get("/api/timesheets", headers=ADMIN).status_code >= 500
    assert time.monotonic() - started >= 0.3
    state.faults = Faults(rate_limit_every=2, after=1)
    assert [client.get("/api/timesheets", headers=ADMIN).status_code for _ in range(5)] == [200, 200, 429, 200, 429]


# --------------------------------------------------------------------------------- request log

def test_requests_are_recorded(client, state):
    client.get("/api/timesheets", headers=ADMIN, params=[("users[]", "3"), ("users[]", "4"), ("page", "1")])
    client.post("/api/timesheets", headers={"Authorization": "Bearer alice-token"}, json=BODY)
    client.get("/api/ping")
    listing, created, anonymous = state.requests
    assert (listing.method, listing.path, listing.status, listing.auth_user_id) == ("GET", "/api/timesheets", 200, 1)
    assert listing.query.getlist("users[]") == ["3", "4"] and listing.query.get("page") == "1"
    assert listing.body is None
    assert (created.method, created.body, created.status, created.auth_user_id) == ("POST", BODY, 200, 3)
    assert (anonymous.status, anonymous.auth_user_id) == (401, None)
    state.clear_requests()
    assert state.requests == []


def test_faulted_requests_are_recorded_with_their_fault(client, state):
    state.faults = Faults(rate_limit_every=1)
    client.get("/api/timesheets", headers=ADMIN)
    assert (state.requests[-1].status, state.requests[-1].fault) == (429, "rate_limit")


def test_unparseable_bodies_are_recorded_as_none(client, state):
    client.post("/api/timesheets", headers={**ADMIN, "Content-Type": "application/json"}, content=b"{oops")
    assert state.requests[-1].body is None and state.requests[-1].status == 400


# --------------------------------------------------------------------------------- the server

def test_server_lifecycle(state):
    srv = EmulatorServer(state)
    srv.start()
    try:
        assert srv.url.startswith("http://127.0.0.1:") and srv.url.endswith("/api")
        assert httpx.get(srv.url + "/ping", headers=ADMIN).json() == {"message": "pong"}
        with pytest.raises(RuntimeError):
            srv.start()
    finally:
        srv.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/ping", headers=ADMIN)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_cli(*args):
    """Start ``python -m emulators.kimai2``; return the process and the URL it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "emulators.kimai2", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=Path(__file__).resolve().parents[3])
    line = proc.stdout.readline()
    return proc, line.rsplit(" ", 1)[-1].strip()


@pytest.mark.parametrize("mode", ["demo", "seed"])
def test_command_line(tmp_path, state, mode):
    port = _free_port()
    if mode == "demo":
        args, token = ["--demo"], DEMO_TOKEN
    else:
        seed = tmp_path / "seed.json"
        seed.write_text(json.dumps(state.to_dict()), encoding="utf-8")
        args, token = ["--seed", str(seed)], "admin-token"
    proc, url = _run_cli("--port", str(port), *args)
    try:
        assert url == f"http://127.0.0.1:{port}/api"
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(url + "/users/me", headers={"Authorization": f"Bearer {token}"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "emulator did not come up"
                time.sleep(0.05)
        assert response.json()["username"] == "admin"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
