"""An accepted delta survives the death of `kimai-sync serve`: SIGKILL after the 204 and before the
run executed, start serve again, and the recorded run executes (about a minute: two serve starts
and the grace time a recorded run waits for its receiver)."""

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

from kimai_emulator.state import Faults
from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.triplestores import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")

CAL = "http://www.w3.org/2002/12/cal/ical#"
KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")


def delta_body(log: str) -> list:
    triple = {"subject": {"type": "uri", "value": log}, "predicate": {"type": "uri", "value": CAL + "duration"},
              "object": {"type": "literal", "value": "PT2H"}}
    return [{"inserts": [triple], "deletes": []}]


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

    from conftest import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
               TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, PREFECT_API_URL=PREFECT_API_URL.value(),
               PREFECT_HOME=tempfile.mkdtemp(prefix="kimaisync-serve-home-", dir=tmp_path),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="1")
    return env


def test_a_delta_accepted_before_a_crash_is_synced_after_the_restart(kimai_state, kimai, oxigraph, tmp_path):
    user = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    log = tk.work_log(tk.person("Lotte", user.id), tk.activity(act.id, tk.project(proj.id, "P"), "General"),
                      dt.date(2025, 3, 12), "PT2H")
    tk.load(oxigraph.client())

    serve = Serve(serve_env(kimai, oxigraph, tmp_path), free_port(), tmp_path / "serve.log")
    try:
        serve.start()
        # Keep the run queue busy with a slow run (every Kimai read takes 5 s), so the delta that
        # follows is recorded and answered but not yet executed when serve dies.
        kimai_state.faults = Faults(latency=5.0, methods={"GET"})
        assert httpx.put(serve.url + "/kimai-timesheets/999", timeout=10).status_code == 204
        time.sleep(1)
        assert httpx.post(serve.url + "/delta", json=delta_body(log), timeout=10).status_code == 204
        serve.kill()
        kimai_state.faults = Faults()
        assert not kimai_state.timesheets  # nothing reached Kimai before the crash

        serve.start()  # the recorded run is picked up when its grace time is over
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not kimai_state.timesheets:
            time.sleep(0.25)
        time.sleep(1)  # a second, duplicate execution would show up by now
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


@pytest.mark.parametrize("route", ["/sync-to-kimai/work-logs", "/delta"])
def test_serve_killed_in_the_middle_of_a_sync_leaves_no_duplicate_and_nothing_missing(
        kimai_state, kimai, oxigraph, tmp_path, route):
    """SIGKILL while the writes of a period sync (or of a delta naming many work logs) are under way,
    some timesheets in Kimai and their ids partly recorded; start serve again and send the same
    request: one timesheet per work log, each work log's id pointing at its own, nothing else."""
    from kimaisync.fixtures import TIMESHEET_GRAPH

    kimai_state.config.allow_overlapping = False
    users = [kimai_state.add_user(f"person{i}", timezone="Europe/Brussels") for i in range(4)]
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    task = tk.activity(act.id, tk.project(proj.id, "P"), "General")
    people = [tk.person(f"Person {i}", u.id) for i, u in enumerate(users)]
    logs = [tk.work_log(people[i % 4], task, dt.date(2025, 3, 3) + dt.timedelta(days=i // 8), "PT1H")
            for i in range(160)]
    tk.load(oxigraph.client())
    log_file = tmp_path / "serve.log"
    serve = Serve(serve_env(kimai, oxigraph, tmp_path), free_port(), log_file)
    body = {"start": "2025-03-01", "end": "2025-03-31"} if route != "/delta" else [
        {"inserts": [{"subject": {"type": "uri", "value": log}, "predicate": {"type": "uri", "value": CAL + "duration"},
                      "object": {"type": "literal", "value": "PT1H"}} for log in logs], "deletes": []}]
    accepted = 204 if route == "/delta" else 202
    try:
        serve.start()
        kimai_state.faults = Faults(latency=0.1, methods={"POST"})  # about 80 creates a second at 8 in flight
        assert httpx.post(serve.url + route, json=body, timeout=30).status_code == accepted
        wait_until(lambda: len(kimai_state.timesheets) >= 40, 90, "the first timesheets", log_file)
        serve.kill()
        kimai_state.faults = Faults()
        written = len(kimai_state.timesheets)
        assert written < len(logs)  # the kill did land in the middle

        serve.start()
        assert httpx.post(serve.url + route, json=body, timeout=30).status_code == accepted

        def ids():
            rows = oxigraph.client().select(
                f"SELECT ?log ?kid WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ ?log dct:identifier ?kid }} }}")
            return {r["log"]: r["kid"] for r in rows}
        wait_until(lambda: len(kimai_state.timesheets) >= len(logs) and len(ids()) == len(logs), 120,
                   "the next run to finish", log_file)
        time.sleep(1)  # a duplicate from a second, racing run would show by now
    finally:
        serve.kill(signal.SIGTERM)
    by_log = {}
    for t in kimai_state.timesheets.values():
        by_log.setdefault(marker_of(t.description), []).append(t.id)
    assert set(by_log) == {log.rsplit("/", 1)[1] for log in logs}, "a timesheet without its work log, or one missing"
    assert all(len(ids_) == 1 for ids_ in by_log.values()), {k: v for k, v in by_log.items() if len(v) > 1}
    stored = ids()
    assert all(stored[log] == str(by_log[log.rsplit("/", 1)[1]][0]) for log in logs)
