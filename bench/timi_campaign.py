"""Timi: ONE period sync of N work logs per seed while Timi fails and rations requests, then counts.

What runs: the real period flow (`kimai-sync push START END` with TRACKER=timi) on one Prefect
test server, against the Timi emulator in this process (its state is read afterwards) and
Oxigraph. Per seed the store is emptied and loaded with `--work-logs` work logs of `--people`
people over 61 days, each person linked to their Timi account, each task a Timi project/service
pair; a fresh emulator starts with no entries, a credential for everyone in the credentials
file (mode 600), and these faults on /api/v1/time_entries, drawn from `random.Random(seed)`:

  --error-rate      5xx (500, or a proxy's 502/503 page); nothing committed
  --lost-rate       the write commits, then the reply is cut off halfway
  --rate-limit N    each account may make N requests per `--window` seconds, then 429
                    {"message":"rate limit exceeded"} until the next window (no Retry-After)

Counted after that one run (no clean follow-up run), from the emulator's state and the store:

  dupl   work logs with more than one entry carrying their marker
  miss   work logs without an entry
  wrong  an entry with another person, project, service, duration or date; a store link
         (ext:timiEntryId) that is not exactly that entry's id; entries without a marker
  failed records the run reported as failed

The bar: all four zero. Exit status 1 when a seed misses it. `--clean` runs without faults or a
budget and adds a second, no-op run: the benchmark line in docs/trackers/timi.md.

    .venv/bin/python bench/timi_campaign.py --seeds 5 --work-logs 1000
    .venv/bin/python bench/timi_campaign.py --seeds 1 --work-logs 10000 --clean
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = dt.date(2025, 3, 1)
DAYS = 61
END = START + dt.timedelta(days=DAYS - 1)
DURATIONS = {"PT1H": 60, "PT2H30M": 150, "PT45M": 45, "PT3H": 180, "PT4H15M": 255}
HOMEPAGE = "https://timiapp.com"


def seed(state, sparql, work_logs: int, people: int, projects: int = 5, services: int = 4):
    """Timi's account (people, a client, projects, services) and the matching Timekeeper data."""
    from kimaisync.fixtures import KIMAI_GRAPH, USERS_GRAPH, TimekeeperData

    client = state.add_client("Klant")
    ps = [state.add_project(f"Project {n}", client.id) for n in range(projects)]
    ss = [state.add_service(f"Service {n}") for n in range(services)]
    users = [state.add_user(f"person{n}@example.org", f"token-{n}-secret", f"Person {n}") for n in range(people)]
    tk = TimekeeperData(homepage=HOMEPAGE)
    lines, tasks = [], []
    for p in ps:
        ptask = f"{tk.base}/tasks/p{p.id}"
        lines.append(f'<{ptask}> a wf:Task, doap:Project ; rdfs:label "{p.name}" ; ext:timiId "{p.id}" .')
        for s in ss:
            task = f"{tk.base}/tasks/p{p.id}s{s.id}"
            lines.append(f'<{task}> a wf:Task, ext:TimiService ; rdfs:label "{s.name}" ; '
                         f'ext:timiId "{p.id}/{s.id}" ; skos:broader <{ptask}> .')
            tasks.append((task, p.id, s.id))
    persons = []
    for u in users:
        person, account = tk.person(u.display_name), f"{tk.base}/accounts/{u.id}"
        lines.append(f'<{account}> a foaf:OnlineAccount ; dct:identifier "{u.email}" ; foaf:accountName "{u.email}" ; '
                     f"foaf:accountServiceHomepage <{HOMEPAGE}> .")
        tk._add(USERS_GRAPH, f"<{person}> foaf:account <{account}> .")
        persons.append(person)
    tk._add(KIMAI_GRAPH, *lines)
    names = list(DURATIONS)
    expected = {}
    for i in range(work_logs):
        task, project, service = tasks[i % len(tasks)]
        duration = names[(i + i // people) % len(names)]
        day = START + dt.timedelta(days=(i // people) % DAYS)
        iri = tk.work_log(persons[i % people], task, day, duration)
        expected[iri.rsplit("/", 1)[1]] = (iri, users[i % people].id, project, service, DURATIONS[duration] * 60, day)
    tk.load(sparql)
    return users, expected


def check(state, sparql, expected, summary) -> dict:
    from kimaisync.marker import marker_of

    with state.lock:
        entries = list(state.entries.values())
    by_marker = defaultdict(list)
    for e in entries:
        by_marker[marker_of(e.body)].append(e)
    links = {r["log"]: r["id"] for r in sparql.select(
        "PREFIX ext: <http://mu.semte.ch/vocabularies/ext/> SELECT ?log ?id WHERE { GRAPH ?g { ?log ext:timiEntryId ?id } }")}
    found = Counter()
    for uuid, (iri, user, project, service, seconds, day) in expected.items():
        mine = by_marker.get(uuid, [])
        if not mine:
            found["missing"] += 1
        elif len(mine) > 1:
            found["duplicates"] += 1
        else:
            e = mine[0]
            found["wrong"] += ((e.user, e.project, e.service, e.duration, e.date) != (user, project, service, seconds, day)
                               or links.get(iri) != str(e.id))
    found["wrong"] += sum(len(v) for k, v in by_marker.items() if k not in expected)
    found["failed"] = summary["counts"].get("failed", 0)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--work-logs", type=int, default=1000)
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--error-rate", type=float, default=0.10)
    ap.add_argument("--lost-rate", type=float, default=0.03)
    ap.add_argument("--rate-limit", type=int, default=5, help="requests per account per window (0: none)")
    ap.add_argument("--window", type=float, default=1.0, help="seconds of a budget window (Timi's is a minute)")
    ap.add_argument("--clean", action="store_true", help="no faults, no budget; then a no-op rerun (the benchmark)")
    args = ap.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    from emulators.timi.server import TimiServer
    from emulators.timi.state import Faults, RateBudget, TimiState
    from kimaisync.sparql.client import SparqlClient
    from kimaisync.triplestores import OxigraphServer

    home = Path(tempfile.mkdtemp(prefix="timi-campaign-"))
    os.environ.update(PREFECT_HOME=str(home), PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      TRACKER="timi", TIMI_TIMEOUT="2", KIMAI_GRAPH="http://mu.semte.ch/graphs/kimai",
                      TIMEKEEPER_GRAPH="http://mu.semte.ch/graphs/redpencil")
    bad = 0
    print(f"{'seed':>4} {'logs':>6} {'dupl':>4} {'miss':>4} {'wrong':>5} {'failed':>6} {'refused':>7} {'faults':>6} "
          f"{'requests':>8} {'time':>7}", flush=True)
    with OxigraphServer() as ox, prefect_test_harness(server_startup_timeout=90):
        from flows.worklog_period import sync_work_log_period

        sparql = SparqlClient(ox.query_url, ox.update_url)
        os.environ.update(MU_SPARQL_ENDPOINT=ox.query_url, MU_SPARQL_UPDATE_ENDPOINT=ox.update_url)
        for s in range(args.first_seed, args.first_seed + args.seeds):
            sparql.update("DROP SILENT ALL")
            state = TimiState()
            users, expected = seed(state, sparql, args.work_logs, args.people)
            creds = home / f"timi-{s}.json"
            creds.write_text(json.dumps({u.email: u.token for u in users}))
            creds.chmod(0o600)
            if not args.clean:
                state.faults = Faults(seed=s, error_rate=args.error_rate, lost_response_rate=args.lost_rate,
                                      paths_prefix="/api/v1/time_entries")
                state.rate = RateBudget(args.rate_limit, args.window)
            with TimiServer(state) as server:
                os.environ.update(TIMI_ENDPOINT=server.url, TIMI_CREDENTIALS_FILE=str(creds))
                t0 = time.perf_counter()
                summary = sync_work_log_period(start=START, end=END)
                took = time.perf_counter() - t0
                found = check(state, sparql, expected, summary)
                line = (f"{s:>4} {args.work_logs:>6} {found['duplicates']:>4} {found['missing']:>4} {found['wrong']:>5} "
                        f"{found['failed']:>6} {state.rate.refused:>7} {len(state.fault_log):>6} "
                        f"{len(state.requests):>8} {took:>6.1f}s")
                print(line, flush=True)
                bad += any(found[k] for k in ("duplicates", "missing", "wrong", "failed"))
                if args.clean:
                    n = len(state.requests)
                    t0 = time.perf_counter()
                    again = sync_work_log_period(start=START, end=END)
                    writes = sum(1 for r in state.requests[n:] if r.method in ("POST", "PATCH"))
                    print(f"     no-op rerun: {time.perf_counter() - t0:.1f}s, {len(state.requests) - n} requests, "
                          f"{writes} writes, {again['counts'].get('unchanged', 0)} unchanged", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
