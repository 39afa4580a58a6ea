"""`kimai-sync serve` stops soon after SIGTERM, even when a delta run has only just ended.

A container runtime sends SIGTERM and kills the process a few seconds later (`docker stop`: 10 s
by default). Right after a run, Prefect's workers in serve's process still hold its last logs and
events; sent at exit to the Prefect server serve had already stopped, they waited out the client's
growing retries and held serve up past any stop timeout. Each round starts
serve (verbose: more log lines in flight) with its own Prefect server, lands a create and then an
edit in Kimai through deltas, and sends SIGTERM the moment the edit is there.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kimaisync.triplestores import free_port
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH
from worklog_helpers import one_new_work_log

KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")
CAL = "http://www.w3.org/2002/12/cal/ical#"
STOP_BOUND = 20.0  # seconds; serve takes about 2 when nothing holds it up


def set_duration(store, work_log: str, duration: str) -> None:
    store.client().update(
        f"DELETE {{ GRAPH ?g {{ <{work_log}> <{CAL}duration> ?d }} }} "
        f"INSERT {{ GRAPH ?g {{ <{work_log}> <{CAL}duration> \"{duration}\" }} }} "
        f"WHERE {{ GRAPH ?g {{ <{work_log}> <{CAL}duration> ?d }} }}")


@pytest.mark.prefect
@pytest.mark.parametrize("round_", range(3))
def test_serve_stops_within_a_bound_right_after_a_delta_landed(kimai_state, kimai, oxigraph, tmp_path, round_):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(API_TOKEN=API_TOKEN, KIMAI_ENDPOINT=kimai.url, MU_SPARQL_ENDPOINT=oxigraph.query_url,
               MU_SPARQL_UPDATE_ENDPOINT=oxigraph.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
               TIMEKEEPER_GRAPH=TIMEKEEPER_GRAPH, TIMEZONE="Europe/Brussels",
               PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    receiver_port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen([KIMAI_SYNC, "-v", "serve", "--port", str(receiver_port)],
                                 env=dict(env, PREFECT_SERVER_API_PORT=str(free_port())), stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    stopped_in = None
    try:
        deadline = time.monotonic() + 300  # a fresh home: Prefect creates its database first
        while "runs in its UI" not in log.read_text(errors="replace"):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        work_log = one_new_work_log(kimai_state, oxigraph, dt.date(2025, 3, 3))
        for hours in (2, 3):  # a create, then an edit: two runs, the last one just ended
            body = [{"inserts": [{"subject": {"type": "uri", "value": work_log},
                                  "predicate": {"type": "uri", "value": CAL + "duration"},
                                  "object": {"type": "literal", "value": f"PT{hours}H"}}], "deletes": []}]
            if hours == 3:
                set_duration(oxigraph, work_log, "PT3H")
            assert httpx.post(f"http://127.0.0.1:{receiver_port}/delta", json=body, timeout=30).status_code == 204
            deadline = time.monotonic() + 60
            while not [t for t in kimai_state.timesheets.values() if t.end - t.begin == dt.timedelta(hours=hours)]:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.02)
        started = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(STOP_BOUND)
            stopped_in = time.monotonic() - started
        except subprocess.TimeoutExpired:
            pass
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(10)
    assert stopped_in is not None, f"serve still running {STOP_BOUND:g} s after SIGTERM:\n" \
        + log.read_text(errors="replace")[-6000:]
    assert serve.returncode == 0, log.read_text(errors="replace")[-3000:]
