"""`kimai-sync serve` started again after it was killed puts right the runs it left under way.

A delta run the runner was executing when serve died (SIGKILL) stays Running in Prefect: its
work would be lost, and it would hold the delta deployment's concurrency slot for the rest of
the engine's 300 s lease. On the next start it is scheduled again and runs to completion at once.
"""

from __future__ import annotations

import signal
import time

import pytest

from emulators.kimai2.state import Faults
from kimaisync.marker import marker_of
from kimaisync.triplestores import free_port
from test_serve_durability import Serve, serve_env, wait_until
from worklog_helpers import one_new_work_log

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_run_under_way_when_serve_was_killed_runs_again_without_waiting_for_its_slot(
        kimai_state, kimai, oxigraph, tmp_path):
    from prefect import get_client
    from prefect.states import Scheduled

    log = one_new_work_log(kimai_state, oxigraph)
    log_file = tmp_path / "serve.log"
    serve = Serve(serve_env(kimai, oxigraph, tmp_path), free_port(), log_file)
    try:
        serve.start()
        kimai_state.faults = Faults(latency=5.0, methods={"GET"})  # the run stays under way for a while
        with get_client(sync_client=True) as client:
            dep = client.read_deployment_by_name("work-log-delta-sync/delta")
            run = client.create_flow_run_from_deployment(dep.id, parameters={"work_logs": [log]},
                                                         state=Scheduled())  # due now: the runner takes it
            wait_until(lambda: client.read_flow_run(run.id).state.is_running(), 60, "the runner to start the run",
                       log_file)
            serve.kill()
            kimai_state.faults = Faults()
            assert not kimai_state.timesheets and client.read_flow_run(run.id).state.is_running()

            restarted = time.monotonic()
            serve.start()
            wait_until(lambda: client.read_flow_run(run.id).state.is_final(), 90, "the interrupted run to run again",
                       log_file)
            took = time.monotonic() - restarted
            final = client.read_flow_run(run.id)
            history = [s.name for s in client.read_flow_run_states(run.id)]
    finally:
        serve.kill(signal.SIGTERM)
    assert final.state.is_completed(), (final.state, log_file.read_text()[-3000:])
    assert "AwaitingRetry" in history, history  # scheduled again by serve, not started afresh elsewhere
    assert took < 90  # not held up by the dead run's 300 s lease on the deployment's slot
    assert "scheduled again" in log_file.read_text()
    assert [marker_of(t.description) for t in kimai_state.timesheets.values()] == [log.rsplit("/", 1)[1]]
