"""Kimai 1 end to end: pull (reference data, accounts) and the work-log period flow through the
port against the Kimai 1 emulator on a real socket, TRACKER=kimai1, on both stores."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from emulators.kimai1.faults import Faults
from emulators.kimai1.seeds import small_state
from emulators.kimai1.server import EmulatorServer
from kimaisync.fixtures import KIMAI_GRAPH, TIMESHEET_GRAPH, TimekeeperData
from kimaisync.marker import marker_of
from kimaisync.rdf.vocab import ORGANIZATION

pytestmark = pytest.mark.usefixtures("prefect_server")

BRUSSELS = ZoneInfo("Europe/Brussels")
JUNE = (dt.date(2026, 6, 1), dt.date(2026, 6, 30))
D = dt.date(2026, 6, 2)
K1 = "http://mu.semte.ch/vocabularies/ext/"


@pytest.fixture
def world(store, monkeypatch, tmp_path):
    """Kimai 1 (small_state: admin, ann in Brussels, bob, carl deactivated; ann's hand-typed record 1
    on 1 June and a cleared one in May) and an empty store; ann and admin have personal logins."""
    state = small_state()
    creds = tmp_path / "kimai1.json"
    creds.write_text(json.dumps({"ann": "ann-pw", "admin": "admin-pw"}))
    os.chmod(creds, 0o600)
    with EmulatorServer(state) as srv:
        for var in ("API_TOKEN", "KIMAI_ENDPOINT", "KIMAI_API_USER"):
            monkeypatch.delenv(var, raising=False)
        for k, v in {"TRACKER": "kimai1", "KIMAI1_ENDPOINT": srv.url, "KIMAI1_USER": "admin",
                     "KIMAI1_PASSWORD": "admin-pw", "KIMAI1_CREDENTIALS_FILE": str(creds),
                     "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
                     "KIMAI_GRAPH": KIMAI_GRAPH, "TIMEKEEPER_GRAPH": TIMESHEET_GRAPH,
                     "TIMEZONE": "Europe/Brussels"}.items():
            monkeypatch.setenv(k, v)
        w = type("World", (), {})()
        w.state, w.store, w.srv, w.tk = state, store, srv, TimekeeperData()
        w.homepage = srv.url.split("/core/")[0]
        yield w


def pull():
    from flows.accounts import sync_accounts
    from flows.reference_data import sync_reference_data

    return sync_reference_data(), sync_accounts()


def push(start=JUNE[0], end=JUNE[1]):
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(start=start, end=end)


def select(store, query: str) -> list[dict]:
    return store.client().select(query)


def by_kimai1_id(store, type_: str) -> dict[str, str]:
    rows = select(store, f"SELECT ?r ?id WHERE {{ ?r a <{type_}> ; <{K1}kimai1Id> ?id }}")
    return {r["id"]: r["r"] for r in rows}


def accounts(store, homepage: str) -> dict[str, tuple[str, str]]:
    rows = select(store, "SELECT ?a ?name ?id WHERE { ?a a foaf:OnlineAccount ; foaf:accountName ?name ; "
                         f"foaf:accountServiceHomepage <{homepage}> ; dct:identifier ?id }}")
    return {r["name"]: (r["a"], r["id"]) for r in rows}


def record_writes(state) -> list:
    return [c for c in state.calls if c.rpc_method in ("setTimesheetRecord", "removeTimesheetRecord")]


def pulled_world(w):
    """Pull, then give Timekeeper people linked to the pulled accounts; the activity to book on."""
    pull()
    acc = accounts(w.store, w.homepage)
    w.ann = w.tk.person("Ann Peeters")
    w.bob = w.tk.person("Bob O'Brien")
    w.tk.link_account(w.ann, acc["ann"][0])
    w.tk.link_account(w.bob, acc["bob"][0])
    activities = w.activities = by_kimai1_id(w.store, f"{K1}Kimai1Activity")
    w.dev, w.hotline = activities["1-1"], activities["2-3"]
    return w


def mine(state, user_id=2, since=3):
    return sorted((e for e in state.entries.values() if e.user == user_id and e.id > since), key=lambda e: e.start)


def test_pull_imports_customers_projects_tasks_and_accounts(world):
    reference, accts = pull()
    assert reference["counts"].get("failed", 0) == 0 and accts["counts"].get("failed", 0) == 0
    store = world.store
    assert set(by_kimai1_id(store, ORGANIZATION)) == {"1"}, "the visible customer"
    projects = by_kimai1_id(store, "http://usefulinc.com/ns/doap#Project")
    assert set(projects) == {"1", "2"}, "visible projects of visible customers"
    activities = by_kimai1_id(store, f"{K1}Kimai1Activity")
    assert set(activities) == {"1-1", "1-2", "2-1", "2-2", "2-3"}, "each task as each project offers it"
    for aid, resource in activities.items():
        broader = select(store, f"SELECT ?p WHERE {{ <{resource}> skos:broader ?p }}")
        assert [r["p"] for r in broader] == [projects[aid.split("-")[0]]]
    acc = accounts(store, world.homepage)
    assert {name: kid for name, (_a, kid) in acc.items()} == {"admin": "1", "ann": "2", "bob": "3", "carl": "4"}
    assert world.homepage.startswith("http://127.0.0.1:")
    again_ref, again_acc = pull()
    assert again_ref["counts"].get("created", 0) == 0 and again_acc["counts"].get("created", 0) == 0


def test_push_first_run_rerun_edits_moves_deletes_and_an_expired_key(world):
    w = pulled_world(world)
    tk, state = w.tk, w.state
    log1 = tk.work_log(w.ann, w.dev, D, "PT2H")
    log2 = tk.work_log(w.ann, w.hotline, D, "PT45M")
    no_login = tk.work_log(w.bob, w.activities["1-1"], D, "PT1H")
    tk.load(w.store.client())

    summary = push()
    assert summary["counts"]["created"] == 2 and summary["counts"]["skipped"] == 1
    skip = next(s for s in summary["skips"] if s["key"].startswith(no_login.rsplit("/", 1)[1]))
    assert "KIMAI1_CREDENTIALS_FILE" in skip["reason"]
    made = mine(state)
    assert [marker_of(e.description) for e in made] == [log1.rsplit("/", 1)[1], log2.rsplit("/", 1)[1]]
    nine = dt.datetime(2026, 6, 2, 9, 0, tzinfo=BRUSSELS).timestamp()
    assert [(e.start - nine, e.end - nine) for e in made] == [(0, 7200), (7200, 9900)], "laid out from 09:00"
    assert [(e.project, e.activity) for e in made] == [(1, 1), (2, 3)]
    assert {c.user for c in record_writes(state)} == {"ann"}, "written with ann's own key"
    assert state.entries[1].description == "ann's morning", "the hand-typed record is untouched"
    assert not [e for e in state.entries.values() if e.user == 3 and e.id > 3], "nothing for bob"

    before = len(record_writes(state))
    again = push()
    assert len(record_writes(state)) == before, "a rerun writes nothing"
    assert again["counts"].get("created", 0) == 0 and again["counts"].get("updated", 0) == 0

    client = w.store.client()
    client.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log1}> cal:duration ?d }} }} ;"
                  f"INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log1}> cal:duration \"PT1H\" }} }}")
    client.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log2}> cal:dtstart ?d }} }} ;"
                  f"INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log2}> cal:dtstart \"2026-06-03\"^^xsd:date }} }}")
    state.faults = Faults(key_expiry_every=1, key_expiry_limit=1, rpc_methods=frozenset({"setTimesheetRecord"}))
    edited = push()
    assert edited["counts"].get("failed", 0) == 0, edited.get("failures")
    made = {marker_of(e.description): e for e in mine(state)}
    first, second = made[log1.rsplit("/", 1)[1]], made[log2.rsplit("/", 1)[1]]
    assert first.duration == 3600
    three = dt.datetime(2026, 6, 3, 9, 0, tzinfo=BRUSSELS).timestamp()
    assert (second.start, second.duration) == (three, 2700), "moved to its new day"
    assert [c.fault for c in state.calls if c.fault] == ["key_expired"]
    assert [c.user for c in state.calls_of("authenticate")].count("ann") == 4, "one login per run, one renewal"
    state.faults = Faults()

    client.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log1}> ?p ?o }} }}")
    push()
    assert [marker_of(e.description) for e in mine(state)] == [log2.rsplit("/", 1)[1]], "the deleted log's record"
    assert state.entries[1].description == "ann's morning"


def test_a_cleared_record_is_never_changed(world):
    w = pulled_world(world)
    log = w.tk.work_log(w.ann, w.dev, D, "PT2H")
    w.tk.load(w.store.client())
    push()
    record = mine(w.state)[0]
    record.cleared = True  # invoiced in Kimai 1
    w.store.client().update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log}> cal:duration ?d }} }} ;"
                            f"INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log}> cal:duration \"PT3H\" }} }}")
    before = len(record_writes(w.state))
    summary = push()
    assert len(record_writes(w.state)) == before and record.duration == 7200
    blocked = [r for r in summary["rows"] if r["outcome"] == "blocked"]
    assert blocked and "cleared" in blocked[0]["reason"]


@pytest.mark.parametrize("seed", range(5))
def test_fault_campaign_no_duplicates_no_missing(world, seed):
    w = pulled_world(world)
    logs = [w.tk.work_log(w.ann, w.dev, dt.date(2026, 6, 1 + n % 20), "PT1H" if n % 2 else "PT30M")
            for n in range(36)]
    w.tk.load(w.store.client())
    w.state.faults = Faults(seed=seed, error_rate=0.15, lost_response_rate=0.15, rate_limit_every=17)
    push()
    faults = Counter(kind for _method, kind in w.state.fault_log)
    assert faults["lost_response"] > 0 and sum(faults.values()) >= 4, faults
    first = Counter(marker_of(e.description) for e in mine(w.state))
    assert [m for m, n in first.items() if n > 1] == [], "duplicates after the faulty run"
    w.state.faults = Faults()
    push()  # what failed for good in the first run is done by the next, as the fallback would
    markers = Counter(marker_of(e.description) for e in mine(w.state))
    assert [m for m, n in markers.items() if n > 1] == [], "duplicates"
    assert set(markers) == {log.rsplit("/", 1)[1] for log in logs}, "missing"


def test_a_delta_edits_adds_and_retires_with_the_persons_key(world):
    import asyncio

    from flows.worklog_delta import remove_orphan_timesheet, sync_work_log_changes

    w = pulled_world(world)
    tk, state = w.tk, w.state
    edited = tk.work_log(w.ann, w.dev, D, "PT2H")
    gone = tk.work_log(w.ann, w.hotline, D, "PT1H")
    tk.load(w.store.client())
    push()
    by_log = {marker_of(e.description): e for e in mine(state)}
    db = w.store.client()
    db.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration ?d }} }} ;'
              f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration "PT2H30M" }} }}')
    db.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; cal:duration ?d ; cal:dtstart ?s }} }}")
    new = tk.work_log(w.ann, w.activities["1-2"], D + dt.timedelta(days=1), "PT45M")
    tk.load(db)
    n = len(state.calls)

    result = asyncio.run(sync_work_log_changes([edited, gone, new]))
    assert result["counts"]["updated"] == 1 and result["counts"]["created"] == 1 and result["counts"]["deleted"] == 1
    assert by_log[edited.rsplit("/", 1)[1]].duration == 9000
    assert by_log[gone.rsplit("/", 1)[1]].id not in state.entries
    made = next(e for e in mine(state) if marker_of(e.description) == new.rsplit("/", 1)[1])
    assert (made.user, made.duration, made.project, made.activity) == (2, 2700, 1, 2)
    record_calls = {"getTimesheet", "getTimesheetRecord", "setTimesheetRecord", "removeTimesheetRecord"}
    assert {c.user for c in state.calls[n:] if c.rpc_method in record_calls} == {"ann"}, "records: ann's key only"

    # the old route PUT /kimai-timesheets/:id: a record of the sync no work log holds any more
    orphan = state.add_entry(2, 1, 1, made.start + 7200, made.start + 9000, description="[tk:no-such-log]")
    removed = remove_orphan_timesheet(orphan.id)
    assert orphan.id not in state.entries, removed


def test_the_monthly_lock_marks_the_records_cleared_with_each_owners_key(world, monkeypatch):
    from flows.timesheet_lock import lock_timesheets
    from kimaisync.rdf.vocab import TimesheetStatus

    monkeypatch.setenv("LOCK_MARK_EXPORTED_IN_KIMAI", "true")
    w = pulled_world(world)
    w.tk.work_log(w.ann, w.dev, D, "PT2H")
    w.tk.work_log(w.ann, w.hotline, D, "PT1H")
    sheet = w.tk.timesheet(w.ann, JUNE[0], TimesheetStatus.SUBMITTED)
    w.tk.load(w.store.client())
    n = len(w.state.calls)
    result = lock_timesheets(month=6, year=2026)
    assert [p["status"] for p in result["people"]] == ["SUBMITTED → EXPORTED"], result
    made = mine(w.state)
    assert len(made) == 2 and all(e.cleared for e in made), "the month's records are cleared in Kimai 1"
    assert not w.state.entries[1].cleared, "the hand-typed record is not the sync's to clear"
    writes = [c for c in w.state.calls[n:] if c.rpc_method == "setTimesheetRecord"]
    assert writes and {c.user for c in writes} == {"ann"}
    status = select(w.store, f"SELECT ?s WHERE {{ <{sheet}> adms:status ?s }}")
    assert [r["s"] for r in status] == [TimesheetStatus.EXPORTED]
