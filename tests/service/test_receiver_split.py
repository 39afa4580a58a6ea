"""A change naming 20,000 work logs (a bulk edit) is recorded as several runs Prefect accepts, and
every one of the work logs lands in Kimai."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from deployments.receiver import create_app, flows_by_route
from deployments.run_queue import MAX_KEYS, RunQueue
from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

CAL = "http://www.w3.org/2002/12/cal/ical#"
N, PEOPLE = 20_000, 100


@pytest.mark.usefixtures("prefect_server")
def test_a_delta_naming_20000_work_logs_is_split_into_runs_and_all_synced(kimai_state, kimai, oxigraph, monkeypatch):
    for k, v in {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
                 "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                 "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH, "KIMAI_CONCURRENCY": "8"}.items():
        monkeypatch.setenv(k, v)
    from prefect import get_client

    from flows.worklog_delta import sync_work_log_changes

    project = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    activity = kimai_state.add_activity("General", project.id)
    tk = TimekeeperData()
    task = tk.activity(activity.id, tk.project(project.id, "P"), "General")
    persons = [tk.person(f"Person {i}", kimai_state.add_user(f"p{i}", timezone="Europe/Brussels").id)
               for i in range(PEOPLE)]
    logs = [tk.work_log(persons[i % PEOPLE], task, dt.date(2025, 1, 1) + dt.timedelta(days=i // PEOPLE // 2), "PT1H")
            for i in range(N)]  # two an hour long a day each
    tk.load(oxigraph.client())

    dep = sync_work_log_changes.to_deployment(name="delta-split-test").apply()
    runs = RunQueue(flows_by_route(), {"delta": dep})
    body = [{"inserts": [{"subject": {"type": "uri", "value": log},
                          "predicate": {"type": "uri", "value": CAL + "duration"},
                          "object": {"type": "literal", "value": "PT1H"}} for log in logs], "deletes": []}]
    try:
        assert TestClient(create_app(runs, oxigraph.client())).post("/delta", json=body).status_code == 204
        assert runs.join(900)
    finally:
        runs.stop()
    executed = [(params, outcome) for name, params, outcome in runs.executed if name == "delta"]
    assert len(executed) == N // MAX_KEYS and {outcome for _, outcome in executed} == {"COMPLETED"}
    assert sorted(log for params, _ in executed for log in params["work_logs"]) == sorted(logs)
    in_kimai = Counter(marker_of(t.description) for t in kimai_state.timesheets.values())
    assert len(in_kimai) == N and set(in_kimai.values()) == {1}
    assert set(in_kimai) == {log.rsplit("/", 1)[1] for log in logs}
    with get_client(sync_client=True) as client:  # every run was recorded, and tidied once it completed
        left = [fr for fr in client.read_flow_runs(limit=200) if str(fr.deployment_id) == str(dep)]
    assert left == []
