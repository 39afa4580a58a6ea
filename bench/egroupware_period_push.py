"""Benchmark: push N work logs to EGroupware with the period flow, then a no-op rerun.

bench/period_push.py's world (world.seed_timekeeper: N work logs of `--people` people over 61
days) with TRACKER=egroupware: each person also links an EGroupware login (personNN), the
emulator runs in its own process with the all-users app token and answers each timesheet request
`--latency` seconds after it arrived. Prints the push time against the request floor (requests x
latency / concurrency) and the rerun. Not a test: it asserts nothing.

    .venv/bin/python bench/egroupware_period_push.py --work-logs 10000 --latency 0.02 --concurrency 8
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import world

HOMEPAGE = "https://egw.example.org"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work-logs", type=int, default=10_000)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    from emulators.egroupware.seeds import ALL_USERS_TOKEN
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    with OxigraphServer() as ox:
        emu = subprocess.Popen([sys.executable, "-m", "emulators.egroupware", "--demo", "--latency", str(args.latency),
                                "--people", str(args.people)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
        try:
            url = emu.stdout.readline().split()[-1]
            sparql = SparqlClient(ox.query_url, ox.update_url)
            world.seed_timekeeper(sparql, args.work_logs, args.people)
            people = sparql.select("SELECT ?p ?name WHERE { ?p a foaf:Person ; foaf:name ?name }")
            links = []
            for row in people:
                n = int(row["name"].split()[-1]) + 1
                acc = f"http://timekeeper.redpencil.io/accounts/egw-{n}"
                links.append(f"<{acc}> a foaf:OnlineAccount ; foaf:accountName \"person{n:02d}\" ; "
                             f"foaf:accountServiceHomepage <{HOMEPAGE}> . <{row['p']}> foaf:account <{acc}> .")
            sparql.update("INSERT DATA { GRAPH <http://mu.semte.ch/graphs/users> { " + " ".join(links) + " } }")
            world.use(url, ox, args.concurrency)
            for kimai_only in ("API_TOKEN", "KIMAI_ENDPOINT"):
                os.environ.pop(kimai_only, None)
            os.environ.update(TRACKER="egroupware", EGROUPWARE_URL=url, EGROUPWARE_USER="sync",
                              EGROUPWARE_PASSWORD=ALL_USERS_TOKEN, EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE=HOMEPAGE)
            from prefect.testing.utilities import prefect_test_harness

            with prefect_test_harness(server_startup_timeout=90):
                world.warm_up()
                first, push, again, rerun = world.push_twice(world.START, world.END)
        finally:
            emu.terminate()
            emu.wait(timeout=10)

    requests = first["stats"]["egroupware_requests"]
    floor = requests * args.latency / args.concurrency
    print(f"EGroupware, period flow: {args.work_logs} work logs, {args.people} people, latency "
          f"{args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
    print(f"push: {push:.1f} s, created {first['counts'].get('created', 0)}, failed {first['counts'].get('failed', 0)}; "
          f"{requests} requests, floor {floor:.1f} s, push/floor {push / floor:.2f}")
    print(f"no-op rerun: {rerun:.2f} s, writes "
          f"{sum(again['counts'].get(k, 0) for k in ('created', 'updated', 'deleted'))}, unchanged "
          f"{again['counts'].get('unchanged', 0)}, requests {again['stats']['egroupware_requests']}")


if __name__ == "__main__":
    main()
