"""Authentication and rate limiting, as Timi's API document describes them."""

from __future__ import annotations

import pytest

from emulators.timi.state import RateBudget
from timi_helpers import key


def test_the_three_documented_ways_authenticate_the_same_user(timi):
    header = timi.get("/api/v1/time_entries.json", headers={"X-Api-Key": "rowan@example.org:rowan-token"})
    basic = timi.get("/api/v1/time_entries.json", auth=("rowan@example.org", "rowan-token"))
    params = timi.get("/api/v1/time_entries.json", params={"email": "rowan@example.org", "token": "rowan-token"})
    for answer in (header, basic, params):
        assert answer.status_code == 200
        assert [e["user"]["display_name"] for e in answer.json()["time_entries"]] == ["Rowan"]


def test_the_form_may_carry_email_and_token_as_in_the_documents_curl_examples(timi, timi_state):
    answer = timi.post("/api/v1/time_entries.json", data={
        "body": "1 uur", "project_id": "47", "email": "ann@example.org", "token": "ann-token"})
    assert answer.status_code == 201
    assert timi_state.entries[answer.json()["id"]].user == 3
    assert timi_state.requests[-1].auth == "params"
    assert timi_state.requests[-1].form["token"] == "***"  # the log never keeps it


@pytest.mark.parametrize("headers,params,auth", [
    ({}, {}, None),
    ({"X-Api-Key": "rowan@example.org:wrong"}, {}, None),
    ({"X-Api-Key": "rowan@example.org"}, {}, None),
    ({"X-Api-Key": "nobody@example.org:rowan-token"}, {}, None),
    ({}, {"email": "rowan@example.org"}, None),
    ({}, {"email": "rowan@example.org", "token": "ann-token"}, None),
    ({}, {}, ("rowan@example.org", "nope")),
])
def test_bad_credentials_get_401_unauthorized(timi, headers, params, auth):
    answer = timi.get("/api/v1/clients.json", headers=headers, params=params, auth=auth)
    assert answer.status_code == 401
    assert answer.json() == {"message": "unauthorized"}


def test_the_budget_per_minute_answers_429_then_recovers_in_the_next_window(timi, timi_state):
    now = [1000.0]
    timi_state.rate = RateBudget(limit=3, window=60, clock=lambda: now[0])
    codes = [timi.get("/api/v1/services.json", headers=key("ann")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = timi.get("/api/v1/services.json", headers=key("ann"))
    assert refused.json() == {"message": "rate limit exceeded"}
    assert timi.get("/api/v1/services.json", headers=key("rowan")).status_code == 200  # each account its own
    now[0] += 60
    assert timi.get("/api/v1/services.json", headers=key("ann")).status_code == 200
    assert timi_state.rate.refused == 2


def test_a_refused_write_changes_nothing(timi, timi_state):
    timi_state.rate = RateBudget(limit=1, window=60, clock=lambda: 0.0)
    timi.get("/api/v1/services.json", headers=key("ann"))
    before = dict(timi_state.entries)
    answer = timi.post("/api/v1/time_entries.json", headers=key("ann"),
                       data={"body": "werk", "duration": "60", "project_id": "47"})
    assert answer.status_code == 429
    assert timi_state.entries == before
