"""Fault campaign: the period flow over N work logs while Kimai fails, for many seeds.

Per seed, a fresh Kimai emulator (in this process) answers /api/timesheets requests with 10%
5xx (500, or a proxy's 502/503 page), 5% timeouts (the reply comes after the client gave up),
3% lost responses (Kimai committed the write, the reply is cut off) and a burst of three 429s
every `--burst-every` requests; the work logs are loaded into an emptied Oxigraph and ONE
period sync runs (the real flow, on a Prefect test server). Then it counts, for that run:

  duplicates  work logs with more than one Kimai timesheet carrying their marker
  missing     work logs without a timesheet
  wrong       timesheets with another user, project, activity or duration than their work log,
              timesheets of one user that overlap, work logs whose dct:identifier in the store
              is not their own timesheet's id
  failed      records the run itself reported as failed
  retries     Kimai requests retried, and faults the emulator injected

The bar: all zero but retries and time. Retry waits are scaled down (`--backoff`, the first
wait; normally 0.5 s) so a campaign takes minutes, not hours: the decisions (what to retry, how
often, Retry-After) are the product's own. Exit status 1 when any seed misses the bar.

    .venv/bin/python bench/fault_campaign.py --seeds 20 --work-logs 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import Counter, defaultdict

import world


def check(state, sparql, seeded: world.Seeded) -> dict[str, int]:
    """Duplicates, missing and wrong, from Kimai's state and the store."""
    from kimaisync.fixtures import TIMESHEET_GRAPH
    from kimaisync.marker import marker_of

    with state.lock:
        sheets = list(state.timesheets.values())
    mine = defaultdict(list)
    for t in sheets:
        mine[marker_of(t.description)].append(t)
    ids = {r["log"]: r["kid"] for r in sparql.select(
        f"SELECT ?log ?kid WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ ?log dct:identifier ?kid }} }}")}
    wrong = 0
    for iri in seeded.work_logs:
        uuid = seeded.uuids[iri]
        found = mine.get(uuid, [])
        if len(found) == 1:
            t = found[0]
            user, project, activity, minutes = seeded.expected[uuid]
            if ((t.user, t.project, t.activity) != (user, project, activity)
                    or t.end - t.begin != dt.timedelta(minutes=minutes) or ids.get(iri) != str(t.id)):
                wrong += 1
    per_user = defaultdict(list)
    for t in sheets:
        per_user[t.user].append(t)
    for ts in per_user.values():
        ts.sort(key=lambda t: t.begin)
        wrong += sum(1 for a, b in zip(ts, ts[1:]) if a.end > b.begin)
    counts = Counter(len(mine.get(seeded.uuids[iri], [])) for iri in seeded.work_logs)
    return {"duplicates": sum(n for k, n in counts.items() if k > 1), "missing": counts.get(0, 0),
            "wrong": wrong, "strays": len(mine.get(None, []))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=0.5, help="KIMAI_TIMEOUT: a faulted reply comes after twice this")
    ap.add_argument("--backoff", type=float, default=0.01, help="first retry wait in seconds (production: 0.5)")
    ap.add_argument("--burst-every", type=int, default=400, help="a burst of three 429s every this many requests")
    args = ap.parse_args()

    import os

    os.environ.update(PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")  # before Prefect starts
    from prefect.testing.utilities import prefect_test_harness

    import kimaisync.apply.timesheets as applying
    import kimaisync.retry as retrying
    from flows.worklog_period import sync_work_log_period
    from kimai_emulator.server import EmulatorServer
    from kimai_emulator.state import Faults, KimaiState
    from kimaisync.errors import retry_delay
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    def scaled(exc, attempt):  # the product's own decision, on a shorter clock
        return retry_delay(exc, attempt, base=args.backoff, cap=args.backoff * 60)
    retrying.retry_delay = applying.retry_delay = scaled

    print(f"{args.work_logs} work logs, {args.people} people, concurrency {args.concurrency}; faults on "
          f"/api/timesheets: 10% 5xx, 5% timeouts, 3% lost responses, 3 x 429 every {args.burst_every} requests")
    print(f"{'seed':>5} {'dupl':>5} {'miss':>5} {'wrong':>5} {'failed':>6} {'retries':>7} {'faults':>6} {'time':>7}")
    bad = 0
    with OxigraphServer() as ox, prefect_test_harness(server_startup_timeout=90):
        sparql = SparqlClient(ox.query_url, ox.update_url)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            sparql.update("DROP SILENT ALL")
            state = KimaiState.seed_from_dict(world.kimai_seed(args.people))
            seeded = world.seed_timekeeper(sparql, args.work_logs, args.people)
            state.faults = Faults(seed=seed, error_rate=0.10, timeout_rate=0.05, timeout_delay=2 * args.timeout,
                                  lost_response_rate=0.03, rate_limit_every=args.burst_every, rate_limit_burst=3,
                                  retry_after=0)
            with EmulatorServer(state) as emu:
                world.use(emu.url, ox, args.concurrency, KIMAI_TIMEOUT=str(args.timeout))
                t0 = time.perf_counter()
                try:
                    summary = sync_work_log_period(start=world.START, end=world.END)
                except Exception as exc:  # noqa: BLE001 - a run that dies is a result too
                    summary = {"counts": {"failed": -1}, "stats": {"kimai_retries": -1}, "error": str(exc)}
                took = time.perf_counter() - t0
                state.faults = Faults()
                found = check(state, sparql, seeded)
            failed = summary["counts"].get("failed", 0)
            ok = found["duplicates"] == found["missing"] == found["wrong"] == found["strays"] == failed == 0
            bad += not ok
            print(f"{seed:>5} {found['duplicates']:>5} {found['missing']:>5} {found['wrong']:>5} {failed:>6} "
                  f"{summary['stats'].get('kimai_retries', 0):>7} {len(state.fault_log):>6} {took:>6.1f}s"
                  + ("" if ok else "  <- " + str(summary.get("error") or summary.get("failures", "")[:3])), flush=True)
    print(f"{args.seeds - bad} of {args.seeds} seeds clean (no duplicates, nothing missing or wrong, no failures)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
