"""Accepted work survives the death of `kimai-sync serve` (SIGKILL of its process group).

- A delta killed after its 204 and before its run executed: serve started again runs the recorded
  run when it comes due (about a minute: two serve starts and the grace time a recorded run waits
  for its receiver).
- A period sync, and a delta naming many work logs, killed in the middle of their Kimai writes
  (some timesheets in Kimai with their ids in the store, some in Kimai only, some not yet
  written): after serve is started again the recorded run executes, and every work log has
  exactly one timesheet, its id pointing at it, and nothing else is in Kimai.
- A run executing (or queued) for longer than the grace time is not started a second time:
  the receiver renews its recorded run's lease.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from emulators.kimai2.state import Faults
from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.triplestores import free_port
from tasks.worklogs import APPLY_BATCH  # creations are applied, and their ids recorded, this many at a time
from worklog_helpers import one_new_work_log

pytestmark = pytest.mark.usefixtures("prefect_server")

CAL = "http://www.w3.org/2002/12/cal/ical#"
KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")


def delta_body(*logs: str, duration: str = "PT2H") -> list:
    """A delta-notifier body saying these work logs' duration changed."""
    triples = [{"subject": {"type": "uri", "value": log}, "predicate": {"type": "uri", "value": CAL + "duration"},
                "object": {"type": "literal", "value": duration}} for log in logs]
    return [{"inserts": triples, "deletes": []}]


class Serve:
    """`kimai-sync serve` in its own session, so SIGKILL takes its run subprocesses with it."""

    def __init__(self, env: dict, port: int, log: Path):
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Serve":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([KIMAI_SYNC, "serve", "--port", str(self.port)], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                httpx.get(self.url + "/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("serve did not listen in 90 s:\n" + self.log.read_text()[-3000:])

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def serve_env(kimai, oxigraph, tmp_path) -> dict:
    """`kimai-sync serve`'s environment: the emulator, Oxigraph, the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL

    from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
               TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, PREFECT_API_URL=PREFECT_API_URL.value(),
               PREFECT_HOME=tempfile.mkdtemp(prefix="kimaisync-serve-home-", dir=tmp_path),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="1")
    return env


def test_a_delta_accepted_before_a_crash_is_synced_after_the_restart(kimai_state, kimai, oxigraph, tmp_path):
    log = one_new_work_log(kimai_state, oxigraph)

    serve = Serve(serve_env(kimai, oxigraph, tmp_path), free_port(), tmp_path / "serve.log")
    try:
        serve.start()
        since = dt.datetime.now(dt.timezone.utc)
        # Keep the run queue busy with a slow run (every Kimai read takes 5 s), so the delta that
        # follows is recorded and answered but not yet executed when serve dies.
        kimai_state.faults = Faults(latency=5.0, methods={"GET"})
        assert httpx.put(serve.url + "/kimai-timesheets/999", timeout=10).status_code == 204
        wait_until(lambda: kimai_state.faults.matched, 60, "the slow run's first Kimai read", serve.log)
        assert httpx.post(serve.url + "/delta", json=delta_body(log), timeout=10).status_code == 204
        serve.kill()
        kimai_state.faults = Faults()
        assert not kimai_state.timesheets  # nothing reached Kimai before the crash

        serve.start()  # the recorded run is picked up when its grace time is over
        wait_until(lambda: kimai_state.timesheets and not active_runs(list(DEPLOYMENTS.values())
                                                                       + ["kimai-orphan-timesheet/orphan"], since),
                   120, "the recorded runs to execute and settle (none left that could run again)", serve.log)
    finally:
        serve.kill(signal.SIGTERM)
    sheets = list(kimai_state.timesheets.values())
    assert [marker_of(t.description) for t in sheets] == [log.rsplit("/", 1)[1]], \
        (tmp_path / "serve.log").read_text()[-3000:]


def wait_until(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n" + log.read_text()[-3000:])


PERIOD_ROUTE = "/sync-to-kimai/work-logs"
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}
DEPLOYMENTS = {PERIOD_ROUTE: "work-log-period-sync/period", "/delta": "work-log-delta-sync/delta"}


def seed_work_logs(kimai_state, oxigraph, n: int, people: int = 4) -> list[str]:
    """`n` one-hour work logs of `people` people in the store, eight a day each from 3 March."""
    users = [kimai_state.add_user(f"person{i}", timezone="Europe/Brussels") for i in range(people)]
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    task = tk.activity(act.id, tk.project(proj.id, "P"), "General")
    persons = [tk.person(f"Person {i}", u.id) for i, u in enumerate(users)]
    logs = [tk.work_log(persons[i % people], task, dt.date(2025, 3, 3) + dt.timedelta(days=i // (8 * people)), "PT1H")
            for i in range(n)]
    tk.load(oxigraph.client())
    return logs


def request_for(route: str, logs: list[str]) -> tuple[object, int]:
    """The body that syncs these work logs through `route`, and the status that accepts it."""
    return (MARCH, 202) if route == PERIOD_ROUTE else (delta_body(*logs, duration="PT1H"), 204)


def stored_ids(oxigraph, logs: list[str]) -> dict[str, list[str]]:
    """Each of these work logs' dct:identifier values, in any graph."""
    rows = oxigraph.client().select("SELECT ?log ?kid WHERE { GRAPH ?g { ?log dct:identifier ?kid } }")
    wanted, out = set(logs), {}
    for r in rows:
        if r["log"] in wanted:
            out.setdefault(r["log"], []).append(r["kid"])
    return out


