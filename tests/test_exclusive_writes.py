"""A period sync (the fallback's, run by serve's runner or a worker) and a delta run (executed by the
receiver) never read and write work logs at the same time: a new work log gets one timesheet."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest

from kimai_emulator.state import Faults
from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture
def env(monkeypatch, kimai, oxigraph):
    from conftest import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    for k, v in {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
                 "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                 "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH}.items():
        monkeypatch.setenv(k, v)


def one_new_work_log(kimai_state, oxigraph) -> str:
    user = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    log = tk.work_log(tk.person("Lotte", user.id), tk.activity(act.id, tk.project(proj.id, "P"), "General"),
                      dt.date(2025, 3, 12), "PT2H")
    tk.load(oxigraph.client())
    return log


def run_delta(log: str) -> dict:
    from flows.worklog_delta import sync_work_log_changes

    return asyncio.run(sync_work_log_changes([log]))


def posts(kimai_state) -> list:
    return [r for r in kimai_state.requests if r.method == "POST" and r.path == "/api/timesheets"]


@pytest.mark.usefixtures("env")
def test_a_delta_waits_while_another_run_holds_the_work_log_writes(kimai_state, oxigraph):
    from tasks.exclusive import LIMIT, exclusive_work_log_writes

    log = one_new_work_log(kimai_state, oxigraph)
    done = []
    with exclusive_work_log_writes():  # as a period sync in another process does
        delta = threading.Thread(target=lambda: done.append(run_delta(log)))
        delta.start()
        delta.join(3)
        assert delta.is_alive() and not posts(kimai_state)  # waiting, nothing written
    delta.join(60)
    assert done and done[0]["failed"] == 0, done
    assert [marker_of(t.description) for t in kimai_state.timesheets.values()] == [log.rsplit("/", 1)[1]]

    from prefect import get_client

    with get_client(sync_client=True) as client:  # made by the first run, released by the last
        limit = client.read_global_concurrency_limit_by_name(LIMIT)
    assert limit.limit == 1 and limit.active_slots == 0


@pytest.mark.usefixtures("env")
def test_a_period_sync_and_a_delta_racing_for_one_new_work_log_make_one_timesheet(kimai_state, oxigraph):
    """Kimai allows overlaps (its default), and every Kimai read takes a second, so each run reads
    while the other does: without the exclusion both see no timesheet and both create one."""
    from flows.worklog_period import sync_work_log_period

    log = one_new_work_log(kimai_state, oxigraph)
    run_delta("http://example.org/not-a-work-log")  # warm: the delta's reads start at once below
    kimai_state.requests.clear()
    kimai_state.faults = Faults(latency=1.0, methods={"GET"})
    results: list = []
    period = threading.Thread(target=lambda: results.append(
        sync_work_log_period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))))
    delta = threading.Thread(target=lambda: results.append(run_delta(log)))
    period.start()
    deadline = time.monotonic() + 60
    while not kimai_state.requests and time.monotonic() < deadline:  # the period sync has begun reading
        time.sleep(0.01)
    delta.start()
    period.join(120)
    delta.join(120)
    kimai_state.faults = Faults()
    assert len(results) == 2 and all(r["failed"] == 0 for r in results), results
    sheets = list(kimai_state.timesheets.values())
    assert [marker_of(t.description) for t in sheets] == [log.rsplit("/", 1)[1]], sheets
    assert len(posts(kimai_state)) == 1
