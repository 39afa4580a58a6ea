"""A burst of deltas against `kimai-sync serve`: every request answered, coalesced into few flow
runs, and Kimai right for every work log at the end (bench/delta_burst.py measures the times)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.triplestores import free_port
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

pytestmark = pytest.mark.usefixtures("prefect_server")

CAL = "http://www.w3.org/2002/12/cal/ical#"
KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")
MINUTES = {"PT30M": 30, "PT1H": 60, "PT1H30M": 90, "PT2H": 120}


def delta_body(log: str, duration: str) -> list:
    return [{"inserts": [{"subject": {"type": "uri", "value": log},
                          "predicate": {"type": "uri", "value": CAL + "duration"},
                          "object": {"type": "literal", "value": duration}}], "deletes": []}]


def until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return predicate()


def delta_runs(since: dt.datetime) -> Counter:
    """The delta flow's runs expected to start after `since` (this test's, not the session's), by state."""
    from prefect import get_client
    from prefect.client.schemas.filters import (FlowFilter, FlowFilterName, FlowRunFilter,
                                                FlowRunFilterExpectedStartTime)

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["work-log-delta-sync"])),
                                     flow_run_filter=FlowRunFilter(
                                         expected_start_time=FlowRunFilterExpectedStartTime(after_=since)),
                                     limit=200)
    return Counter(fr.state.type.value for fr in runs if fr.state)


def test_a_burst_of_200_deltas_over_20_work_logs_converges_in_at_most_20_runs(kimai_state, kimai, oxigraph, tmp_path):
    from prefect.settings import PREFECT_API_URL

    project = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    activity = kimai_state.add_activity("General", project.id)
    tk = TimekeeperData()
    task = tk.activity(activity.id, tk.project(project.id, "P"), "General")
    persons = [tk.person(f"Person {i}", kimai_state.add_user(f"p{i}", timezone="Europe/Brussels").id) for i in range(4)]
    logs = [tk.work_log(persons[i % 4], task, dt.date(2025, 3, 3) + dt.timedelta(days=i // 4), "PT1H")
            for i in range(20)]
    store = oxigraph.client()
    tk.load(store)
    final = dict.fromkeys(logs, "PT1H")

    def kimai_right() -> bool:
        by_uuid = Counter(marker_of(t.description) for t in list(kimai_state.timesheets.values()))
        minutes = {marker_of(t.description): (t.end - t.begin).total_seconds() / 60
                   for t in list(kimai_state.timesheets.values()) if t.end is not None}
        return all(by_uuid[log.rsplit("/", 1)[1]] == 1 and minutes.get(log.rsplit("/", 1)[1]) == MINUTES[final[log]]
                   for log in logs) and len(kimai_state.timesheets) == len(logs)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH, TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH,
               PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_HOME=tempfile.mkdtemp(prefix="kimaisync-serve-home-", dir=tmp_path))
    port, log_file = free_port(), tmp_path / "serve.log"
    with open(log_file, "wb") as out:
        serve = subprocess.Popen([KIMAI_SYNC, "serve", "--port", str(port)], env=env, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/delta"
    started = dt.datetime.now(dt.timezone.utc)
    try:
        assert until(lambda: "receiver on" in log_file.read_text() or serve.poll() is not None, 120), \
            log_file.read_text()[-3000:]
        assert serve.poll() is None, log_file.read_text()[-3000:]
        for log in logs:  # first sync: every work log in Kimai
            assert httpx.post(url, json=delta_body(log, "PT1H"), timeout=60).status_code == 204
        assert until(kimai_right, 120), "the first sync did not converge"
        assert until(lambda: not delta_runs(started).get("SCHEDULED"), 60)
        burst = dt.datetime.now(dt.timezone.utc)

        rng = random.Random(7)
        with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=100)) as client, \
                concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            futures = []
            for _ in range(200):  # over about 5 s, as people edit; each change is in the store before its delta
                log, duration = rng.choice(logs), rng.choice(list(MINUTES))
                store.update(f'DELETE {{ GRAPH ?g {{ <{log}> cal:duration ?d }} }} '
                             f'INSERT {{ GRAPH ?g {{ <{log}> cal:duration "{duration}" }} }} '
                             f'WHERE {{ GRAPH ?g {{ <{log}> cal:duration ?d }} }}')
                final[log] = duration
                futures.append(pool.submit(lambda b: client.post(url, json=b).status_code, delta_body(log, duration)))
                time.sleep(0.025)
            answers = Counter(f.result() for f in futures)
        assert answers == {204: 200}
        assert until(kimai_right, 180), "Kimai did not come to agree with the store"
        assert until(lambda: not delta_runs(burst).get("SCHEDULED"), 60)  # placeholders of completed runs are deleted
        runs = delta_runs(burst)
        assert 1 <= sum(runs.values()) <= 20, runs
        assert set(runs) == {"COMPLETED"}, (runs, log_file.read_text()[-6000:])
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(10)