def timesheets_by_marker(kimai_state) -> dict:
    """Work-log uuid (None: no marker) -> the ids of the Kimai timesheets carrying its marker."""
    out: dict = {}
    for t in list(kimai_state.timesheets.values()):
        out.setdefault(marker_of(t.description), []).append(t.id)
    return out


def recorded_runs(deployment: str, since: dt.datetime) -> list:
    """The runs of `deployment` recorded since `since` that are still waiting (Scheduled)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[dep.id]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200)
    return [r for r in runs if r.created >= since]


def active_runs(deployments: list[str], since: dt.datetime) -> list:
    """Runs of these deployments created since `since` that may still execute (not in a final state):
    with none left, no copy of the work can come any more."""
    from prefect import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    waiting = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]
    with get_client(sync_client=True) as client:
        ids = [client.read_deployment_by_name(d).id for d in deployments]
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=ids),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=waiting))),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=200)
    return [r for r in runs if r.created >= since]


def due_now(runs: list) -> None:
    """Bring recorded runs forward to now, as if their grace time were over (serve's runner takes them)."""
    from prefect import get_client
    from prefect.states import Scheduled

    with get_client(sync_client=True) as client:
        for r in runs:
            client.set_flow_run_state(r.id, Scheduled(scheduled_time=dt.datetime.now(dt.timezone.utc)), force=True)


def run_state(run_id):
    """The run's state now, None once the run was deleted."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_flow_run(run_id).state
        except ObjectNotFound:
            return None


def assert_one_timesheet_per_work_log(kimai_state, oxigraph, logs: list[str], log_file: Path) -> None:
    """Each work log: one timesheet with its marker and one dct:identifier naming it; nothing else in Kimai."""
    by_marker, ids = timesheets_by_marker(kimai_state), stored_ids(oxigraph, logs)
    tail = log_file.read_text()[-3000:]
    uuids = {log.rsplit("/", 1)[1]: log for log in logs}
    assert set(by_marker) - set(uuids) == set(), f"timesheets without a work log of theirs:\n{tail}"
    assert set(uuids) - set(by_marker) == set(), f"work logs without a timesheet:\n{tail}"
    duplicated = {u: t for u, t in by_marker.items() if len(t) > 1}
    assert not duplicated, f"{len(duplicated)} work logs with more than one timesheet, e.g. " \
                           f"{dict(list(duplicated.items())[:3])}:\n{tail}"
    wrong = {log: ids.get(log) for u, log in uuids.items() if ids.get(log) != [str(by_marker[u][0])]}
    assert not wrong, f"{len(wrong)} work logs whose dct:identifier is not their timesheet's id, e.g. " \
                      f"{dict(list(wrong.items())[:3])}:\n{tail}"


@pytest.mark.parametrize("route", [PERIOD_ROUTE, "/delta"])
def test_serve_killed_in_the_middle_of_a_sync_leaves_no_duplicate_and_nothing_missing(
        kimai_state, kimai, oxigraph, tmp_path, route):
    """SIGKILL while the Kimai writes of a period sync (or of a delta naming 600 work logs) are under
    way: the first 500 timesheets created and their ids recorded, a few of the next 100 created but
    not recorded (their replies held back), the rest not written. Start serve again; the run
    recorded when the request was accepted executes (brought forward from its grace time): one
    timesheet per work log, each work log's id pointing at its own, nothing else."""
    kimai_state.config.allow_overlapping = False
    logs = seed_work_logs(kimai_state, oxigraph, APPLY_BATCH + 100)
    body, accepted = request_for(route, logs)
    log_file = tmp_path / "serve.log"
    serve = Serve(serve_env(kimai, oxigraph, tmp_path), free_port(), log_file)
    try:
        serve.start()
        since = dt.datetime.now(dt.timezone.utc)
        # the first batch and a few more are written at once, the rest crawl (8 at a time, 1 s each), so
        # the kill lands among them however late this test's thread gets to look
        kimai_state.faults = Faults(latency=1.0, methods={"POST"}, after=APPLY_BATCH + 5)
        assert httpx.post(serve.url + route, json=body, timeout=60).status_code == accepted
        wait_until(lambda: len(kimai_state.timesheets) >= APPLY_BATCH + 10 and stored_ids(oxigraph, logs), 120,
                   "the first batch's ids in the store and more writes", log_file)
        serve.kill()
        kimai_state.faults = Faults()
        in_kimai, recorded = len(kimai_state.timesheets), len(stored_ids(oxigraph, logs))
        assert 0 < recorded < in_kimai < len(logs), (recorded, in_kimai)  # the kill did land in the middle
        runs = recorded_runs(DEPLOYMENTS[route], since)
        assert len(runs) == 1, runs  # what the answer promised: the run is recorded

        serve.start()
        due_now(runs)
        wait_until(lambda: (state := run_state(runs[0].id)) is not None and state.is_final(), 120,
                   "the recorded run to run", log_file)
        assert run_state(runs[0].id).is_completed(), run_state(runs[0].id)
        wait_until(lambda: not active_runs([DEPLOYMENTS[route]], since), 60,
                   "no run left that could execute the work a second time", log_file)
    finally:
        serve.kill(signal.SIGTERM)
    assert_one_timesheet_per_work_log(kimai_state, oxigraph, logs, log_file)


GRACE = 20  # RECEIVER_GRACE_SECONDS at its least, so a run outlasts it quickly


def test_a_run_outlasting_its_grace_time_is_not_executed_twice(kimai_state, kimai, oxigraph, tmp_path):
    """A period sync that executes for longer than the grace time (here 20 s, the least allowed, the run
    about 40 s), with a delta queued behind it, and Kimai allowing overlapping records (Kimai's default,
    so a second copy would make duplicates): serve's runner, polling every second, never starts a copy
    of either recorded run, both are deleted once executed, and each work log has one timesheet."""
    logs = seed_work_logs(kimai_state, oxigraph, 400)
    log_file = tmp_path / "serve.log"
    env = serve_env(kimai, oxigraph, tmp_path) | {"RECEIVER_GRACE_SECONDS": str(GRACE)}
    serve = Serve(env, free_port(), log_file)
    try:
        serve.start()
        since = dt.datetime.now(dt.timezone.utc)
        kimai_state.faults = Faults(latency=0.4, methods={"POST"})  # 400 creates, 4 at a time: about 40 s
        started = time.monotonic()
        assert httpx.post(serve.url + PERIOD_ROUTE, json=MARCH, timeout=60).status_code == 202
        assert httpx.post(serve.url + "/delta", json=delta_body(logs[0], duration="PT1H"),
                          timeout=60).status_code == 204
        # Answered once on the journal's disk; in Prefect right after.
        both = lambda: recorded_runs(DEPLOYMENTS[PERIOD_ROUTE], since) + recorded_runs(DEPLOYMENTS["/delta"], since)  # noqa: E731
        wait_until(lambda: len(both()) == 2, 30, "both runs recorded in Prefect", log_file)
        runs = both()
        assert len(runs) == 2, runs
        wait_until(lambda: len(set(timesheets_by_marker(kimai_state))) >= len(logs)
                   and len(stored_ids(oxigraph, logs)) == len(logs)
                   and all(run_state(r.id) is None for r in runs), 240,
                   "the runs to execute and their recorded runs to be deleted", log_file)
        assert time.monotonic() - started > GRACE + 10, "the run did not outlast its grace time: no proof"
        assert not active_runs(list(DEPLOYMENTS.values()), since)  # nothing left that could start a copy
    finally:
        serve.kill(signal.SIGTERM)
    assert_one_timesheet_per_work_log(kimai_state, oxigraph, logs, log_file)
