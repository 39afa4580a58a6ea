"""Seeded faults, on a real socket: the same seed gives the same faults; a lost reply commits."""

import httpx
import pytest

from emulators.egroupware.seeds import small_state
from emulators.egroupware.server import EmulatorServer
from emulators.egroupware.state import Faults
from egroupware_helpers import JSON, RALF, new_record


@pytest.fixture
def served():
    state = small_state()
    with EmulatorServer(state) as srv:
        yield state, srv


def test_lost_reply_commits_the_create_but_the_client_sees_a_transport_error(served):
    state, srv = served
    state.faults = Faults(lost_response_rate=1.0)
    with pytest.raises(httpx.TransportError):
        httpx.post(srv.url + "/ralf/timesheet/", headers=JSON, auth=RALF, json=new_record(title="lost"))
    assert [t.title for t in state.timesheets.values()].count("lost") == 1
    assert state.requests[-1].fault == "lost_response" and state.requests[-1].status == 201


def test_same_seed_same_faults(served):
    state, srv = served
    outcomes = []
    for _ in range(2):
        state.faults = Faults(seed=7, error_rate=0.3, rate_limit_every=4)
        with httpx.Client(auth=RALF, headers=JSON) as c:
            outcomes.append([c.get(srv.url + "/ralf/timesheet/").status_code for _ in range(12)])
    assert outcomes[0] == outcomes[1]
    assert {429, 200} <= set(outcomes[0]) and set(outcomes[0]) & {500, 502, 503}


def test_fault_bodies_look_like_egroupware_and_its_proxy(served):
    state, srv = served
    state.faults = Faults(rate_limit_every=1, retry_after=3)
    r = httpx.get(srv.url + "/ralf/timesheet/", headers=JSON, auth=RALF)
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and r.json()["error"] == 429
    state.faults = Faults(timeout_rate=1.0, timeout_delay=0.05)
    assert httpx.get(srv.url + "/ralf/timesheet/", headers=JSON, auth=RALF).status_code == 504


def test_only_timesheet_paths_are_faulted(served):
    state, srv = served
    state.faults = Faults(error_rate=1.0)
    assert httpx.get(srv.url + "/", headers=JSON, auth=RALF).status_code == 404
    assert httpx.get(srv.url + "/ralf/timesheet/", headers=JSON, auth=RALF).status_code >= 500
