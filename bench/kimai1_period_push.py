"""Benchmark: push N work logs to Kimai 1 with the period flow (TRACKER=kimai1), then a no-op rerun.

The Kimai 1 emulator runs in its own process and answers each time-sheet call `--latency` seconds
after it arrived; people log in with their own passwords (a private credentials file); Oxigraph in
memory; reference data and accounts pulled first (not timed); the Prefect server warmed with one
empty flow run. Prints the push time beside the floor (calls x latency / concurrency), the
no-op rerun and its writes. Not a test: it asserts nothing.

    .venv/bin/python bench/kimai1_period_push.py --work-logs 2000 --people 20 --latency 0.02 --concurrency 4
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
START, END = dt.date(2026, 6, 1), dt.date(2026, 6, 30)

import world  # noqa: E402 - beside this script; after the project is on the path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=2000)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per Kimai 1 time-sheet call")
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()

    from emulators.kimai1.state import Kimai1State
    from kimaisync.fixtures import KIMAI_GRAPH, TIMESHEET_GRAPH, TimekeeperData
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    state = Kimai1State()
    state.add_user("admin", "admin-pw", role="admin")
    people = [state.add_user(f"p{i:03d}", f"p{i:03d}-pw", timezone="Europe/Brussels") for i in range(args.people)]
    for c in range(3):
        state.add_customer(f"Customer {c}")
    for p in range(6):
        state.add_project(f"Project {p}", 1 + p % 3)
    for a in range(8):
        state.add_activity(f"Task {a}", projects=[1 + a % 6] if a % 2 else [])
    with tempfile.TemporaryDirectory() as tmp, OxigraphServer() as ox:
        seed, creds = Path(tmp) / "kimai1.json", Path(tmp) / "creds.json"
        seed.write_text(json.dumps(state.to_dict()))
        creds.write_text(json.dumps({u.name: u.password for u in people}))
        os.chmod(creds, 0o600)
        emu = subprocess.Popen([sys.executable, "-m", "emulators.kimai1", "--seed", str(seed), "--port", "0",
                                "--latency", str(args.latency)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, cwd=str(ROOT))
        try:
            url = re.search(r"(http://\S+/core/json\.php)", emu.stdout.readline()).group(1)
            for var in ("API_TOKEN", "KIMAI_ENDPOINT"):
                os.environ.pop(var, None)
            os.environ.update(TRACKER="kimai1", KIMAI1_ENDPOINT=url, KIMAI1_USER="admin", KIMAI1_PASSWORD="admin-pw",
                              KIMAI1_CREDENTIALS_FILE=str(creds), MU_SPARQL_ENDPOINT=ox.query_url,
                              MU_SPARQL_UPDATE_ENDPOINT=ox.update_url, KIMAI_GRAPH=KIMAI_GRAPH,
                              TIMEKEEPER_GRAPH=TIMESHEET_GRAPH, KIMAI_CONCURRENCY=str(args.concurrency),
                              PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")
            from prefect.testing.utilities import prefect_test_harness

            from flows.accounts import sync_accounts
            from flows.reference_data import sync_reference_data

            sparql = SparqlClient(ox.query_url, ox.update_url)
            with prefect_test_harness(server_startup_timeout=90):
                world.warm_up()
                sync_reference_data()
                sync_accounts()
                accounts = {r["name"]: r["acc"] for r in sparql.select(
                    "SELECT ?acc ?name WHERE { ?acc a foaf:OnlineAccount ; foaf:accountName ?name }")}
                tasks = sorted(r["t"] for r in sparql.select("SELECT ?t WHERE { ?t a ext:Kimai1Activity }"))
                tk, rng = TimekeeperData(), random.Random(1)
                persons = []
                for u in people:
                    person = tk.person(u.name)
                    tk.link_account(person, accounts[u.name])
                    persons.append(person)
                days = [START + dt.timedelta(days=d) for d in range(30) if (START + dt.timedelta(days=d)).weekday() < 5]
                for n in range(args.work_logs):
                    tk.work_log(persons[n % len(persons)], rng.choice(tasks), days[(n // len(persons)) % len(days)],
                                rng.choice(["PT1H", "PT2H", "PT30M", "PT3H"]))
                tk.load(sparql)
                first, push, again, rerun = world.push_twice(START, END)
        finally:
            emu.terminate()
            emu.wait(timeout=10)

    stats = first["stats"]
    calls = stats.get("kimai1_requests") or stats.get("tracker_requests") or 0
    floor = calls * args.latency / args.concurrency
    print(f"work logs: {args.work_logs}, people: {args.people}, Kimai 1 latency {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}")
    print(f"push: {push:.1f} s, {first['counts']}")
    if calls:
        print(f"Kimai 1 calls: {calls}; floor {calls} x {args.latency:.3f} s / {args.concurrency} = {floor:.1f} s; "
              f"push/floor = {push / floor:.2f}")
    print(f"stats: {stats}")
    print(f"no-op rerun: {rerun:.2f} s, {again['counts']}")


if __name__ == "__main__":
    main()
