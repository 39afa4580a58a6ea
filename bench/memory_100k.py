"""Peak memory of the period flow over 100,000 work logs.

Loads N work logs (default 100,000) into Oxigraph and seeds the Kimai emulator (its own
process), then runs the period flow in this process and prints its peak resident memory
(and what it held just before), with the time taken:

- `--dry-run` (default): read both sides, plan, report; no Kimai write;
- `--push`: the real push (emulator latency 0), then a no-op rerun.

Not a test: it asserts nothing.

    .venv/bin/python bench/memory_100k.py            # read + plan + report
    .venv/bin/python bench/memory_100k.py --push     # and every write
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import world


def rss_mib() -> float:
    """Current resident memory of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=100_000)
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--push", action="store_true", help="write to Kimai too (and rerun)")
    args = ap.parse_args()

    os.environ.update(PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")  # before Prefect starts
    from prefect.testing.utilities import prefect_test_harness

    from flows.worklog_period import sync_work_log_period
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed = Path(tmp) / "kimai.json"
        seed.write_text(json.dumps(world.kimai_seed(args.people)))
        emu, url = world.start_emulator(str(seed), 0.0, Path(tmp) / "emulator.log")
        try:
            t0 = time.perf_counter()
            world.seed_timekeeper(SparqlClient(ox.query_url, ox.update_url), args.work_logs, args.people)
            print(f"{args.work_logs} work logs of {args.people} people loaded into Oxigraph in "
                  f"{time.perf_counter() - t0:.0f} s")
            world.use(url, ox, args.concurrency)
            with prefect_test_harness(server_startup_timeout=90):
                sync_work_log_period(start=world.START, end=world.START, dry_run=True)  # warm up: imports, server
                base = rss_mib()
                t0 = time.perf_counter()
                dry = sync_work_log_period(start=world.START, end=world.END, dry_run=True)
                took = time.perf_counter() - t0
                print(f"dry run (read both sides, plan {sum(dry['counts'].values())} records, report): {took:.1f} s; "
                      f"peak RSS {world.peak_rss_mib():.0f} MiB (the process held {base:.0f} MiB before the run)")
                if args.push:
                    t0 = time.perf_counter()
                    push = sync_work_log_period(start=world.START, end=world.END)
                    took = time.perf_counter() - t0
                    print(f"push: {took:.1f} s, created {push['counts']['created']}, failed {push['counts']['failed']}; "
                          f"peak RSS {world.peak_rss_mib():.0f} MiB")
                    t0 = time.perf_counter()
                    again = sync_work_log_period(start=world.START, end=world.END)
                    print(f"no-op rerun: {time.perf_counter() - t0:.1f} s, unchanged {again['counts']['unchanged']}; "
                          f"peak RSS {world.peak_rss_mib():.0f} MiB")
        finally:
            emu.terminate()
            emu.wait(timeout=10)


if __name__ == "__main__":
    main()
