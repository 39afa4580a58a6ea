"""TimiClient against the Timi emulator on a real socket: auth header only, paging and filters,
form-encoded writes with every field explicit, errors mapped to the tracker types, the rate
budget waited out under the one retry policy, lost replies, secrets kept out of everything."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import httpx
import pytest
from pydantic import SecretStr

from emulators.timi.seeds import small_state
from emulators.timi.server import TimiServer
from emulators.timi.state import Faults, RateBudget
from kimaisync.errors import (
    TimiAuthError,
    TimiNotFoundError,
    OutcomeUnknown,
    TimiProtocolError,
    TimiRateLimitedError,
    TimiValidationError,
    TimiUnavailableError,
    is_retryable,
)
from kimaisync.retry import MAX_DELAY
from kimaisync.trackers.timi import TimiClient, TimiEntryWrite

ANN_TOKEN = "ann-token"


@pytest.fixture
def emulator():
    state = small_state()
    with TimiServer(state, today=lambda: date(2016, 3, 28)) as server:
        yield state, server


def client(server, email="ann@example.org", token=ANN_TOKEN, **kw):
    kw.setdefault("sleep", lambda s: None)
    return TimiClient(server.url, email, SecretStr(token), **kw)


def write(**fields) -> TimiEntryWrite:
    values = dict(body="[tk:wl-1]", date=date(2016, 3, 1), duration=5400, project_id=47, service_id=1)
    values.update(fields)
    return TimiEntryWrite(**values)


def test_every_request_authenticates_by_header_never_by_url_or_form(emulator):
    state, server = emulator
    with client(server) as timi:
        timi.services()
        timi.entries(date(2016, 1, 1), date(2016, 12, 31))
        created = timi.create_entry(write())
        timi.update_entry(created.id, write(duration=60))
    assert {r.auth for r in state.requests} == {"x-api-key"}
    for r in state.requests:
        assert not {"token", "email"} & (set(r.query) | set(r.form)), r


def test_reads_clients_projects_services(emulator):
    _state, server = emulator
    with client(server) as timi:
        assert [(c.name, [p.name for p in c.projects]) for c in timi.clients()] == [
            ("Timi", ["Timi", "Website"]), ("Klant A", ["Banners"])]
        assert {p.name: p.client_id for p in timi.projects()} == {"Timi": 1, "Website": 1, "Banners": 618}
        assert [s.name for s in timi.services()] == ["Development", "Design", "Overleg"]


def test_entries_of_every_page_with_the_filters(emulator):
    state, server = emulator
    for n in range(250):
        state.add_entry(3, f"werk {n}", date(2016, 3, 1) + timedelta(days=n % 20), 600, 47 if n % 2 else 3327,
                        1 + n % 3)
    state.add_entry(1, "not Ann's", "2016-03-05", 600, 47, 1)
    state.clear_requests()
    with client(server) as timi:
        every = timi.entries(date(2016, 3, 1), date(2016, 3, 20))
        assert len(every) == 250 and len({e.id for e in every}) == 250
        assert [r.query["page"] for r in state.requests] == ["1", "2", "3"]
        assert state.requests[0].query["start_date"] == "01-03-2016"
        odd = timi.entries(date(2016, 3, 1), date(2016, 3, 5), project_ids=[47], service_ids=[2])
    expected = {e.id for e in state.entries.values()
                if e.user == 3 and e.project == 47 and e.service == 2 and e.date <= date(2016, 3, 5)}
    assert {e.id for e in odd} == expected and expected
    assert {e.service_id for e in odd} == {2}  # one service asked: each entry's service is known


def test_writes_are_form_encoded_with_every_field_explicit(emulator):
    state, server = emulator
    with client(server) as timi:
        timi.create_entry(write())
    sent = state.requests[-1]
    assert sent.form == {"body": "[tk:wl-1]", "date": "01-03-2016", "duration": "5400", "project_id": "47",
                         "service_id": "1"}


@pytest.mark.parametrize("body", ["2,5 uur met Rowan aan Timi gewerkt [tk:wl-1]", "8 uur Banners 1:30 [tk:wl-1]"])
def test_a_body_that_looks_like_hours_and_a_project_changes_nothing(emulator, body):
    state, server = emulator
    with client(server) as timi:
        created = timi.create_entry(write(body=body, duration=1800, project_id=3327, service_id=2))
        stored = state.entries[created.id]
        assert (stored.duration, stored.project, stored.service, stored.date) == (1800, 3327, 2, date(2016, 3, 1))
        timi.update_entry(created.id, write(body="10 uur met Rowan gewerkt " + body, duration=900,
                                            project_id=3327, service_id=2))
        assert (stored.duration, stored.project, stored.service) == (900, 3327, 2)


def test_401_is_a_config_error_named_by_person_never_retried_never_showing_the_token(emulator):
    _state, server = emulator
    waits: list[float] = []
    with client(server, token="wrong-secret-token", sleep=waits.append) as timi:
        with pytest.raises(TimiAuthError) as caught:
            timi.services()
    assert waits == [] and timi.retries_made == 0  # said at once: no waiting, no second try
    assert caught.value.status == 401 and not is_retryable(caught.value)
    assert "ann@example.org" in str(caught.value) and "wrong-secret-token" not in str(caught.value)
    assert "unauthorized" in str(caught.value)


def test_the_rate_budget_is_waited_out_by_reads_and_patches_and_nothing_is_doubled(emulator):
    state, server = emulator
    now = [0.0]
    state.rate = RateBudget(limit=4, window=60, clock=lambda: now[0])
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the client's waiting moves the emulator's minute on
        waits.append(seconds)
        now[0] += seconds

    with client(server, sleep=sleep) as timi:
        made = []
        for n in range(6):
            try:
                made.append(timi.create_entry(write(body=f"[tk:wl-{n}]")))
            except TimiRateLimitedError as refused:  # a create is sent once: the create loop retries it
                assert is_retryable(refused)
                now[0] += 60
                made.append(timi.create_entry(write(body=f"[tk:wl-{n}]")))
        for entry in made:
            timi.update_entry(entry.id, write(body=entry.body, duration=60))
        listed = timi.entries(date(2016, 3, 1), date(2016, 3, 1))
    assert sorted(e.body for e in listed) == sorted(f"[tk:wl-{n}]" for n in range(6))
    assert {e.duration for e in listed} == {60}
    assert state.rate.refused > 0 and timi.retries_made > 0
    assert waits and min(waits) > 0  # it waited, under the one retry policy, instead of spinning


def test_a_429_that_outlasts_the_retries_is_rate_limited_and_retryable(emulator):
    state, server = emulator
    state.rate = RateBudget(limit=1, window=60, clock=lambda: 0.0)
    waits: list[float] = []
    with client(server, retries=2, sleep=waits.append) as timi:
        timi.services()
        with pytest.raises(TimiRateLimitedError) as caught:
            timi.services()
    assert is_retryable(caught.value)  # the run's caller may try again later
    # every retry it was given was spent waiting, each wait within the one policy's cap
    assert timi.retries_made == timi.retries == len(waits) and all(0 < w <= MAX_DELAY for w in waits)


def test_refused_data_keeps_timis_errors(emulator):
    _state, server = emulator
    with client(server) as timi, pytest.raises(TimiValidationError) as caught:
        timi.create_entry(write(project_id=999, service_id=998))
    assert caught.value.details.field_errors == {"project": ["bestaat niet"], "service": ["bestaat niet"]}
    assert caught.value.status == 422 and not is_retryable(caught.value)
    assert "project: bestaat niet" in str(caught.value)


def test_another_persons_entry_is_not_found(emulator):
    state, server = emulator
    with client(server) as timi, pytest.raises(TimiNotFoundError):
        timi.update_entry(108085, write())
    assert state.entries[108085].duration == 28800


def test_a_create_whose_reply_is_lost_may_have_landed_and_is_not_repeated_here(emulator):
    state, server = emulator
    state.faults = Faults(lost_response_rate=1.0, methods={"POST"}, paths_prefix="/api/v1/time_entries")
    before = len(state.entries)
    with client(server) as timi, pytest.raises(OutcomeUnknown) as caught:
        timi.create_entry(write())
    assert is_retryable(caught.value)  # the create loop tries again, after looking for the marker
    assert len(state.entries) == before + 1
    assert [r.method for r in state.requests] == ["POST"]


def test_server_errors_repeat_reads_but_not_creates(emulator):
    state, server = emulator
    state.faults = Faults(seed=1, error_rate=1.0, paths_prefix="/api/v1/time_entries", after=0)
    with client(server, retries=2) as timi:
        with pytest.raises(TimiUnavailableError):
            timi.entries()
        assert timi.retries_made == timi.retries  # the read was repeated as often as allowed
        with pytest.raises(OutcomeUnknown):
            timi.create_entry(write())
        assert timi.retries_made == timi.retries  # the create was not
    assert [r.method for r in state.requests].count("POST") == 1  # sent once: no second entry


def test_no_connection_is_transient():
    timi = TimiClient("http://127.0.0.1:9/api/v1", "ann@example.org", SecretStr(ANN_TOKEN), retries=1,
                      sleep=lambda s: None)
    with pytest.raises(TimiUnavailableError) as caught:
        timi.services()
    assert is_retryable(caught.value) and timi.retries_made == timi.retries


def test_unreadable_answers_are_protocol_errors():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("services.json"):  # the document prints one object, not a list
            return httpx.Response(200, json={"id": 1, "name": "Development", "aliases": ["coden"]})
        return httpx.Response(200, text="<html>login</html>")

    timi = TimiClient("https://timi.example/api/v1", "ann@example.org", SecretStr(ANN_TOKEN),
                      transport=httpx.MockTransport(handler))
    assert [s.name for s in timi.services()] == ["Development"]
    with pytest.raises(TimiProtocolError):
        timi.clients()


def test_the_token_stays_out_of_reprs_errors_and_logs(emulator, caplog):
    state, server = emulator
    state.faults = Faults(seed=2, error_rate=0.5, paths_prefix="/api/v1/time_entries")
    caplog.set_level(logging.DEBUG)
    timi = client(server)
    shown = [repr(timi), str(timi.__dict__.get("base_url"))]
    try:
        timi.entries()
        timi.create_entry(write())
    except Exception as exc:  # noqa: BLE001 (either outcome is fine: what it says is checked)
        shown.append(repr(exc) + str(exc))
    with client(server, token="bad-token-xyz") as bad, pytest.raises(TimiAuthError) as caught:
        bad.clients()
    shown.append(str(caught.value))
    shown += [r.getMessage() for r in caplog.records]
    assert caplog.records  # something was logged to look at
    assert not [s for s in shown if ANN_TOKEN in s or "bad-token-xyz" in s]


def test_the_proxy_settings_of_the_environment_are_honoured(emulator, monkeypatch):
    state, server = emulator
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # the host does not exist: only a proxy (here the emulator itself) can answer
    with TimiClient("http://timi.invalid/api/v1", "ann@example.org", SecretStr(ANN_TOKEN)) as timi:
        assert [s.name for s in timi.services()][:1] == ["Development"]
    assert state.requests[-1].path == "/api/v1/services.json"
    monkeypatch.setenv("NO_PROXY", "timi.invalid")
    with TimiClient("http://timi.invalid/api/v1", "ann@example.org", SecretStr(ANN_TOKEN), retries=0) as timi:
        with pytest.raises(TimiUnavailableError):
            timi.services()
