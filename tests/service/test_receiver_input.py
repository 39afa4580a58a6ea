"""The receiver under poisoned input and bursts, with stub flows: a bad part never poisons the good
part, every input error is a 400 with a short reason, a 503 says nothing of the internals, bursts
coalesce and large deltas are split into runs Prefect takes."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from deployments.receiver import NOT_RECORDED, create_app
from deployments.run_queue import MAX_KEYS, RunQueue
from receiver_stubs import CAL, LOG, StubFlow, StubStore, stub_flows

TYPES = ["application/json", "application/vnd.api+json"]


def triple(subject: str) -> dict:
    return {"subject": {"type": "uri", "value": subject}, "predicate": {"type": "uri", "value": CAL + "duration"},
            "object": {"type": "literal", "value": "PT1H"}}




@pytest.fixture
def stubs():
    flows = stub_flows()
    runs = RunQueue(flows)
    app = create_app(runs, StubStore())
    yield flows, runs, TestClient(app), app
    runs.stop()


@pytest.mark.parametrize("bad", ["bad subject", "_:b0", "http://x/a\x00b", "http://x/a b", "http://x/\ud800",
                                 "http://x> } ; DROP ALL ; { <http://y"])
def test_a_poisoned_subject_is_dropped_counted_and_named_and_the_real_work_log_synced(stubs, bad):
    flows, runs, client, app = stubs
    body = json.dumps([{"inserts": [triple(bad), triple(LOG)], "deletes": []}])  # \ud800 stays an escape
    r = client.post("/delta", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 204, r.text
    assert runs.join(10)
    [call] = flows["delta"].calls
    assert call["work_logs"] == [LOG]
    assert len(call["refused"]) == 1 and call["refused"][0].startswith("subject ")  # for the run's report
    assert app.state.dropped_subjects == 1


def test_a_body_with_nothing_valid_is_a_400_saying_why(stubs):
    flows, runs, client, _ = stubs
    r = client.post("/delta", json=[{"inserts": [triple("bad subject"), triple("_:b0")], "deletes": []}])
    assert r.status_code == 400
    assert "nothing in the body could be used" in r.json()["error"] and "no scheme" in r.json()["error"]
    assert runs.join(10) and not flows["delta"].calls


@pytest.mark.parametrize("ctype", TYPES)
@pytest.mark.parametrize("body", [{"year": "2025", "month": "3"}, {"year": 2025, "month": 3}])
def test_the_old_mu_scripts_lock_request_works_as_strings_or_numbers_in_both_content_types(stubs, ctype, body):
    flows, runs, client, _ = stubs
    r = client.post("/timesheets/lock", content=json.dumps(body), headers={"content-type": ctype})
    assert r.status_code == 204, r.text
    assert runs.join(10)
    assert flows["lock"].calls == [{"month": 3, "year": 2025}]


@pytest.mark.parametrize("ctype", TYPES)
def test_a_period_in_either_content_type(stubs, ctype):
    flows, runs, client, _ = stubs
    body = json.dumps({"start": "2025-03-01T00:00:00.000Z", "end": "2025-03-31T00:00:00.000Z"})
    assert client.post("/sync-to-kimai/work-logs", content=body, headers={"content-type": ctype}).status_code == 202
    assert runs.join(10)
    assert flows["period"].calls == [{"start": "2025-03-01", "end": "2025-03-31"}]


@pytest.mark.parametrize("ctype", TYPES)
@pytest.mark.parametrize("method, path, body, says", [
    ("put", "/kimai-timesheets/%C2%B2", None, "is not a Kimai timesheet id"),
    ("put", "/kimai-timesheets/2147483648", None, "is not a Kimai timesheet id"),
    ("put", "/kimai-timesheets/0", None, "is not a Kimai timesheet id"),
    ("post", "/timesheets/lock", '{"month": "\\u00b2", "year": 2025}', "'month' must be a number from 1 to 12"),
    ("post", "/timesheets/lock", '{"month": "\\u0669", "year": 2025}', "'month' must be a number from 1 to 12"),
    ("post", "/timesheets/lock", '{"month": 3, "year": 1999}', "'year' must be in the years 2000 to 2100"),
    ("post", "/timesheets/lock", '{"month": 3, "year": "3000"}', "'year' must be in the years 2000 to 2100"),
    ("post", "/sync-to-kimai/work-logs", '{"start": "0001-01-01", "end": "0001-01-02"}', "must be in the years"),
    ("post", "/sync-to-kimai/work-logs", '{"start": "9999-01-01", "end": "9999-01-02"}', "must be in the years"),
    ("post", "/sync-to-kimai/work-logs", '{"start": "2020-01-01", "end": "2025-01-01"}', "more than 400"),
    ("post", "/sync-to-kimai/work-logs", '{"start": "\\uff12\\uff10\\uff12\\uff15-03-01", "end": "2025-03-02"}',
     "is not a valid date"),
    ("post", "/delta", '[{"inserts": [{"subject": {"type": "uri", "value": "\\ud800"}, '
                       '"predicate": {"type": "uri", "value": "http://www.w3.org/2002/12/cal/ical#duration"}}]}]',
     "nothing in the body could be used"),
])
def test_each_input_error_is_a_400_with_a_short_reason(stubs, ctype, method, path, body, says):
    flows, runs, client, _ = stubs
    r = client.request(method.upper(), path, content=body, headers={"content-type": ctype})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert says in error and len(error) < 300 and error.isascii()
    assert runs.join(10) and not any(f.calls for f in flows.values())


def test_a_long_period_is_taken_when_asked_for_explicitly(stubs):
    flows, runs, client, _ = stubs
    body = {"start": "2020-01-01", "end": "2025-01-01", "allowLongPeriod": True}
    assert client.post("/sync-to-kimai/work-logs", json=body).status_code == 202
    assert runs.join(10)
    assert flows["period"].calls == [{"start": "2020-01-01", "end": "2025-01-01", "allow_long_period": True}]


class PrefectDown(Exception):
    pass


@pytest.mark.parametrize("method, path, body", [
    ("post", "/delta", [{"inserts": [triple(LOG)], "deletes": []}]),
    ("post", "/timesheets/lock", {"month": 3, "year": 2025}),
    ("put", "/kimai-timesheets/42", None),
    ("post", "/update-queue/work-logs/67D184E2A3B8E1000A000077", None),
])
def test_a_503_says_only_that_the_work_was_not_recorded_and_to_retry(method, path, body):
    flows = stub_flows(("delta", "orphan", "lock"))
    runs = RunQueue(flows, {name: "a-deployment" for name in flows})

    def record(name, parameters):
        raise PrefectDown("Server error '503' for url 'http://10.0.0.7:4200/api/deployments/8f1c-secret-id/"
                          "create_flow_run'\nTraceback ...")

    runs._record = record  # the Prefect API down, as the client would say it
    try:
        client = TestClient(create_app(runs, StubStore()), raise_server_exceptions=False)
        r = client.request(method.upper(), path, json=body)
    finally:
        runs.join(10)
        runs.stop()
    assert r.status_code == 503
    assert r.json() == {"error": NOT_RECORDED}
    assert "retry" in NOT_RECORDED and not any(s in r.text for s in ("http", "8f1c", "Traceback", "PrefectDown"))


def test_the_triplestore_down_on_update_queue_is_a_503_without_its_address():
    from kimaisync.errors import SparqlUnavailableError

    class DownStore:
        def select(self, query):
            raise SparqlUnavailableError("cannot reach the triplestore at http://database:8890/sparql: refused")

    runs = RunQueue({"delta": StubFlow()})
    try:
        r = TestClient(create_app(runs, DownStore())).post("/update-queue/work-logs/67D184E2A3B8E1000A000077")
    finally:
        runs.stop()
    assert r.status_code == 503 and r.json() == {"error": NOT_RECORDED}


def test_a_change_naming_more_work_logs_than_a_run_takes_is_split_and_all_synced(stubs):
    flows, runs, client, _ = stubs
    logs = [f"{LOG}-{i:05d}" for i in range(2 * MAX_KEYS + 500)]
    assert client.post("/delta", json=[{"inserts": [triple(log) for log in logs], "deletes": []}]).status_code == 204
    assert runs.join(30)
    calls = flows["delta"].calls
    assert len(calls) == 3 and all(len(c["work_logs"]) <= MAX_KEYS for c in calls)
    assert sorted(log for c in calls for log in c["work_logs"]) == logs


def test_a_burst_of_deltas_is_coalesced_into_few_runs_that_cover_every_work_log(stubs):
    flows, runs, client, _ = stubs
    logs = [f"{LOG}-{i}" for i in range(20)]
    answers: list[int] = []

    def send(i: int) -> None:
        answers.append(client.post("/delta", json=[{"inserts": [triple(logs[i % 20])], "deletes": []}]).status_code)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs.join(30)
    assert answers == [204] * 200
    calls = flows["delta"].calls
    assert len(calls) <= 20  # one run per request would be 200
    assert {log for c in calls for log in c["work_logs"]} == set(logs)


def test_a_flood_of_poisoned_deltas_names_a_bounded_number_of_drops_in_the_run():
    from deployments.run_queue import MAX_REFUSED, Job

    job = Job("delta", {}, keys={LOG: None})
    for i in range(MAX_REFUSED + 50):  # each request's drops, joining one waiting run
        job.refuse([f"subject 'bad subject {i}' no scheme (an absolute IRI starts like http:)"])
    refused = job.run_parameters()["refused"]
    assert len(refused) == MAX_REFUSED + 1 and refused[-1] == "and 50 more"
    assert len(json.dumps(job.run_parameters())) < 100_000  # Prefect takes up to 512 KB of parameters
