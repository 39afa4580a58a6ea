"""The webhook receiver: the old routes and status codes, bad input, coalescing, durable runs."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi.testclient import TestClient

from deployments.receiver import create_app, flows_by_route
from deployments.run_queue import RunQueue
from receiver_stubs import LOG, StubFlow, StubStore, delta_body, stub_flows
from worklog_helpers import one_new_work_log





@pytest.fixture
def stubs():
    flows = stub_flows()
    runs = RunQueue(flows)
    yield flows, runs, TestClient(create_app(runs, StubStore()))
    runs.stop()


@pytest.mark.parametrize("method,path,body,status,flow", [
    ("post", "/delta", delta_body(LOG), 204, "delta"),
    ("post", "/delta", delta_body(LOG, predicate="http://x/unrelated"), 204, None),
    ("post", "/update-queue/work-logs/67D184E2A3B8E1000A000077", None, 202, "delta"),
    ("post", "/update-queue/work-logs/NOPE", None, 400, None),
    ("post", "/update-queue/work-logs/bad%20id", None, 400, None),
    ("put", "/kimai-timesheets/123", None, 204, "orphan"),
    ("put", "/kimai-timesheets/12a", None, 400, None),
    ("post", "/sync-from-kimai/customers", None, 204, "customers"),
    ("post", "/sync-from-kimai/tasks", None, 204, "tasks"),
    ("post", "/sync-from-kimai/accounts", None, 204, "accounts"),
    ("post", "/sync-from-kimai/everything", None, 404, None),
    ("post", "/sync-to-kimai/work-logs", {"start": "2025-03-01", "end": "2025-03-31"}, 202, "period"),
    ("post", "/sync-to-kimai/work-logs", {"start": "2025-01-30T00:00:00.000Z", "end": "2025-03-02T10:00:00Z"}, 202,
     "period"),
    ("post", "/sync-to-kimai/work-logs", {"start": "2024-02-30", "end": "2024-03-01"}, 400, None),
    ("post", "/sync-to-kimai/work-logs", {"start": "2024-13-01", "end": "2024-12-31"}, 400, None),
    ("post", "/sync-to-kimai/work-logs", {"start": "2024-03-02", "end": "2024-03-01"}, 400, None),
    ("post", "/sync-to-kimai/work-logs", {"start": 20240301, "end": "2024-03-01"}, 400, None),
    ("post", "/sync-to-kimai/work-logs", ["2024-03-01"], 400, None),
    ("post", "/timesheets/lock", {"month": 3, "year": 2025}, 204, "lock"),
    ("post", "/timesheets/lock", {"month": "3", "year": "2025"}, 204, "lock"),
    ("post", "/timesheets/lock", {"month": 0, "year": 2025}, 400, None),
    ("post", "/timesheets/lock", {"month": 13, "year": 2025}, 400, None),
    ("post", "/timesheets/lock", {"month": 3, "year": 25}, 400, None),
    ("post", "/timesheets/lock", {"month": True, "year": 2025}, 400, None),
])
def test_routes_answer_like_the_old_service(stubs, method, path, body, status, flow):
    flows, runs, client = stubs
    r = getattr(client, method)(path, json=body) if body is not None else getattr(client, method)(path)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["error"]  # a message saying what was wrong
    runs.join(10)
    assert [name for name, f in flows.items() if f.calls] == ([flow] if flow else [])


@pytest.mark.parametrize("content", [b"not json", b"{", b'{"changeSets": 5}', b"[1, 2]", b'"text"',
                                     b"[" + b"5," * (3 * 1024 * 1024) + b"5]"])
def test_bad_delta_bodies_get_400_and_the_receiver_stays_up(stubs, content):
    flows, runs, client = stubs
    r = client.post("/delta", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]
    assert client.post("/delta", json=delta_body(LOG)).status_code == 204  # still serving


def test_same_work_log_five_times_in_a_body_is_one_sync(stubs):
    flows, runs, client = stubs
    client.post("/delta", json=delta_body(LOG, LOG, LOG, LOG, LOG))
    runs.join(10)
    assert flows["delta"].calls == [{"work_logs": [LOG]}]


def test_deltas_for_a_waiting_work_log_coalesce():
    busy, delta = StubFlow(hold=True), StubFlow()
    runs = RunQueue({"period": busy, "delta": delta})
    client = TestClient(create_app(runs, StubStore()))
    client.post("/sync-to-kimai/work-logs", json={"start": "2025-03-01", "end": "2025-03-31"})
    assert busy.started.wait(5)
    for _ in range(5):  # the delta-notifier sends one edit as up to five POSTs
        assert client.post("/delta", json=delta_body(LOG)).status_code == 204
    busy.release.set()
    assert runs.join(10)
    runs.stop()
    assert delta.calls == [{"work_logs": [LOG]}]


class WatchedCondition(threading.Condition):
    """A condition that tells when the thread named `watch` starts waiting on it."""

    def __init__(self, watch: str):
        super().__init__()
        self.watch, self.waiting = watch, threading.Event()

    def wait(self, timeout=None):
        if threading.current_thread().name == self.watch:
            self.waiting.set()
        return super().wait(timeout)


@pytest.mark.parametrize("fails", [False, True])
def test_a_coalesced_delta_is_answered_only_once_the_run_it_joined_is_recorded(monkeypatch, fails):
    """Its 2xx promises the work is recorded in Prefect: the run it joined must be, first."""
    busy, delta = StubFlow(hold=True), StubFlow()
    runs = RunQueue({"period": busy, "delta": delta}, {"delta": "a-deployment-id"})
    recording, allow = threading.Event(), threading.Event()
    events: list[str] = []  # what happened, in order: the recording and the answers

    def record(name, parameters):
        if name != "delta":
            return None
        events.append("recording")
        recording.set()
        assert allow.wait(10)
        events.append("recorded")
        if fails:
            raise RuntimeError("the Prefect API is down")
        return None

    monkeypatch.setattr(runs, "_record", record)
    # the second request waits for the first one's recording on this condition: seen waiting there,
    # it has joined the run and cannot have been answered (the recording is held until `allow`)
    watched = WatchedCondition("second-request")
    monkeypatch.setattr(runs, "_recording", watched)
    runs.submit("period", {})
    assert busy.started.wait(5)
    answers = []

    def post():
        try:
            answers.append(runs.submit("delta", {}, frozenset([LOG])))
        except RuntimeError as err:
            answers.append(err)
        events.append("answered")
    first = threading.Thread(target=post)
    first.start()
    assert recording.wait(5)  # the first request's run is being recorded
    second = threading.Thread(target=post, name="second-request")  # the same work log, meanwhile
    second.start()
    assert watched.waiting.wait(5)  # the second request waits for that recording
    assert not answers and second.is_alive()
    allow.set()
    first.join(5)
    second.join(5)
    busy.release.set()
    assert runs.join(10)
    runs.stop()
    assert events == ["recording", "recorded", "answered", "answered"]  # one recording, then both answers
    if fails:
        assert all(isinstance(a, RuntimeError) for a in answers) and len(answers) == 2
    else:
        assert sorted(answers) == [False, True]
    assert delta.calls == [{"work_logs": [LOG]}]


def test_recorded_runs_are_renewed_while_their_work_waits_or_executes_and_not_after(monkeypatch):
    """The lease: a recorded run is pushed forward while this process still has its work to do
    (serve's runner would otherwise start a copy of a long run); once executed, no longer."""
    busy, delta, later = StubFlow(hold=True), StubFlow(), StubFlow(hold=True)
    runs = RunQueue({"period": busy, "delta": delta, "lock": later}, {"period": "dep-1", "delta": "dep-2"},
                    grace=0.4)
    renewed: list[str] = []  # in the order the renewal rounds renewed them
    renewal = threading.Condition()
    deleted: list[str] = []

    def extend(job):
        with renewal:
            renewed.append(job.placeholder.id)
            renewal.notify_all()

    def renewed_all(*ids, rounds=1):
        with renewal:
            return renewal.wait_for(lambda: all(renewed.count(i) >= rounds for i in ids), timeout=10)

    monkeypatch.setattr(runs, "_record", lambda name, parameters: type("Run", (), {"id": f"run-of-{name}"})())
    monkeypatch.setattr(runs, "_extend", extend)
    monkeypatch.setattr(runs, "_client", lambda: type("Api", (), {"delete_flow_run": deleted.append})())
    runs.submit("period", {})
    assert busy.started.wait(5)
    runs.submit("delta", {}, frozenset([LOG]))  # queued behind the period run
    assert renewed_all("run-of-period", "run-of-delta")  # the executing run and the waiting one
    busy.release.set()
    assert runs.join(10)
    # A later run, held: its first renewal marks a round that began after the first two had
    # executed; the renewer is one thread, so every entry from there on comes from such a round,
    # and from its first renewal to its second lies a whole round's worth of every live run.
    runs.submit("lock", {})
    assert later.started.wait(5) and renewed_all("run-of-lock", rounds=2)
    with renewal:
        since = renewed.index("run-of-lock")
    later.release.set()
    assert runs.join(10)
    runs.stop()
    assert not {"run-of-period", "run-of-delta"} & set(renewed[since:])  # executed: no longer renewed
    assert sorted(deleted) == ["run-of-delta", "run-of-lock", "run-of-period"]  # deleted instead


def test_a_record_prefect_refuses_for_now_is_made_on_a_later_try(monkeypatch):
    """Prefect on SQLite answers 503 to one of two overlapping writes: the run is still recorded."""
    import httpx

    tries: list[str] = []

    class Api:
        def create_flow_run_from_deployment(self, deployment, parameters, state):
            tries.append(deployment)
            if len(tries) < 3:
                request = httpx.Request("POST", f"http://prefect.test/api/deployments/{deployment}/create_flow_run")
                raise httpx.HTTPStatusError("busy", request=request, response=httpx.Response(503, request=request))
            return type("Run", (), {"id": "run-of-delta"})()

        def delete_flow_run(self, run_id):
            tries.append(f"deleted {run_id}")

    delta = StubFlow()
    runs = RunQueue({"delta": delta}, {"delta": "dep-2"})
    monkeypatch.setattr(runs, "_client", Api)
    assert runs.submit("delta", {}, frozenset([LOG])) is True  # answered once recorded
    assert runs.join(10)
    runs.stop()
    assert tries[:3] == ["dep-2"] * 3 and delta.calls == [{"work_logs": [LOG]}]
    assert "deleted run-of-delta" in tries  # executed: its record goes


@pytest.mark.parametrize("value, said", [("abc", "a number of seconds"), ("5", "at least 20")])
def test_a_grace_time_the_runners_would_beat_is_refused_at_start(monkeypatch, capsys, value, said):
    from kimaisync.cli import main

    monkeypatch.setenv("RECEIVER_GRACE_SECONDS", value)
    monkeypatch.setenv("API_TOKEN", "t0ken-for-grace-test")
    monkeypatch.setenv("KIMAI_ENDPOINT", "http://127.0.0.1:9/api")
    assert main(["serve", "--port", "0"]) == 2  # bad input, before anything starts
    err = capsys.readouterr().err
    assert "RECEIVER_GRACE_SECONDS" in err and said in err


@pytest.mark.usefixtures("prefect_server")
def test_concurrent_deltas_for_one_new_work_log_make_one_kimai_timesheet(kimai_state, kimai, oxigraph, monkeypatch):
    from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH
    for k, v in {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
                 "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                 "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH}.items():
        monkeypatch.setenv(k, v)
    log = one_new_work_log(kimai_state, oxigraph)
    from prefect import get_client
    from flows.worklog_delta import sync_work_log_changes

    dep = sync_work_log_changes.to_deployment(name="delta-test").apply()
    runs = RunQueue(flows_by_route(), {"delta": dep})
    client = TestClient(create_app(runs, oxigraph.client()))
    started = dt.datetime.now(dt.timezone.utc)
    threads = [threading.Thread(target=lambda: client.post("/delta", json=delta_body(log))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs.join(60)
    runs.stop()
    posts = [r for r in kimai_state.requests if r.method == "POST" and r.path == "/api/timesheets"]
    assert len(posts) == 1 and len(kimai_state.timesheets) == 1
    assert all(outcome == "COMPLETED" for _, _, outcome in runs.executed)
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as c:  # the newest runs: the session's server holds other tests' too
        runs_now = [fr for fr in c.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200)
                    if fr.created >= started]
    # The work ran as flow runs of the delta flow; their recorded placeholders are gone, so nothing runs twice.
    assert any(fr.state and fr.state.is_completed() and fr.name for fr in runs_now)
    # On the runs list: named by what it did, tagged with the route that started it.
    executed = [fr for fr in runs_now if fr.deployment_id is None and fr.state.is_completed()]
    assert executed and all(fr.name.startswith("delta: 1 work log") for fr in executed)
    assert all({"receiver", "route:delta"} <= set(fr.tags) for fr in executed)
    assert not [fr for fr in runs_now if str(fr.deployment_id) == str(dep) and fr.state.is_scheduled()]


@pytest.mark.usefixtures("prefect_server")
def test_accepted_work_whose_run_fails_stays_recorded_to_be_retried():
    from prefect import flow, get_client

    @flow(name="always-fails")
    def always_fails(work_logs: list[str]):
        raise RuntimeError("the store is down")

    dep = always_fails.to_deployment(name="fails-test").apply()
    runs = RunQueue({"delta": always_fails}, {"delta": dep})
    assert TestClient(create_app(runs, StubStore())).post("/delta", json=delta_body(LOG)).status_code == 204
    assert runs.join(60)
    runs.stop()
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    with get_client(sync_client=True) as c:
        kept = c.read_flow_runs(flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[dep])))
    assert len(kept) == 1 and kept[0].state.is_scheduled()  # serve or a worker runs it when it comes due
    assert kept[0].parameters == {"work_logs": [LOG]}
