"""`kimai-sync demo --tracker kimai1`: the sync against the Kimai 1 emulator, on this machine.

Starts Oxigraph and the Kimai 1 emulator (its demo data: an admin, ten people in several time
zones, a deactivated one, customers, projects, global and project-bound tasks), writes a private
credentials file with every person's password but one, and runs as Prefect runs: pull (reference
data, accounts) → seed Timekeeper (people linked to the pulled accounts, a month of work logs) →
push → a rerun that writes nothing → an edit → lock-timesheets marking the month's records
cleared. Prints what happened and stops everything it started.
"""

from __future__ import annotations

import json
from collections import Counter
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from deployments.demo import DAYS, MONTH, PLAIN_DAY, _counts, _env, _say

NO_LOGIN = "kenji"  # left out of the credentials file: the push skips him with the reason


def _seed(sparql, rng: random.Random, homepage: str):
    from kimaisync.fixtures import TimekeeperData
    from kimaisync.rdf.vocab import TimesheetStatus as S

    accounts = {r["name"]: r["acc"] for r in sparql.select(
        "SELECT ?acc ?name WHERE { ?acc a foaf:OnlineAccount ; foaf:accountName ?name ; "
        f"foaf:accountServiceHomepage <{homepage}> }}")}
    tasks = sorted(r["task"] for r in sparql.select(
        "SELECT ?task WHERE { ?task a ext:Kimai1Activity ; skos:broader ?p }"))
    tk = TimekeeperData()
    logs, people = [], {}
    for name in sorted(accounts):
        if name in ("admin", "former"):
            continue
        person = tk.person(name.capitalize())
        tk.link_account(person, accounts[name])
        people[name] = person
        for day in DAYS[:10]:
            for duration in rng.choice(PLAIN_DAY):
                logs.append(tk.work_log(person, rng.choice(tasks), day, duration))
        tk.timesheet(person, MONTH, S.SUBMITTED)
    tk.load(sparql)
    return logs, people


def run_demo(keep_dir: Path | None = None) -> int:
    from emulators.kimai1.seeds import DEMO_ADMIN, demo_state
    from emulators.kimai1.server import EmulatorServer
    from kimaisync.triplestores import OxigraphServer

    home = (keep_dir or Path.cwd() / ".demo") / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    started = time.perf_counter()
    state = demo_state()
    state.entries.clear()  # the month starts empty in Kimai 1; the pushes fill it
    secrets = Path(tempfile.mkdtemp(prefix="kimai1-demo-"))
    creds = secrets / "kimai1.json"
    creds.write_text(json.dumps({u.name: u.password for u in state.users.values()
                                 if u.role == "user" and u.name != NO_LOGIN}))
    os.chmod(creds, 0o600)
    with OxigraphServer() as store, EmulatorServer(state) as kimai1:
        _env(home, "http://127.0.0.1:9/api", "unused", store)
        for var in ("API_TOKEN", "KIMAI_ENDPOINT"):
            os.environ.pop(var, None)
        homepage = kimai1.url.split("/core/")[0]
        os.environ.update({"TRACKER": "kimai1", "KIMAI1_ENDPOINT": kimai1.url, "KIMAI1_USER": DEMO_ADMIN[0],
                           "KIMAI1_PASSWORD": DEMO_ADMIN[1], "KIMAI1_CREDENTIALS_FILE": str(creds),
                           "LOCK_MARK_EXPORTED_IN_KIMAI": "true"})
        from flows.accounts import sync_accounts
        from flows.reference_data import sync_reference_data
        from flows.timesheet_lock import lock_timesheets
        from flows.worklog_period import sync_work_log_period
        from kimaisync.fixtures import TIMESHEET_GRAPH
        from kimaisync.sparql.client import SparqlClient

        sparql = SparqlClient(store.query_url, store.update_url)
        _say(f"Oxigraph at {store.query_url}, Kimai 1 emulator at {kimai1.url}")
        _say("1. pull: customers, projects, activities (each task as each project offers it), accounts ...")
        ref, acc = sync_reference_data(), sync_accounts()
        _say(f"   reference data: {_counts(ref)}; accounts: {_counts(acc)} (under {homepage})")
        logs, people = _seed(sparql, rng, homepage)
        _say(f"2. Timekeeper seeded: {len(people)} people, {len(logs)} work logs in {MONTH:%B %Y} "
             f"({NO_LOGIN} has no personal login in the credentials file)")
        end = DAYS[-1]
        push = sync_work_log_period(start=MONTH, end=end)
        writes = sum(1 for c in state.calls if c.rpc_method == "setTimesheetRecord")
        _say(f"3. push {MONTH}..{end}: {push.get('verdict') or _counts(push)}; {writes} records written, "
             f"each with its person's own key ({len(state.calls_of('authenticate'))} logins)")
        for g in push.get("groups", [])[:4]:
            _say(f"   {g['outcome']}: {g['what']}" + (f" ({', '.join(g['people'])})" if g["people"] else ""))
        before = len(state.calls)
        again = sync_work_log_period(start=MONTH, end=end)
        rewritten = [c for c in state.calls[before:] if c.rpc_method in ("setTimesheetRecord", "removeTimesheetRecord")]
        _say(f"4. rerun: {again.get('verdict') or _counts(again)}; {len(rewritten)} writes")
        edited = logs[0]
        sparql.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration ?d }} }} ;"
                      f"INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration \"PT1H15M\" }} }}")
        third = sync_work_log_period(start=MONTH, end=end)
        _say(f"5. an edited duration: {third.get('verdict') or _counts(third)}")
        lock = lock_timesheets(month=MONTH.month, year=MONTH.year)
        locked = sum(1 for p in lock["people"] if p["status"] == "SUBMITTED → EXPORTED")
        cleared = sum(1 for e in state.entries.values() if e.cleared)
        _say(f"6. lock-timesheets {MONTH.month} {MONTH.year}: {locked} locked, {len(lock['not_locked'])} stay "
             f"SUBMITTED; {cleared} Kimai 1 records marked cleared")
        from kimaisync.marker import marker_of

        held = Counter(marker_of(e.description) for e in state.entries.values())
        pushed = {log.rsplit("/", 1)[1] for log in logs if log not in skipped_logs(sparql, people[NO_LOGIN])}
        same = set(held) == pushed and all(n == 1 for n in held.values())
        _say(f"Kimai 1 holds each of the {len(pushed)} work logs once." if same
             else f"Kimai 1 differs from Timekeeper: {len(set(held) ^ pushed)} work logs")
    shutil.rmtree(secrets, ignore_errors=True)
    _say(f"everything started is stopped; done in {time.perf_counter() - started:.0f} s; the runs: "
         f"PREFECT_HOME={home} .venv/bin/prefect server start")
    return 0 if same and not push["counts"].get("failed") else 1


def skipped_logs(sparql, person: str) -> set[str]:
    """The work logs of the person without a personal login."""
    return {r["log"] for r in sparql.select(f"SELECT ?log WHERE {{ ?log prov:wasAssociatedWith <{person}> }}")}
