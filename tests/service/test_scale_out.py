"""Scale-out on a real engine, as docs/scale-out.md describes it: PostgreSQL, a Prefect server on
it, `prefect deploy --all` from a clone, two process workers and the receiver, each with a Prefect
home of its own (so, as far as the machine's file lock can tell, on machines of their own) and the
work-log writer lock in PostgreSQL (WRITER_LOCK_DATABASE_URL); runs go through the workers. The
server asks for a login (PREFECT_SERVER_API_AUTH_STRING): an unauthenticated request is refused,
and the deploy, the workers and the receiver work with PREFECT_API_AUTH_STRING.

Slow (about a minute): deselect with `-m "not scale_out"`. Skips with a one-line reason where
PostgreSQL 15 is not installed.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from emulators.kimai2.state import Faults
from kimaisync.fixtures import TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.triplestores import free_port
from scale_out_helpers import (
    VENV_BIN,
    PostgresCluster,
    Processes,
    copy_clone,
    postgres_unavailable,
    prefect_env,
    wait_healthy,
)

pytestmark = pytest.mark.scale_out

REPO = Path(__file__).resolve().parents[2]
POOL = "kimai-sync"
# The server asks for a login; the deploy CLI, the workers and the receiver send it from
# PREFECT_API_AUTH_STRING, the test's own API calls with API_AUTH.
AUTH_STRING = "operator:scale-out-Secret-42"
API_AUTH = httpx.BasicAuth(*AUTH_STRING.split(":", 1))
D = dt.date(2025, 3, 12)


@pytest.fixture
def engine(kimai, oxigraph):
    """PostgreSQL + Prefect server + deployments from a clone + two workers; yields (api_url, procs)."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

    root = Path(tempfile.mkdtemp(prefix="kimaisync-scale-out-"))
    cluster = PostgresCluster(root / "pg")
    procs = Processes(root)
    try:
        cluster.start()
        api = f"http://127.0.0.1:{free_port()}/api"
        server_env = prefect_env(os.environ, root / "server-home",
                                 PREFECT_SERVER_DATABASE_CONNECTION_URL=cluster.url,
                                 PREFECT_UI_ENABLED="false", PREFECT_SERVER_API_AUTH_STRING=AUTH_STRING,
                                 PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="1")
        server = procs.start("server", [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                        "--port", api.split(":")[2].split("/")[0]], env=server_env, cwd=root)
        wait_healthy(api, server, procs, "server")
        assert httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).status_code == 401

        clone = copy_clone(REPO, root / "clone")
        # PWD as a shell in the clone has it (prefect.yaml may point the workers' pull step at $PWD)
        cli_env = prefect_env(os.environ, root / "cli-home", api, FALLBACK_SYNC_CRON="0 0 */2 * * *", PWD=str(clone),
                              PREFECT_API_AUTH_STRING=AUTH_STRING)
        for args in (["work-pool", "create", POOL, "--type", "process"], ["--no-prompt", "deploy", "--all"]):
            done = subprocess.run([str(VENV_BIN / "prefect"), *args], env=cli_env, cwd=clone, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

        sync = {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
                "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH, "TIMEZONE": "Europe/Brussels",
                "WRITER_LOCK_DATABASE_URL": cluster.url,  # Prefect's own database will do
                "PREFECT_API_AUTH_STRING": AUTH_STRING}
        for n in (1, 2):
            env = prefect_env(os.environ, root / f"worker{n}-home", api, PREFECT_WORKER_QUERY_SECONDS="1",
                              PWD=str(clone), **sync)
            procs.start(f"worker{n}", [str(VENV_BIN / "prefect"), "worker", "start", "--pool", POOL,
                                       "--name", f"worker{n}"], env=env, cwd=clone)
        port = free_port()
        receiver = procs.start("receiver", [str(VENV_BIN / "python"), "-m", "deployments.receiver_only",
                                            "--port", str(port)],
                               env=prefect_env(os.environ, root / "receiver-home", api, PWD=str(clone), **sync),
                               cwd=clone)
        wait_listening(f"http://127.0.0.1:{port}", receiver, procs)
        yield api, procs, f"http://127.0.0.1:{port}"
    finally:
        procs.stop_all()
        cluster.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


def wait_listening(url: str, proc, procs: Processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited with {proc.returncode}:\n{procs.log_of('receiver')}")
        try:
            httpx.get(url + "/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"receiver not listening within {timeout:.0f}s:\n{procs.log_of('receiver')}")


def delta_body(log: str, duration: str) -> list:
    """What the delta-notifier posts when a work log's duration is written."""
    return [{"inserts": [{"subject": {"type": "uri", "value": log},
                          "predicate": {"type": "uri", "value": "http://www.w3.org/2002/12/cal/ical#duration"},
                          "object": {"type": "literal", "value": duration}}], "deletes": []}]


def create_run(api: str, deployment: str, parameters: dict) -> str:
    dep = httpx.get(f"{api}/deployments/name/{deployment}", auth=API_AUTH, timeout=10)
    dep.raise_for_status()
    run = httpx.post(f"{api}/deployments/{dep.json()['id']}/create_flow_run", json={"parameters": parameters},
                     auth=API_AUTH, timeout=10)
    run.raise_for_status()
    return run.json()["id"]


def wait_final(api: str, run_ids: list[str], procs: Processes, timeout: float = 180) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    runs: dict[str, dict] = {}
    while time.monotonic() < deadline:
        runs = {i: httpx.get(f"{api}/flow_runs/{i}", auth=API_AUTH, timeout=10).json() for i in run_ids}
        if all(r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for r in runs.values()):
            return runs
        time.sleep(0.5)
    states = {i: r["state"]["name"] for i, r in runs.items()}
    raise AssertionError(f"runs not finished in {timeout:.0f}s: {states}\n{procs.log_of('worker1')}\n"
                         f"{procs.log_of('worker2')}")


def test_workers_on_postgres_run_the_deployed_flows(engine, kimai_state, oxigraph):
    api, procs, receiver = engine
    lotte = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    proj = kimai_state.add_project("Publicatieplatform", kimai_state.add_customer("Havenbedrijf").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    activity = tk.activity(act.id, tk.project(proj.id, "Publicatieplatform"), "General")
    person = tk.person("Lotte Verhaegen", lotte.id)
    period_logs = [tk.work_log(person, activity, D + dt.timedelta(days=i), "PT2H") for i in range(3)]
    new_log = tk.work_log(person, activity, dt.date(2025, 5, 6), "PT1H30M")
    posted_log = tk.work_log(person, activity, dt.date(2025, 5, 7), "PT3H")
    tk.load(oxigraph.client())

    # The period flow through a worker, and two delta runs racing for one new work log: the delta
    # deployment's concurrency limit (1) runs them one after the other, whichever worker has them.
    runs = [create_run(api, "work-log-period-sync/period", {"start": "2025-03-01", "end": "2025-03-31"}),
            create_run(api, "work-log-delta-sync/delta", {"work_logs": [new_log]}),
            create_run(api, "work-log-delta-sync/delta", {"work_logs": [new_log]})]
    # The receiver, pointed at the same server: a delta becomes a run of the delta deployment.
    assert httpx.post(receiver + "/delta", json=delta_body(posted_log, "PT3H"), timeout=30).status_code == 204
    final = wait_final(api, runs, procs)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(marker_of(t.description) == posted_log.rsplit("/", 1)[1]
                                                  for t in list(kimai_state.timesheets.values())):
        time.sleep(0.2)
    recorded = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}, auth=API_AUTH, timeout=10).json()
    by_receiver = [r for r in recorded if r["parameters"].get("work_logs") == [posted_log]]
    assert len(by_receiver) == 1, procs.log_of("receiver")
    final.update(wait_final(api, [by_receiver[0]["id"]], procs))

    assert {r["state"]["type"] for r in final.values()} == {"COMPLETED"}, \
        {i: r["state"] for i, r in final.items()}
    assert all(final[i]["work_pool_name"] == POOL for i in runs)  # those three went through the workers
    per_log = Counter(marker_of(t.description) for t in kimai_state.timesheets.values())
    wanted = {log.rsplit("/", 1)[1] for log in period_logs + [new_log, posted_log]}
    assert set(per_log) == wanted and set(per_log.values()) == {1}  # one timesheet each, no duplicate
    creates = [r for r in kimai_state.requests if r.method == "POST" and r.path == "/api/timesheets"]
    assert len(creates) == 5

    # A period run on a worker and a delta the receiver executes, racing for one new work log, every
    # Kimai read taking a second so that each reads while the other does: the writer lock in
    # PostgreSQL keeps them apart, so the second finds the first's timesheet instead of creating one.
    raced = tk.work_log(person, activity, D + dt.timedelta(days=7), "PT1H")
    tk.load(oxigraph.client())
    kimai_state.requests.clear()
    kimai_state.faults = Faults(latency=1.0, methods={"GET"})
    period = create_run(api, "work-log-period-sync/period", {"start": "2025-03-01", "end": "2025-03-31"})
    deadline = time.monotonic() + 60
    while not kimai_state.requests and time.monotonic() < deadline:  # a worker has begun the period run
        time.sleep(0.02)
    assert kimai_state.requests, f"the period run did not start reading:\n{procs.log_of('worker1')}"
    assert httpx.post(receiver + "/delta", json=delta_body(raced, "PT1H"), timeout=30).status_code == 204
    final = wait_final(api, [period], procs)

    def delta_runs() -> list[dict]:  # the run the receiver executes (and its placeholder, until it is done)
        return [r for r in httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}, auth=API_AUTH, timeout=10).json()
                if r["parameters"].get("work_logs") == [raced]]

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not ((runs := delta_runs()) and all(
            r["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for r in runs)):
        time.sleep(0.2)
    assert len(runs) == 1, (runs, procs.log_of("receiver"))
    final[runs[0]["id"]] = runs[0]
    kimai_state.faults = Faults()
    assert {r["state"]["type"] for r in final.values()} == {"COMPLETED"}, {i: r["state"] for i, r in final.items()}
    per_log = Counter(marker_of(t.description) for t in kimai_state.timesheets.values())
    assert per_log[raced.rsplit("/", 1)[1]] == 1 and set(per_log.values()) == {1}, per_log
