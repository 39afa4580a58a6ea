"""A period sync (the fallback's, which serve's runner executes in a process of its own) or a
timesheet lock (which creates what is missing before it locks), and a delta run (executed in the
receiver's process) at the same time, for one new work log: without the work-log writer lock
(tasks.writer) both read the work log before either has written its timesheet, and both create one. Run with each lock: the machine's (a file lock), and the one
across machines (WRITER_LOCK_DATABASE_URL: a PostgreSQL advisory lock, then the only one taken)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import pytest

from emulators.kimai2.state import Faults
from kimaisync.marker import marker_of
from worklog_helpers import one_new_work_log

pytestmark = pytest.mark.usefixtures("prefect_server")


def run_delta(log: str) -> dict:
    from flows.worklog_delta import sync_work_log_changes

    return asyncio.run(sync_work_log_changes([log]))


def posts(kimai_state) -> list:
    return [r for r in kimai_state.requests if r.method == "POST" and r.path == "/api/timesheets"]


@pytest.fixture(params=["machine", "postgresql"])
def lock(request, monkeypatch, sync_env):
    """Which work-log writer lock the runs take."""
    if request.param == "postgresql":
        monkeypatch.setenv("WRITER_LOCK_DATABASE_URL", request.getfixturevalue("postgres").url)
    else:
        monkeypatch.delenv("WRITER_LOCK_DATABASE_URL", raising=False)
    return request.param


def period_sync() -> dict:
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def timesheet_lock() -> dict:
    from flows.timesheet_lock import lock_timesheets

    return lock_timesheets(3, 2025)


@pytest.mark.parametrize("other_run", [period_sync, timesheet_lock], ids=["period", "timesheet-lock"])
def test_a_run_of_the_month_and_a_delta_racing_for_one_new_work_log_make_one_timesheet(kimai_state, store, lock,
                                                                                        other_run):
    """Kimai allows overlaps (its default), and every Kimai read takes two seconds, so each run reads
    while the other does: without the exclusion both see no timesheet and both create one."""
    log = one_new_work_log(kimai_state, store, submitted=True)
    run_delta("http://example.org/not-a-work-log")  # warm: the delta's reads start at once below
    kimai_state.requests.clear()
    kimai_state.faults = Faults(latency=2.0, methods={"GET"})
    results: list = []
    month_run = threading.Thread(target=lambda: results.append(other_run()))
    delta = threading.Thread(target=lambda: results.append(run_delta(log)))
    month_run.start()
    deadline = time.monotonic() + 60
    while not kimai_state.faults.matched and time.monotonic() < deadline:  # its first Kimai read has arrived
        time.sleep(0.01)
    delta.start()  # its reads end after the month run's have begun, and begin before its first write
    month_run.join(120)
    delta.join(120)
    kimai_state.faults = Faults()
    assert len(results) == 2 and all(r["failed"] == 0 for r in results), results
    sheets = list(kimai_state.timesheets.values())
    assert [marker_of(t.description) for t in sheets] == [log.rsplit("/", 1)[1]], sheets
    assert len(posts(kimai_state)) == 1
