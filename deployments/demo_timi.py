"""`kimai-sync demo --tracker timi`: the sync with Timi, on this machine, in about a minute.

Starts Oxigraph and the Timi emulator on free local ports, writes a credentials file (mode 600)
for all but one of the emulator's people, pulls accounts and reference data, seeds a month of
work logs for people linked to those accounts (and one person whose login has no token), pushes
the month, edits and deletes a work log and pushes again, reruns (nothing written), prints the
hours per person and day beside Timi's, and stops everything it started.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from pathlib import Path

from deployments.demo import _counts, _say

MONTH = dt.date(2026, 6, 1)
DAYS = [MONTH + dt.timedelta(days=n) for n in range(30) if (MONTH + dt.timedelta(days=n)).weekday() < 5]
HOMEPAGE = "https://timiapp.com"


def _env(home: Path, timi_url: str, credentials: Path, store) -> None:
    os.environ.update({
        "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "TRACKER": "timi", "TIMI_ENDPOINT": timi_url, "TIMI_CREDENTIALS_FILE": str(credentials),
        "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
        "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai", "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil",
        "TIMEZONE": "Europe/Brussels",
    })
    os.environ.pop("PREFECT_API_URL", None)


def _seed_timekeeper(sparql, without_token: str, rng: random.Random) -> list[str]:
    """People linked to the pulled Timi accounts, one whose login has no token, a month of work logs."""
    from kimaisync.fixtures import KIMAI_GRAPH, TimekeeperData

    accounts = {r["email"]: r["acc"] for r in sparql.select(
        f"SELECT ?acc ?email WHERE {{ ?acc a foaf:OnlineAccount ; foaf:accountName ?email ; "
        f"foaf:accountServiceHomepage <{HOMEPAGE}> }}")}
    tasks = sorted(r["task"] for r in sparql.select("SELECT ?task WHERE { ?task a ext:TimiService }"))
    tk = TimekeeperData(homepage=HOMEPAGE)
    lonely = f"{tk.base}/accounts/demo-no-token"  # as an admin would have linked it before the token came
    tk._add(KIMAI_GRAPH, f'<{lonely}> a foaf:OnlineAccount ; dct:identifier "{without_token}" ; '
                         f'foaf:accountName "{without_token}" ; foaf:accountServiceHomepage <{HOMEPAGE}> .')
    logs = []
    for email, account in sorted(accounts.items()) + [(without_token, lonely)]:
        person = tk.person(email.split("@")[0].title())
        tk.link_account(person, account)
        mine = rng.sample(tasks, 3)
        for d, day in enumerate(DAYS):
            for n, duration in enumerate((["PT8H"], ["PT3H30M", "PT4H30M"], ["PT2H", "PT6H"])[d % 3]):
                logs.append(tk.work_log(person, mine[(d + n) % 3], day, duration))
    tk.load(sparql)
    return logs


def run_timi_demo(keep_dir: Path | None = None) -> int:
    from emulators.timi.seeds import demo_state
    from emulators.timi.server import TimiServer
    from kimaisync.fixtures import TIMESHEET_GRAPH
    from kimaisync.triplestores import OxigraphServer

    root = keep_dir or Path.cwd() / ".demo"
    home = root / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    state = demo_state()
    users = sorted(state.users.values(), key=lambda u: u.id)
    without_token = users[-1].email
    credentials = root / "timi-credentials.json"
    credentials.write_text(json.dumps({u.email: u.token for u in users[:-1]}))
    credentials.chmod(0o600)
    with OxigraphServer() as store, TimiServer(state) as timi:
        _env(home, timi.url, credentials, store)
        from flows.accounts import sync_accounts
        from flows.reference_data import sync_reference_data
        from flows.worklog_period import sync_work_log_period
        from kimaisync.sparql.client import SparqlClient

        sparql = SparqlClient(store.query_url, store.update_url)
        _say(f"Oxigraph at {store.query_url}, Timi emulator at {timi.url}; credentials in {credentials} (mode 600)")
        _say("1. pull: accounts (from the credentials file), clients, projects, services ...")
        acc, ref = sync_accounts(), sync_reference_data()
        _say(f"   accounts: {_counts(acc)}; customers, projects, project x service tasks: {_counts(ref)}")
        logs = _seed_timekeeper(sparql, without_token, random.Random(7))
        _say(f"2. Timekeeper seeded: {len(users)} people, {len(logs)} work logs in {MONTH:%B %Y} "
             f"({without_token} has no token)")
        end = DAYS[-1]
        push = sync_work_log_period(start=MONTH, end=end)
        _say(f"3. push {MONTH} {end}: {push.get('verdict') or _counts(push)}; {push['stats'].get('timi_requests')} "
             f"Timi requests; {push['hours_differences']} person-days differ (the person without a token)")
        for g in push.get("groups", [])[:3]:
            _say(f"   {g['outcome']}: {g['what']}" + (f"; to do: {g['todo']}" if g["todo"] else ""))
        edited, deleted = logs[0], logs[1]
        sparql.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration ?d }} }} ;'
                      f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration "PT6H15M" }} }}')
        sparql.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{deleted}> a ?t ; cal:duration ?d ; "
                      f"cal:dtstart ?s }} }}")
        again = sync_work_log_period(start=MONTH, end=end)
        zeroed = [r for r in again["rows"] if r["outcome"] == "deleted"]
        _say(f"4. one work log edited, one deleted, push again: {_counts(again)}")
        for r in zeroed:
            _say(f"   {r['key']}: {r['reason']}")
        quiet = sync_work_log_period(start=MONTH, end=end)
        writes = quiet["counts"].get("created", 0) + quiet["counts"].get("updated", 0) + quiet["counts"].get("deleted", 0)
        _say(f"5. rerun: {writes} writes ({quiet['counts'].get('unchanged', 0)} unchanged)")
        ok = (not push["failed"] and not again["failed"] and writes == 0 and len(zeroed) == 1
              and again["hours_differences"] == push["hours_differences"])
        _say("6. Timi matches Timekeeper for everyone with a token." if ok else "6. Timi does NOT match Timekeeper.")
    _say(f"Done in {time.perf_counter() - started:.0f} s; everything started is stopped. "
         f"The runs: PREFECT_HOME={home} .venv/bin/prefect server start")
    return 0 if ok else 1
