"""A period sync (the fallback's, which serve's runner executes in a process of its own) and a delta
run (executed in the receiver's process) at the same time, for one new work log: without the
machine's writer lock (kimaisync.writer_lock) both read the work log before either has written
its timesheet, and both create one."""

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
