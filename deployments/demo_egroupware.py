"""`kimai-sync demo --tracker egroupware`: the sync into EGroupware on this machine, on embedded defaults.

Starts Oxigraph and the EGroupware emulator (an app token for all users) on free local ports,
seeds a month of Timekeeper (about 12 people who link their EGroupware logins, one who links
none, 3 projects with 9 activities, some 500 work logs), runs pull → push → a rerun → edits
(one in Timekeeper, one deletion, one person's own edit in EGroupware) → push again → the lock,
as Prefect runs; compares hours per person and day, and stops everything it started.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid
from pathlib import Path

from deployments.demo import AWKWARD_DAYS, DAYS, MONTH, PLAIN_DAY, _counts, _say

HOMEPAGE = "https://egw.example.org"
PEOPLE = 12


def _env(home: Path, url: str, token: str, store) -> None:
    os.environ.update({
        "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "TRACKER": "egroupware", "EGROUPWARE_URL": url, "EGROUPWARE_USER": "sync", "EGROUPWARE_PASSWORD": token,
        "EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE": HOMEPAGE,
        "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
        "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai", "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil",
        "TIMEZONE": "Europe/Brussels",
    })
    for var in ("PREFECT_API_URL", "API_TOKEN", "KIMAI_ENDPOINT"):
        os.environ.pop(var, None)


def _seed(sparql, state, rng: random.Random):
    """Timekeeper's tasks and people, each person's EGroupware login linked (but one), their month."""
    from kimaisync.fixtures import USERS_GRAPH, TimekeeperData
    from kimaisync.rdf.vocab import TimesheetStatus as S

    tk = TimekeeperData()
    tasks = []
    for p, project in enumerate(("Publicatieplatform", "Havenportaal", "Intern")):
        pr = tk.project(100 + p, project)
        tasks += [tk.activity(200 + 3 * p + a, pr, name) for a, name in enumerate(("Development", "Analysis", "Meeting"))]
    people = []
    for n in range(1, PEOPLE + 1):
        login = f"person{n:02d}"
        state.add_account(login, password=f"{login}-password")
        person = tk.person(f"Person {n:02d}")
        account = f"{tk.base}/accounts/{uuid.uuid1()}"
        tk._add(USERS_GRAPH, f"<{account}> a foaf:OnlineAccount ; foaf:accountName \"{login}\" ; "
                             f"foaf:accountServiceHomepage <{HOMEPAGE}> .", f"<{person}> foaf:account <{account}> .")
        people.append((person, login))
    nobody = tk.person("Jan Zonder Account")  # links no EGroupware login: skipped with that reason
    logs = []
    for i, (person, _login) in enumerate(people):
        mine = rng.sample(tasks, 3)
        for d, day in enumerate(DAYS):
            shape = AWKWARD_DAYS[(i + d) % 3] if (i + d) % 9 == 0 else PLAIN_DAY[(i * 7 + d) % len(PLAIN_DAY)]
            for k, duration in enumerate(shape):
                logs.append(tk.work_log(person, mine[(d + k) % 3], day, duration))
        tk.timesheet(person, MONTH, S.SUBMITTED if i % 4 else S.DRAFT)
    for day in DAYS[:5]:
        logs.append(tk.work_log(nobody, tasks[0], day, "PT8H"))
    tk.timesheet(nobody, MONTH, S.SUBMITTED)
    tk.load(sparql)
    return logs, people


def run_egroupware_demo(keep_dir: Path | None = None) -> int:
    from emulators.egroupware.seeds import ALL_USERS_TOKEN, demo_state
    from emulators.egroupware.server import EmulatorServer
    from kimaisync.triplestores import OxigraphServer

    home = (keep_dir or Path.cwd() / ".demo") / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    started = time.perf_counter()
    state = demo_state()
    with OxigraphServer() as store, EmulatorServer(state) as egw:
        _env(home, egw.url, ALL_USERS_TOKEN, store)
        from flows.reference_data import sync_reference_data
        from flows.timesheet_lock import lock_timesheets
        from flows.worklog_period import sync_work_log_period
        from kimaisync.marker import marker_of
        from kimaisync.reconcile import differences, reconciliation
        from kimaisync.settings import load_settings
        from kimaisync.sparql.client import SparqlClient
        from kimaisync.store.worklogs import read_snapshot
        from kimaisync.trackers import open_tracker
        from tasks.worklogs import fetch_users, list_entries

        sparql = SparqlClient(store.query_url, store.update_url)
        _say(f"Oxigraph at {store.query_url}, EGroupware emulator at {egw.url} (an app token for all users)")
        ref = sync_reference_data()
        _say(f"1. pull: {ref.get('verdict') or _counts(ref)} (EGroupware lists no projects or categories: "
             "Timekeeper's task names are the references)")
        logs, people = _seed(sparql, state, rng)
        _say(f"2. Timekeeper seeded: {len(people) + 1} people, {len(logs)} work logs in {MONTH:%B %Y}")
        end = DAYS[-1]
        push = sync_work_log_period(start=MONTH, end=end)
        _say(f"3. push {MONTH} {end}: {push.get('verdict') or _counts(push)}; "
             f"{push['stats'].get('egroupware_requests', '?')} EGroupware requests")
        before = len(state.requests)
        again = sync_work_log_period(start=MONTH, end=end)
        writes = sum(1 for r in state.requests[before:] if r.method in ("POST", "PUT", "PATCH", "DELETE"))
        _say(f"4. push again: {_counts(again)}; {writes} writes")

        # A Timekeeper edit, a deletion, and a person's own edit in EGroupware.
        ours = sorted((t for t in state.timesheets.values() if marker_of(t.description)), key=lambda t: t.id)
        own = ours[0]
        state.edit_as(own.id, state.accounts[own.owner], title="changed by hand in EGroupware")
        edited, deleted = logs[1], logs[2]
        sparql.update(f'DELETE WHERE {{ GRAPH <http://mu.semte.ch/graphs/redpencil> {{ <{edited}> cal:duration ?d }} }} ;'
                      f'INSERT DATA {{ GRAPH <http://mu.semte.ch/graphs/redpencil> {{ <{edited}> cal:duration "PT1H" }} }}')
        sparql.update(f"DELETE WHERE {{ GRAPH <http://mu.semte.ch/graphs/redpencil> {{ <{deleted}> ?p ?o }} }}")
        third = sync_work_log_period(start=MONTH, end=end)
        _say(f"5. after an edit and a deletion in Timekeeper, and a title typed in EGroupware: {_counts(third)}")
        lock = lock_timesheets(month=MONTH.month, year=MONTH.year)
        _say(f"6. lock {MONTH:%m %Y}: {lock.get('verdict') or _counts(lock)} (EGroupware has no export flag: "
             "only Timekeeper's side is locked)")

        with open_tracker(load_settings()) as tracker:
            snap = read_snapshot(sparql, MONTH, end + dt.timedelta(days=7), homepage=HOMEPAGE,
                                 resource_base="http://timekeeper.redpencil.io", links=tracker.links)
            sheets, _ = list_entries(tracker, snap, MONTH, end + dt.timedelta(days=7))
            users, _ = fetch_users(tracker, snap, sheets)
            hours = reconciliation(snap, sheets, users, period=(MONTH, end + dt.timedelta(days=7)),
                                   default_zone="Europe/Brussels", tracker=tracker.name)
        off = differences(hours)
        unexpected = [row for row in off if row["person"] != "Jan Zonder Account"]
        _say(f"7. EGroupware vs Timekeeper: {len(hours)} person-days compared, {len(hours) - len(off)} match; "
             f"{len(off) - len(unexpected)} differ only for the person without an account"
             + (f"; {len(unexpected)} UNEXPECTED differences" if unexpected else ""))
        for row in unexpected[:10]:
            _say(f"     {row['person']} {row['date']}: Timekeeper {row['timekeeper_hours']} h, "
                 f"EGroupware {row['egroupware_hours']} h")
    _say(f"Done in {time.perf_counter() - started:.0f} s; everything started is stopped.")
    return 1 if unexpected else 0
