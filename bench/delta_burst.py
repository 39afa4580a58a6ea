"""Benchmark: a burst of deltas against `kimai-sync serve`: answered fast, coalesced, converging.

Starts a Prefect server, Oxigraph and the Kimai emulator (each timesheet request answered
`--latency` seconds after it arrived) on free local ports, then `kimai-sync serve` against them.
Seeds `--work-logs` work logs (five days of `work-logs / 5` people) and syncs them with one delta
first (a warm-up, outside the figures). Then, at an even pace over `--seconds`, it sends
`--deltas` edits: each changes one work log's duration in the store (chosen at random), then
POSTs the delta-notifier's body for it from a pool of senders, as the delta-notifier would (it
never waits for one answer before the next change). It reports the answers (status, p50/p95/max
from the moment each was due to be sent), the delta flow runs Prefect holds at the end, and
whether and when Kimai agrees with the store for every work log (one timesheet each, the last
duration). Not a test: it asserts nothing.

    .venv/bin/python bench/delta_burst.py                  # 200 deltas in 10 s over 20 work logs
    .venv/bin/python bench/delta_burst.py --large          # 2,000 deltas in 60 s over 500 work logs

BURST_TRACE=1 prints every answer's time in order; KEEP_SERVE_LOG=FILE keeps serve's log.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import world  # noqa: E402 - beside this script

CAL = "http://www.w3.org/2002/12/cal/ical#"
TOKEN = "bench-token-0123456789abcdef"
DURATIONS = {"PT30M": 30, "PT1H": 60, "PT1H30M": 90, "PT2H": 120}
DAYS = 5


def wait_for(predicate, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() < start + timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def delta_body(*logs: str, duration: str = "PT1H") -> list:
    return [{"inserts": [{"subject": {"type": "uri", "value": log},
                          "predicate": {"type": "uri", "value": CAL + "duration"},
                          "object": {"type": "literal", "value": duration}} for log in logs], "deletes": []}]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deltas", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--work-logs", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per Kimai timesheet request")
    ap.add_argument("--large", action="store_true", help="2,000 deltas over 60 s naming 500 work logs")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.large:
        args.deltas, args.seconds, args.work_logs = 2000, 60.0, 500

    import httpx

    from emulators.kimai2.faults import Faults
    from emulators.kimai2.server import EmulatorServer
    from emulators.kimai2.state import KimaiState
    from kimaisync.fixtures import TIMESHEET_GRAPH, TimekeeperData
    from kimaisync.marker import marker_of
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer, free_port

    rng = random.Random(args.seed)
    bin_dir = Path(sys.executable).parent
    people = max(1, args.work_logs // DAYS)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        state = KimaiState()
        state.add_user("bot", roles=["ROLE_SUPER_ADMIN"], api_token=TOKEN, timezone="Europe/Brussels")
        project = state.add_project("P", state.add_customer("C").id)
        activity = state.add_activity("General", project.id)
        users = [state.add_user(f"person{i}", timezone="Europe/Brussels") for i in range(people)]
        with world.prefect_server(Path(home)):  # PREFECT_API_URL names it from here on
            api = os.environ["PREFECT_API_URL"]
            with OxigraphServer() as ox, EmulatorServer(state) as kimai:
                state.faults = Faults(latency=args.latency)
                sparql = SparqlClient(ox.query_url, ox.update_url)
                tk = TimekeeperData()
                task = tk.activity(activity.id, tk.project(project.id, "P"), "General")
                persons = [tk.person(f"Person {i}", u.id) for i, u in enumerate(users)]
                logs = [tk.work_log(persons[i % people], task, dt.date(2025, 3, 3) + dt.timedelta(days=i // people % DAYS),
                                    "PT1H") for i in range(args.work_logs)]
                tk.load(sparql)
                final = dict.fromkeys(logs, "PT1H")
                uuid = {log: log.rsplit("/", 1)[1] for log in logs}
                rport = free_port()
                serve_log = Path(home) / "serve.log"
                serve_env = {**env, "PREFECT_API_URL": api, "API_TOKEN": TOKEN, "KIMAI_ENDPOINT": kimai.url,
                             "MU_SPARQL_ENDPOINT": ox.query_url, "MU_SPARQL_UPDATE_ENDPOINT": ox.update_url,
                             "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai", "TIMEKEEPER_GRAPH": TIMESHEET_GRAPH}
                serve = subprocess.Popen([str(bin_dir / "kimai-sync"), "serve", "--port", str(rport)], env=serve_env,
                                         stdout=serve_log.open("w"), stderr=subprocess.STDOUT)
                url = f"http://127.0.0.1:{rport}/delta"

                def kimai_right() -> bool:
                    mine = Counter()
                    right = 0
                    for t in list(state.timesheets.values()):
                        u = marker_of(t.description)
                        mine[u] += 1
                        log = f"{logs[0].rsplit('/', 1)[0]}/{u}"
                        if u and t.end is not None and log in final and \
                                (t.end - t.begin).total_seconds() == DURATIONS[final[log]] * 60:
                            right += 1
                    return right == len(logs) and all(mine[uuid[log]] == 1 for log in logs)

                try:
                    wait_for(lambda: "receiver on" in serve_log.read_text(), 120, "kimai-sync serve")
                    with httpx.Client(timeout=60) as client:
                        assert client.post(url, json=delta_body(*logs)).status_code == 204
                        warm = wait_for(kimai_right, 300, "the warm-up sync")
                    runs_before = delta_runs(api)

                    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
                    with httpx.Client(timeout=60, limits=limits) as client, \
                            concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
                        def post(body, due: float):
                            try:
                                status = client.post(url, json=body).status_code
                            except httpx.HTTPError as err:
                                status = type(err).__name__
                            return status, time.monotonic() - due

                        load_before = os.getloadavg()[0]
                        futures, t0 = [], time.monotonic()
                        for i in range(args.deltas):
                            due = t0 + i * args.seconds / args.deltas
                            time.sleep(max(0.0, due - time.monotonic()))
                            log, duration = rng.choice(logs), rng.choice(list(DURATIONS))
                            sparql.update(f"DELETE {{ GRAPH ?g {{ <{log}> cal:duration ?d }} }} "
                                          f"INSERT {{ GRAPH ?g {{ <{log}> cal:duration \"{duration}\" }} }} "
                                          f"WHERE {{ GRAPH ?g {{ <{log}> cal:duration ?d }} }}")
                            final[log] = duration
                            futures.append(pool.submit(post, delta_body(log, duration=duration), due))
                        sent = time.monotonic() - t0
                        answers = [f.result() for f in futures]
                    converged = wait_for(kimai_right, 300, "Kimai to agree with the store")
                    load_after = os.getloadavg()[0]
                    try:  # completed runs' placeholders are deleted just after they end
                        wait_for(lambda: not delta_runs(api).get("SCHEDULED"), 30, "placeholders to be tidied")
                    except RuntimeError:
                        pass
                    runs = delta_runs(api)
                finally:
                    serve.send_signal(signal.SIGTERM)
                    serve.wait(60)
                    if os.environ.get("KEEP_SERVE_LOG"):
                        Path(os.environ["KEEP_SERVE_LOG"]).write_text(serve_log.read_text())

    statuses = Counter(s for s, _ in answers)
    times = [t for _, t in answers]
    burst_runs = Counter({k: v - runs_before.get(k, 0) for k, v in runs.items()})
    print(f"{args.deltas} deltas over {args.seconds:g} s (sent in {sent:.1f} s) naming {args.work_logs} work logs, "
          f"Kimai emulator at {args.latency * 1000:g} ms per timesheet request; warm-up sync {warm:.1f} s")
    print(f"answers: {dict(statuses)}; p50 {statistics.median(times):.3f} s, p95 {pct(times, 0.95):.3f} s, "
          f"max {max(times):.3f} s (from when each was due)")
    print(f"delta flow runs for the burst: {sum(burst_runs.values())} ({dict(burst_runs)}); Kimai right for all "
          f"{args.work_logs} work logs {converged:.1f} s after the last answer")
    if os.environ.get("BURST_TRACE"):
        print("answer times in order:", " ".join(f"{t:.2f}" for t in times))
    print(f"load average {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} CPUs)")


def delta_runs(api: str) -> Counter:
    """The delta flow's runs in Prefect, by state (executed runs, and placeholders left)."""
    os.environ["PREFECT_API_URL"] = api
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    out: Counter = Counter()
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["work-log-delta-sync"])),
                                         limit=200, offset=offset)
            out.update(fr.state.type.value if fr.state else "none" for fr in page)
            if len(page) < 200:
                return out
            offset += 200


if __name__ == "__main__":
    main()
