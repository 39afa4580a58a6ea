"""`kimai-sync demo`: the whole product on this machine, on embedded defaults, in under two minutes.

Starts Oxigraph and the Kimai emulator on free local ports, seeds a realistic month (about 20
people, 10 customers, 30 projects, 80 activities, 800 work logs, timesheets in every status,
and the awkward cases), runs from-kimai → to-kimai → lock-timesheets as Prefect runs, sends a
few deltas through the webhook receiver, prints what happened and how to open the runs in the
Prefect UI, and stops everything it started. Prefect keeps the runs in `.demo/prefect`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from pathlib import Path

MONTH = dt.date(2026, 6, 1)
DAYS = [MONTH + dt.timedelta(days=n) for n in range(30) if (MONTH + dt.timedelta(days=n)).weekday() < 5]
PLAIN_DAY = (["PT8H"], ["PT4H", "PT4H"], ["PT3H30M", "PT4H30M"], ["PT2H", "PT6H"], ["PT5H", "PT3H"],
             ["PT2H", "PT3H", "PT3H"])
AWKWARD_DAYS = ["PT45M"], ["PT10H"], ["PT45M", "PT7H15M"]


def _say(text: str) -> None:
    print(text, flush=True)


def _counts(summary: dict) -> str:
    return ", ".join(f"{n} {k}" for k, n in summary["counts"].items() if n) or "nothing to do"


def _env(home: Path, kimai_url: str, token: str, store) -> None:
    os.environ.update({
        "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The runs keep their INFO lines (what was read, planned, written) for the UI; the terminal
        # shows only warnings, the demo's own lines say what happened.
        "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "API_TOKEN": token, "KIMAI_ENDPOINT": kimai_url,
        "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
        "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai", "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil",
        "TIMEZONE": "Europe/Brussels",
    })
    os.environ.pop("PREFECT_API_URL", None)
    # With PREFECT_SERVER_API_AUTH_STRING set, the temporary server asks for it: our client sends it.
    from kimaisync.prefect_server import export_client_auth
    from kimaisync.settings import load_settings

    export_client_auth(load_settings())


def _seed_timekeeper(sparql, kimai_state, rng: random.Random):
    """People linked to the Kimai accounts from-kimai created, their work logs and timesheets."""
    from kimaisync.fixtures import TimekeeperData
    from kimaisync.rdf.vocab import TimesheetStatus as S

    accounts = {int(r["kid"]): r["acc"] for r in sparql.select(
        "SELECT ?acc ?kid WHERE { ?acc a foaf:OnlineAccount ; dct:identifier ?kid }")}
    # Book on projects that run now (Kimai refuses a project outside its start/end dates; the
    # sync reports that as a failure with Kimai's message, which is not what a demo is about).
    running = {p.id for p in kimai_state.projects.values() if p.start is None and p.end is None}
    tasks = sorted(r["task"] for r in sparql.select(
        "SELECT DISTINCT ?task ?pid WHERE { ?task a ext:KimaiActivity ; skos:broader ?p . "
        "?p a doap:Project ; dct:identifier ?pid }") if int(r["pid"]) in running)
    tk = TimekeeperData()
    people = []
    for user in sorted(kimai_state.users.values(), key=lambda u: u.id):
        if user.username == "admin":
            continue
        person = tk.person(user.alias or user.username)
        if user.id in accounts:  # a user disabled in Kimai gets no account from from-kimai
            tk.link_account(person, accounts[user.id])
        people.append((person, user))
    nobody = tk.person("Jan Zonder Account")  # no Kimai account: its work logs cannot sync
    logs = []
    statuses = [S.SUBMITTED] * 14 + [S.DRAFT, S.DRAFT, S.ABSENCE_SUBMITTED, S.EXPORTED, S.SUBMITTED, S.DRAFT]
    for i, (person, _user) in enumerate(people):
        my_tasks = rng.sample(tasks, 3)
        for d, day in enumerate(DAYS):
            shape = AWKWARD_DAYS[(i + d) % 3] if (i + d) % 9 == 0 else PLAIN_DAY[(i * 7 + d) % len(PLAIN_DAY)]
            for n, duration in enumerate(shape):
                logs.append(tk.work_log(person, my_tasks[(d + n) % 3], day, duration))
        tk.timesheet(person, MONTH, statuses[i % len(statuses)])
    for day in DAYS[:5]:
        logs.append(tk.work_log(nobody, tasks[0], day, "PT8H"))
    tk.timesheet(nobody, MONTH, S.SUBMITTED)
    tk.load(sparql)
    return logs, people


def _deltas(receiver_url: str, sparql, kimai_state, logs: list[str], people) -> None:
    """An edit, a new work log and a deletion, each announced to the receiver as the delta-notifier would."""
    import httpx

    from kimaisync.fixtures import TIMESHEET_GRAPH, TimekeeperData

    def quad(s, p, o, literal=False, datatype=None):
        obj = {"type": "literal", "value": o} if literal else {"type": "uri", "value": o}
        if datatype:
            obj["datatype"] = datatype
        return {"subject": {"type": "uri", "value": s}, "predicate": {"type": "uri", "value": p}, "object": obj,
                "graph": {"type": "uri", "value": TIMESHEET_GRAPH}}

    cal = "http://www.w3.org/2002/12/cal/ical#"
    edited, deleted = logs[3], logs[7]
    sparql.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> <{cal}duration> ?d }} }} ;'
                  f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> <{cal}duration> "PT6H15M" }} }}')
    tk = TimekeeperData()
    task = sparql.select(f"SELECT ?t WHERE {{ <{edited}> <http://purl.org/dc/terms/subject> ?t }}")[0]["t"]
    new = tk.work_log(people[0][0], task, DAYS[21], "PT2H30M", uid="6A00DE0000000000000000AA")
    tk.load(sparql)
    sparql.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{deleted}> a ?t ; <{cal}duration> ?d ; "
                  f"<{cal}dtstart> ?s }} }}")
    bodies = [
        [{"deletes": [quad(edited, cal + "duration", "PT8H", True)], "inserts": []},
         {"deletes": [], "inserts": [quad(edited, cal + "duration", "PT6H15M", True)]}],
        [{"deletes": [], "inserts": [quad(new, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", cal + "Vevent"),
                                     quad(new, cal + "duration", "PT2H30M", True)]}],
        [{"deletes": [quad(deleted, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", cal + "Vevent")],
          "inserts": []}],
    ]
    before = len(kimai_state.requests)
    t0 = time.perf_counter()
    for body in bodies:
        r = httpx.post(receiver_url + "/delta", json=body, timeout=10)
        _say(f"  POST /delta -> {r.status_code}")
    expected = {"PATCH", "POST", "DELETE"}
    while time.perf_counter() - t0 < 30:
        seen = {r.method for r in kimai_state.requests[before:] if r.path.startswith("/api/timesheets")}
        if expected <= seen:
            break
        time.sleep(0.1)
    landed = [f"{r.method} {r.path}" for r in kimai_state.requests[before:]
              if r.method in expected and r.path.startswith("/api/timesheets")]
    _say(f"  Kimai received, {time.perf_counter() - t0:.1f} s after the first delta: " + ", ".join(landed))


def run_demo(keep_dir: Path | None = None) -> int:
    from emulators.kimai2.seeds import DEMO_TOKEN, demo_state
    from emulators.kimai2.server import EmulatorServer
    from kimaisync.triplestores import OxigraphServer

    home = (keep_dir or Path.cwd() / ".demo") / "prefect"  # the runs stay there to be browsed
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    started = time.perf_counter()
    kimai_state = demo_state()
    kimai_state.config.allow_overlapping = False  # the strict setting: the day layout must hold
    with OxigraphServer() as store, EmulatorServer(kimai_state) as kimai:
        _env(home, kimai.url, DEMO_TOKEN, store)
        from flows.accounts import sync_accounts
        from flows.reference_data import sync_reference_data
        from flows.timesheet_lock import lock_timesheets
        from flows.worklog_period import sync_work_log_period
        from kimaisync.reconcile import differences, reconciliation
        from kimaisync.sparql.client import SparqlClient
        from kimaisync.store.worklogs import read_snapshot
        from tasks.worklogs import fetch_users

        sparql = SparqlClient(store.query_url, store.update_url)
        _say(f"Oxigraph at {store.query_url}, Kimai emulator at {kimai.url}")
        _say("1. from-kimai: accounts, customers, projects, activities ...")
        acc = sync_accounts()
        ref = sync_reference_data()
        _say(f"   accounts: {_counts(acc)}; customers, projects, activities: {_counts(ref)}")
        logs, people = _seed_timekeeper(sparql, kimai_state, rng)
        _say(f"2. Timekeeper seeded: {len(people) + 1} people, {len(logs)} work logs in {MONTH:%B %Y}")
        end = DAYS[-1]
        push = sync_work_log_period(start=MONTH, end=end)
        _say(f"3. to-kimai {MONTH} {end}: {push.get('verdict') or _counts(push)}; "
             f"{push['stats']['kimai_requests']} Kimai requests")
        for g in push.get("groups", [])[:5]:
            _say(f"   {g['outcome']}: {g['what']}" + (f" ({', '.join(g['people'])})" if g["people"] else "")
                 + (f"; to do: {g['todo']}" if g["todo"] else ""))
        lock = lock_timesheets(month=MONTH.month, year=MONTH.year)
        locked = sum(1 for p in lock["people"] if p["status"] == "SUBMITTED → EXPORTED")
        _say(f"4. lock-timesheets {MONTH.month} {MONTH.year}: {locked} locked, "
             f"{len(lock['not_locked'])} stay SUBMITTED (" + "; ".join(
                 p["person"] for p in lock["not_locked"]) + ")")
        receiver_url = _start_receiver()
        if receiver_url:
            _say("5. deltas through the webhook receiver: an edit, a new work log, a deletion")
            _deltas(receiver_url, sparql, kimai_state, logs, people)
            _stop_receiver()
        # The verdict: hours per person and day, Timekeeper beside Kimai.
        from kimaisync.settings import load_settings
        from kimaisync.trackers import open_tracker

        with open_tracker(load_settings()) as tracker:
            snap = read_snapshot(sparql, MONTH, end + dt.timedelta(days=7), homepage="http://kimai.redpencil.io",
                                 resource_base="http://timekeeper.redpencil.io", links=tracker.links)
            sheets = tracker.session().entries(dt.date(2026, 6, 1), dt.date(2026, 7, 7))
            users, _ = fetch_users(tracker, snap, sheets)
        hours = reconciliation(snap, sheets, users, period=(MONTH, end + dt.timedelta(days=7)),
                               default_zone="Europe/Brussels")
        off = differences(hours)
        cannot = {"Jan Zonder Account"} | {u.alias for _, u in people if not u.enabled}
        unexpected = [row for row in off if row["person"] not in cannot]
        _say(f"6. Kimai vs Timekeeper: {len(hours)} person-days compared, {len(hours) - len(off)} match; "
             f"{len(off) - len(unexpected)} differ only for people who cannot sync (no account / disabled in Kimai)"
             + (f"; {len(unexpected)} UNEXPECTED differences" if unexpected else ""))
        _say("   Kimai matches Timekeeper." if not unexpected else "   Kimai does NOT match Timekeeper:")
        for row in unexpected[:10]:
            _say(f"     {row['person']} {row['date']}: Timekeeper {row['timekeeper_hours']} h, Kimai {row['kimai_hours']} h")
    _say(f"Done in {time.perf_counter() - started:.0f} s; everything started is stopped.")
    _say(f"The runs, with their logs, tables and reports: PREFECT_HOME={home} .venv/bin/prefect server start, "
         "then open http://127.0.0.1:4200/runs (period 2026-06-01..2026-06-30 and lock 2026-06 are tagged "
         "needs-look; what that looks like: docs/operator.md)")
    return 0 if not unexpected else 1


_receiver = None


def _start_receiver() -> str | None:
    """The webhook receiver on a free port, executing delta runs in this process; None without it."""
    global _receiver
    try:
        from deployments.receiver import run_in_thread
    except ImportError:
        return None
    _receiver = run_in_thread()
    return _receiver.url


def _stop_receiver() -> None:
    if _receiver is not None:
        _receiver.stop()
