"""`kimai-sync to-kimai` as a user runs it: with the stack's Prefect server up, and without one.

Each case gets a fresh world (Oxigraph, the Kimai emulator at --latency per timesheet request,
--work-logs work logs of --people people) and runs the CLI twice as a process: the push, then the
no-op rerun. "Server up": Prefect's server runs (as `kimai-sync serve` runs it) on
PREFECT_SERVER_API_PORT, warmed by one request, and the verb finds it. "No server": nothing answers
there, so the verb starts Prefect's temporary server (same PREFECT_HOME, its database made by the
first case). The flow's own time is read back from the server's API (end - start of the run), so
overhead = wall - flow.

    .venv/bin/python bench/cli_startup.py [--work-logs 1000] [--people 20] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import world  # noqa: E402

KIMAI_SYNC = str(Path(sys.executable).parent / "kimai-sync")


def _settings(env: dict):
    from kimaisync.settings import Settings

    return Settings(api_token=env["API_TOKEN"], kimai_endpoint=env["KIMAI_ENDPOINT"],
                    prefect_server_api_port=int(env["PREFECT_SERVER_API_PORT"]))


def _flow_seconds(api: str, n: int) -> list[float]:
    """Run times of the last n period runs, oldest first."""
    runs = httpx.post(api + "/flow_runs/filter", json={"flows": {"name": {"any_": ["work-log-period-sync"]}},
                                                        "sort": "START_TIME_DESC", "limit": n}, timeout=30).json()
    out = []
    for r in reversed(runs):
        start, end = (dt.datetime.fromisoformat(r[k]) for k in ("start_time", "end_time"))
        out.append((end - start).total_seconds())
    return out


def case(args, home: Path, server_up: bool) -> dict:
    from kimaisync.prefect_server import PrefectServer
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer, free_port

    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed = Path(tmp) / "kimai.json"
        seed.write_text(json.dumps(world.kimai_seed(args.people)))
        emu, url = world.start_emulator(str(seed), args.latency, Path(tmp) / "emulator.log")
        server = None
        try:
            world.seed_timekeeper(SparqlClient(ox.query_url, ox.update_url), args.work_logs, args.people)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
            env.update(API_TOKEN=world.TOKEN, KIMAI_ENDPOINT=url, MU_SPARQL_ENDPOINT=ox.query_url,
                       MU_SPARQL_UPDATE_ENDPOINT=ox.update_url, KIMAI_GRAPH=world.KIMAI_GRAPH,
                       TIMEKEEPER_GRAPH=world.TIMEKEEPER_GRAPH, KIMAI_CONCURRENCY=str(args.concurrency),
                       PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                       PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_API_PORT=str(free_port()))
            if server_up:
                os.environ["PREFECT_HOME"] = str(home)
                server = PrefectServer(_settings(env), home=home).start()
                httpx.post(server.api_url + "/flow_runs/filter", json={"limit": 1}, timeout=30)  # warm
            walls, printed, said, cpu = [], [], [], []
            for _ in range(1 + args.reruns):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                proc = subprocess.Popen([KIMAI_SYNC, "to-kimai", str(world.START), str(world.END)],
                                        env=dict(env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                first = proc.stdout.readline()  # the summary's first line: the flow has returned
                printed.append(time.perf_counter() - t0)
                out, err = proc.communicate(timeout=600)
                walls.append(time.perf_counter() - t0)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                if proc.returncode:
                    raise RuntimeError(f"to-kimai failed ({proc.returncode}):\n{first}{out}\n{err}")
                said.append(first.strip())
                temporary = [line for line in err.splitlines() if "temporary" in line]
            if server is None:  # read the runs back from the home's database
                server = PrefectServer(_settings(env), home=home).start()
            flows = _flow_seconds(server.api_url, 1 + args.reruns)
        finally:
            if server is not None:
                server.stop()
            emu.terminate()
            emu.wait(timeout=10)
    return {"walls": walls, "printed": printed, "flows": flows, "said": said, "temporary": temporary, "cpu": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=1000)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--reruns", type=int, default=3, help="no-op reruns after the push (median and best shown)")
    args = ap.parse_args()
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kimaisync-bench-home-") as home:
        up = case(args, Path(home), server_up=True)
        down = case(args, Path(home), server_up=False)
    print(f"to-kimai of {args.work_logs} work logs ({args.people} people), Kimai at {args.latency * 1000:.0f} ms "
          f"per timesheet request, KIMAI_CONCURRENCY {args.concurrency}; load average {os.getloadavg()[0]:.1f} "
          f"(at the start: {load_at_start:.1f})")
    print(f"{'':<24}{'server up':>34}{'no server (temporary)':>34}")

    def row(label: str, cell) -> None:
        print(f"{label:<24}{cell(up):>34}{cell(down):>34}")

    row("push", lambda c: f"{c['walls'][0]:.1f} s wall, flow {c['flows'][0]:.1f} s")
    row("push overhead", lambda c: f"{c['walls'][0] - c['flows'][0]:.1f} s ({c['printed'][0] - c['flows'][0]:.1f} + "
                                   f"{c['walls'][0] - c['printed'][0]:.1f})")
    row("push CPU of the verb", lambda c: f"{c['cpu'][0]:.1f} s")

    def reruns(c, key):
        return [c[key][i] for i in range(1, len(c[key]))]

    row(f"no-op rerun x{args.reruns}", lambda c: f"median {statistics.median(reruns(c, 'walls')):.1f} s, best "
                                               f"{min(reruns(c, 'walls')):.1f} s wall")
    row("rerun flow (median)", lambda c: f"{statistics.median(reruns(c, 'flows')):.1f} s")
    row("rerun overhead (median)", lambda c: f"{statistics.median([w - f for w, f in zip(reruns(c, 'walls'), reruns(c, 'flows'))]):.1f} s")
    row("rerun CPU of the verb", lambda c: f"median {statistics.median(reruns(c, 'cpu')):.1f} s")
    print("overhead = wall - flow (until the summary's first line + after it, until the process ended)")
    print(f"first line of the push: {up['said'][0]!r}")
    print(f"without a server the verb said: {down['temporary'][0] if down['temporary'] else '(nothing)'}")


if __name__ == "__main__":
    main()
