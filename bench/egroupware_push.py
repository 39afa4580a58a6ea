"""Benchmark: the EGroupware adapter pushes N work logs, then reads them back whole and by sync-token.

At the port, not through the flows (the core does not talk to the port yet): N creates through
the adapter's per-person sessions, `--concurrency` at once, spread over `--people` collections;
then the read a period run makes (every collection, whole) and the incremental read the fallback
makes (every collection's sync-token, after one edit per person). The emulator runs in its own
process with the all-users app token and answers each timesheet request `--latency` seconds
after it arrived. Prints the times, the request floor (requests x latency / concurrency) and
their ratio. Not a test: it asserts nothing.

    .venv/bin/python bench/egroupware_push.py --work-logs 10000 --latency 0.02 --concurrency 8
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulators.egroupware.seeds import ALL_USERS_TOKEN  # noqa: E402
from kimaisync.settings import load_settings  # noqa: E402
from kimaisync.trackers.egroupware.adapter import create  # noqa: E402
from kimaisync.trackers.port import EntryWrite  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    emu = subprocess.Popen([sys.executable, "-m", "emulators.egroupware", "--demo", "--latency", str(args.latency),
                            "--people", str(args.people)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = emu.stdout.readline().split()[-1]
        settings = load_settings(tracker="egroupware", egroupware_url=url, egroupware_user="sync",
                                 egroupware_password=ALL_USERS_TOKEN, kimai_concurrency=args.concurrency)
        people = [f"person{n:02d}" for n in range(1, args.people + 1)]
        start = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
        with create(settings) as tracker:
            def book(i: int):
                person = people[i % len(people)]
                day = start + timedelta(days=(i // len(people)) % 28, minutes=15 * (i // (len(people) * 28)))
                return tracker.session(person).create(EntryWrite(
                    user=person, project="Alpha", activity="development", description=f"[tk:bench-{i}]",
                    begin=day, end=day + timedelta(minutes=15)))

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                made = list(pool.map(book, range(args.work_logs)))
            push = time.perf_counter() - t0

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                read = sum(pool.map(lambda p: len(tracker.session(p).entries(date(2026, 3, 1), date(2026, 3, 31))),
                                    people))
            whole = time.perf_counter() - t0

            tokens = {p: tracker.session(p).changes_since(None).cursor for p in people}
            firsts = {e.user: e for e in made[: len(people)]}
            for p, e in firsts.items():
                tracker.session(p).update(e.id, {"minutes": 30})
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                changed = sum(pool.map(lambda p: len(tracker.session(p).changes_since(tokens[p]).entries), people))
            incremental = time.perf_counter() - t0

        floor = args.work_logs * args.latency / args.concurrency
        print(f"EGroupware adapter, {args.work_logs} work logs over {args.people} people, latency "
              f"{args.latency * 1000:g} ms, concurrency {args.concurrency}: push {push:.1f} s (floor {floor:.1f} s, "
              f"{push / floor:.2f}x); whole read {whole:.2f} s ({read} timesheets, {args.people} requests); "
              f"sync-token read {incremental:.2f} s ({changed} changed)")
    finally:
        emu.terminate()
        emu.wait(timeout=10)


if __name__ == "__main__":
    main()
