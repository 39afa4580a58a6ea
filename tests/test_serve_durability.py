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


def test_a_delta_accepted_before_a_crash_is_synced_after_the_restart(kimai_state, kimai, oxigraph, tmp_path):
    from prefect.settings import PREFECT_API_URL

    from conftest import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    user = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    log = tk.work_log(tk.person("Lotte", user.id), tk.activity(act.id, tk.project(proj.id, "P"), "General"),
                      dt.date(2025, 3, 12), "PT2H")
    tk.load(oxigraph.client())

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
               TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, PREFECT_API_URL=PREFECT_API_URL.value(),
               PREFECT_HOME=tempfile.mkdtemp(prefix="kimaisync-serve-home-", dir=tmp_path),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="1")
    serve = Serve(env, free_port(), tmp_path / "serve.log")
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
