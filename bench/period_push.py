"""Benchmark: push N work logs to Kimai with the period flow, then a no-op rerun.

Prints, measured in one run on this machine: the push time, the Kimai request floor
(requests × latency ÷ concurrency) and their ratio, the no-op rerun time, the SPARQL round
trips and the peak resident memory. The Kimai emulator runs in its own process and answers
each /api/timesheets request `--latency` seconds after it arrived (its own work included);
Oxigraph runs in memory; the Prefect server is warmed with one empty flow run first. Not a
test: it asserts nothing.

    .venv/bin/python bench/period_push.py --work-logs 10000 --latency 0.02 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import world


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per Kimai timesheet request")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed = Path(tmp) / "kimai.json"
        seed.write_text(json.dumps(world.kimai_seed(args.people)))
        emu, url = world.start_emulator(str(seed), args.latency, Path(tmp) / "emulator.log")
        try:
            world.seed_timekeeper(SparqlClient(ox.query_url, ox.update_url), args.work_logs, args.people)
            world.use(url, ox, args.concurrency)
            from prefect.testing.utilities import prefect_test_harness

            with prefect_test_harness(server_startup_timeout=90):
                world.warm_up()  # the server a deployment talks to has long been running
                first, push, again, rerun = world.push_twice(world.START, world.END)
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
    print(f"peak RSS of this process: {world.peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
