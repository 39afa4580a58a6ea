"""Seeded faults in Timi's shapes, on a real socket (a lost reply is a dropped connection)."""

from __future__ import annotations

import httpx
import pytest

from emulators.timi.seeds import small_state
from emulators.timi.server import TimiServer
from emulators.timi.state import Faults
from timi_helpers import key


@pytest.fixture
def served():
    state = small_state()
    with TimiServer(state) as server:
        yield state, server


def test_a_seeded_429_has_timis_body(served):
    state, server = served
    state.faults = Faults(rate_limit_every=1, paths_prefix="/api/v1/time_entries")
    answer = httpx.get(server.url + "/time_entries.json", headers=key("ann"))
    assert (answer.status_code, answer.json()) == (429, {"message": "rate limit exceeded"})
    assert state.requests[-1].fault == "rate_limit"


def test_a_lost_reply_still_commits_the_create(served):
    state, server = served
    state.faults = Faults(lost_response_rate=1.0, methods={"POST"}, paths_prefix="/api/v1/time_entries")
    before = len(state.entries)
    with pytest.raises(httpx.TransportError):
        httpx.post(server.url + "/time_entries.json", headers=key("ann"),
                   data={"body": "werk", "duration": "60", "project_id": "47"})
    assert len(state.entries) == before + 1
    assert state.requests[-1].status == 201 and state.requests[-1].fault == "lost_response"


def test_the_same_seed_gives_the_same_faults(served):
    state, server = served

    def run() -> list[int]:
        state.faults = Faults(seed=3, error_rate=0.5, paths_prefix="/api/v1/time_entries")
        return [httpx.get(server.url + "/time_entries.json", headers=key("ann")).status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert {500, 502, 503} & set(first) and 200 in first
