"""Benchmark: push N work logs to Kimai with the period flow, then a no-op rerun.

Prints, measured in one run on this machine: the push time, the Kimai request floor
(requests × latency ÷ concurrency) and their ratio, the no-op rerun time, the SPARQL round
trips and the peak resident memory. The Kimai emulator runs in its own process with a fixed
latency per /api/timesheets request; Oxigraph runs in memory. Not a test: it asserts nothing.

    .venv/bin/python bench/period_push.py --work-logs 10000 --latency 0.02 --concurrency 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "bench-token-0123456789abcdef"


def kimai_seed(people: int, projects: int, activities_per_project: int) -> dict:
    users = [{"id": 1, "username": "sync-bot", "roles": ["ROLE_SUPER_ADMIN"], "api_token": TOKEN,
              "timezone": "Europe/Brussels"}]
    users += [{"id": 100 + i, "username": f"person{i}", "timezone": "Europe/Brussels"} for i in range(people)]
    acts, aid = [], 1
    for p in range(1, projects + 1):
        for _ in range(activities_per_project):
            acts.append({"id": aid, "name": f"Activity {aid}", "project": p})
            aid += 1
    return {"config": {"allow_overlapping": False}, "users": users,
            "customers": [{"id": 1, "name": "Customer"}],
            "projects": [{"id": p, "name": f"Project {p}", "customer": 1} for p in range(1, projects + 1)],
            "activities": acts}


def start_emulator(seed_file: str, latency: float, log: Path) -> tuple[subprocess.Popen, str]:
    """The emulator in its own process (its own interpreter lock), logging to a file."""
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "kimai_emulator", "--seed", seed_file, "--latency", str(latency)],
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    for _ in range(300):
        text = log.read_text()
        if "listening on" in text:
            return proc, text.split("listening on", 1)[1].split()[0]
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited:\n{text}")
        time.sleep(0.05)
    raise RuntimeError("the emulator did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per Kimai timesheet request")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    from kimaisync.fixtures import TimekeeperData
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    projects, per_project = 10, 4
    start = dt.date(2025, 3, 1)
    days = 61
    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed = Path(tmp) / "kimai.json"
        seed.write_text(json.dumps(kimai_seed(args.people, projects, per_project)))
        emu, url = start_emulator(str(seed), args.latency, Path(tmp) / "emulator.log")
        try:
            tk = TimekeeperData()
            tasks = []
            for p in range(1, projects + 1):
                proj = tk.project(p, f"Project {p}")
                tasks += [tk.activity((p - 1) * per_project + a + 1, proj, f"Activity {a}") for a in range(per_project)]
            people = [tk.person(f"Person {i}", 100 + i) for i in range(args.people)]
            durations = ["PT1H", "PT2H30M", "PT45M", "PT3H", "PT4H15M"]
            for i in range(args.work_logs):
                tk.work_log(people[i % args.people], tasks[i % len(tasks)],
                            start + dt.timedelta(days=(i // args.people) % days), durations[i % len(durations)])
            tk.load(SparqlClient(ox.query_url, ox.update_url))

            os.environ.update(API_TOKEN=TOKEN, KIMAI_ENDPOINT=url, MU_SPARQL_ENDPOINT=ox.query_url,
                              MU_SPARQL_UPDATE_ENDPOINT=ox.update_url, KIMAI_GRAPH="http://mu.semte.ch/graphs/kimai",
                              TIMEKEEPER_GRAPH="http://mu.semte.ch/graphs/redpencil",
                              KIMAI_CONCURRENCY=str(args.concurrency), PREFECT_LOGGING_LEVEL="WARNING",
                              PREFECT_SERVER_ANALYTICS_ENABLED="false")
            from prefect.testing.utilities import prefect_test_harness

            from flows.worklog_period import sync_work_log_period

            with prefect_test_harness(server_startup_timeout=90):
                end = start + dt.timedelta(days=days - 1)
                t0 = time.perf_counter()
                first = sync_work_log_period(start=start, end=end)
                push = time.perf_counter() - t0
                t0 = time.perf_counter()
                again = sync_work_log_period(start=start, end=end)
                rerun = time.perf_counter() - t0
        finally:
            emu.terminate()
            emu.wait(timeout=10)

    requests = first["stats"]["kimai_requests"]
    floor = requests * args.latency / args.concurrency
    print(f"work logs: {args.work_logs}, people: {args.people}, Kimai latency {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}")
    print(f"push: {push:.1f} s, created {first['counts']['created']}, failed {first['counts']['failed']}")
    print(f"Kimai requests: {requests} (retries {first['stats']['kimai_retries']}); floor "
          f"{requests} x {args.latency:.3f} s / {args.concurrency} = {floor:.1f} s; push/floor = {push / floor:.2f}")
    print(f"no-op rerun: {rerun:.2f} s, Kimai writes "
          f"{again['counts']['created'] + again['counts']['updated'] + again['counts']['deleted']}, "
          f"unchanged {again['counts']['unchanged']}, Kimai requests {again['stats']['kimai_requests']}")
    print(f"SPARQL round trips: push {first['stats']['sparql_round_trips']}, rerun {again['stats']['sparql_round_trips']}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
