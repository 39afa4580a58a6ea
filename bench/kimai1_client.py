"""Benchmark: the Kimai 1 adapter alone (no store, no Prefect): create N records for P people with
their own keys, `--concurrency` in flight, then read them back by window, then update and delete
them. The emulator runs in its own process and answers each time-sheet call `--latency` seconds
after it arrived. Prints each phase's time beside its floor (calls x latency / concurrency).
Not a test: it asserts nothing.

    .venv/bin/python bench/kimai1_client.py --records 1000 --people 5 --latency 0.02 --concurrency 4
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.kimai1.state import Kimai1State  # noqa: E402
from kimaisync.trackers.kimai1.adapter import Kimai1Tracker  # noqa: E402
from kimaisync.trackers.kimai1.client import Kimai1Client  # noqa: E402
from kimaisync.trackers.port import EntryWrite  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--people", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()

    state = Kimai1State()
    state.add_user("admin", "admin-pw", role="admin")
    people = [state.add_user(f"p{i}", f"p{i}-pw", timezone="Europe/Brussels") for i in range(args.people)]
    state.add_customer("Acme")
    state.add_project("Website", 1)
    state.add_activity("Development")
    seed = Path(tempfile.mkdtemp()) / "seed.json"
    seed.write_text(json.dumps(state.to_dict()))
    proc = subprocess.Popen([sys.executable, "-m", "emulators.kimai1", "--seed", str(seed), "--port", "0",
                             "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[1]), env=dict(os.environ))
    try:
        url = re.search(r"(http://\S+/core/json\.php)", proc.stdout.readline()).group(1)
        client = Kimai1Client(url, user="admin", password="admin-pw",
                              credentials={p.name: f"{p.name}-pw" for p in people},
                              max_connections=2 * args.concurrency)
        tracker = Kimai1Tracker(client, concurrency=args.concurrency)
        tracker.users()
        zone = ZoneInfo("Europe/Brussels")
        writes = []
        for n in range(args.records):
            who = people[n % len(people)]
            day = dt.date(2026, 6, 1) + dt.timedelta(days=(n // len(people)) // 8 % 28)
            begin = dt.datetime.combine(day, dt.time(8), zone) + dt.timedelta(hours=(n // len(people)) % 8)
            writes.append(EntryWrite(who.id, 1, "1-1", f"[tk:bench-{n}]", begin, begin + dt.timedelta(minutes=50)))
        for p in people:
            tracker.session(p.id).k1.key()  # logins outside the clock, as a run makes them once

        def phase(name: str, fn, items) -> list:
            before = client.rpc.calls_made
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                out = list(pool.map(fn, items))
            took = time.perf_counter() - t0
            calls = client.rpc.calls_made - before
            floor = calls * args.latency / args.concurrency
            print(f"{name:<7} {len(items):>6} items {calls:>6} calls {took:7.2f} s  floor {floor:6.2f} s  "
                  f"ratio {took / floor if floor else float('nan'):.2f}")
            return out

        made = phase("create", lambda w: tracker.session(w.user).create(w), writes)
        phase("read", lambda p: tracker.session(p.id).entries(dt.date(2026, 6, 1), dt.date(2026, 6, 30)), people)
        phase("update", lambda e: tracker.session(e.user).update(e.id, {"description": e.description + " x"},
                                                                  zone="Europe/Brussels"), made)
        phase("delete", lambda e: tracker.session(e.user).delete(e.id, missing_ok=True), made)
        tracker.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
