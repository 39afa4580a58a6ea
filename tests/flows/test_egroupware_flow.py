"""The work-log period flow with TRACKER=egroupware: the EGroupware emulator and both stores.

Two people link their EGroupware logins (foaf:accountName under the EGroupware homepage), a third
links none. Tasks are Timekeeper's own (a project and an activity, as the Kimai import left them):
EGroupware needs no pull, the names are the references."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from emulators.egroupware.seeds import ALL_USERS_TOKEN, small_state
from emulators.egroupware.server import EmulatorServer
from emulators.egroupware.state import Faults
from kimaisync.fixtures import KIMAI_GRAPH, TIMESHEET_GRAPH, USERS_GRAPH, TimekeeperData
from kimaisync.marker import marker_of

pytestmark = pytest.mark.usefixtures("prefect_server")

MARCH = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
D = dt.date(2025, 3, 12)
HOMEPAGE = "http://egw.example.org"
ANNA, RALF = 7, 6


@pytest.fixture
def egw_state():
    return small_state()


@pytest.fixture
def world(monkeypatch, store, egw_state):
    with EmulatorServer(egw_state) as egw:
        for k, v in {"TRACKER": "egroupware", "EGROUPWARE_URL": egw.url, "EGROUPWARE_USER": "sync",
                     "EGROUPWARE_PASSWORD": ALL_USERS_TOKEN, "EGROUPWARE_ACCOUNT_SERVICE_HOMEPAGE": HOMEPAGE,
                     "MU_SPARQL_ENDPOINT": store.query_url, "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
                     "KIMAI_GRAPH": KIMAI_GRAPH, "TIMEKEEPER_GRAPH": TIMESHEET_GRAPH, "TIMEZONE": "Europe/Brussels",
                     "KIMAI_RETRIES": "6"}.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("API_TOKEN", raising=False)
        monkeypatch.delenv("KIMAI_ENDPOINT", raising=False)
        tk = TimekeeperData()
        w = type("World", (), {})()
        w.egw, w.state, w.store, w.tk = egw, egw_state, store, tk
        w.project = tk.project(31, "Publicatieplatform")
        w.activity = tk.activity(31, w.project, "Development")
        w.anna, w.ralf = tk.person("Anna"), tk.person("Ralf")
        w.nobody = tk.person("Jan Zonder Account")
        for person, login in ((w.anna, "anna"), (w.ralf, "ralf")):
            account = f"{tk.base}/accounts/{uuid.uuid1()}"
            tk._add(USERS_GRAPH, f"<{account}> a foaf:OnlineAccount ; foaf:accountName \"{login}\" ; "
                                 f"foaf:accountServiceHomepage <{HOMEPAGE}> .", f"<{person}> foaf:account <{account}> .")
        yield w


def run(**kw):
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(start=MARCH[0], end=MARCH[1], **kw)


def writes(state) -> list:
    return [r for r in state.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def ours(state, owner=None) -> list:
    return sorted((t for t in state.timesheets.values()
                   if not t.deleted and marker_of(t.description) and (owner is None or t.owner == owner)),
                  key=lambda t: t.start)


def links(store) -> dict[str, str]:
    rows = store.client().select("SELECT ?log ?id WHERE { ?log a cal:Vevent ; ext:egroupwareTimesheetId ?id }")
    return {r["log"]: r["id"] for r in rows}


def utc(day: dt.date, hh: int, mm: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=dt.timezone.utc).timestamp())


def test_first_push_lands_in_each_persons_collection_and_a_rerun_writes_nothing(world):
    tk = world.tk
    a1 = tk.work_log(world.anna, world.activity, D, "PT2H")
    a2 = tk.work_log(world.anna, world.activity, D, "PT45M")
    r1 = tk.work_log(world.ralf, world.activity, dt.date(2025, 3, 31), "PT7H30M")
    tk.work_log(world.nobody, world.activity, D, "PT1H")
    tk.load(world.store.client())

    summary = run()
    assert summary["counts"]["created"] == 3 and summary["counts"]["skipped"] == 1, summary
    assert any("Jan Zonder Account" in f["reason"] for f in summary["skips"])
    anna = ours(world.state, ANNA)
    # Anna's day laid out from 09:00 Brussels (08:00 UTC in March), in whole minutes
    assert [(t.start, t.duration) for t in anna] == [(utc(D, 8), 120), (utc(D, 10), 45)]
    assert {(t.title, t.project, world.state.categories[t.cat_id]) for t in anna} == {
        ("Development", "Publicatieplatform", "Development")}
    ralf = ours(world.state, RALF)
    assert [(t.start, t.duration) for t in ralf] == [(utc(dt.date(2025, 3, 31), 7), 450)]  # summer time
    stored = links(world.store)
    assert {stored[a1], stored[a2], stored[r1]} == {str(t.id) for t in anna + ralf}
    assert summary["hours_differences"] == 1  # only the person without an account

    world.state.requests.clear()
    again = run()
    assert writes(world.state) == [] and again["counts"]["created"] == 0 and again["counts"]["unchanged"] == 3


def test_edit_and_delete_in_timekeeper_touch_only_our_records(world):
    tk = world.tk
    keep = tk.work_log(world.anna, world.activity, D, "PT2H")
    edit = tk.work_log(world.anna, world.activity, D, "PT1H")
    gone = tk.work_log(world.anna, world.activity, D + dt.timedelta(days=1), "PT3H")
    tk.load(world.store.client())
    run()
    typed = world.state.insert(world.state.timesheets[1].__class__(
        id=0, owner=ANNA, title="typed by hand", start=utc(D + dt.timedelta(days=2), 8), duration=60,
        created=1, modified=world.state.write_time(), modifier=ANNA))
    c = world.store.client()
    c.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edit}> cal:duration ?d }} }} ;'
             f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edit}> cal:duration "PT1H30M" }} }}')
    gone_id = int(links(world.store)[gone])
    c.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; mu:uuid ?u ; cal:duration ?d ; "
             f"cal:dtstart ?s ; dct:subject ?task ; prov:wasAssociatedWith ?p }} }}")
    world.state.requests.clear()

    summary = run()
    assert summary["counts"]["failed"] == 0, summary
    patches = [r for r in writes(world.state) if r.method == "PATCH"]
    deletes = [r for r in writes(world.state) if r.method == "DELETE"]
    assert [r.body for r in patches] == [{"duration": 90}]  # only what changed, never a PUT
    assert [r.path.rsplit("/", 1)[-1] for r in deletes] == [str(gone_id)]
    assert world.state.timesheets[gone_id].deleted and not world.state.timesheets[typed.id].deleted
    assert gone not in links(world.store) and keep in links(world.store)


def test_a_persons_own_edit_between_read_and_write_is_not_overwritten(world):
    tk = world.tk
    log = tk.work_log(world.anna, world.activity, D, "PT2H")
    tk.load(world.store.client())
    run()
    tid = int(links(world.store)[log])
    c = world.store.client()
    c.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log}> cal:duration ?d }} }} ;'
             f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{log}> cal:duration "PT3H" }} }}')
    state = world.state

    def anna_edits(method, ts_id):  # Anna saves her own change just before our PATCH arrives
        if ts_id == tid and state.before_write is not None:
            state.before_write = None
            state.edit_as(ts_id, state.accounts[ANNA], duration=100, title="Anna's words")

    state.before_write = anna_edits
    summary = run()
    assert state.timesheets[tid].duration == 100 and state.timesheets[tid].title == "Anna's words"
    row = next(r for r in summary["rows"] if r["outcome"] not in ("unchanged",) and "EGroupware" in r["reason"])
    assert "changed in EGroupware by anna@example.org" in row["reason"], summary["rows"]

    again = run()  # the next run reads her edit and plans anew: Timekeeper's hours win, knowingly
    assert again["counts"]["failed"] == 0 and state.timesheets[tid].duration == 180


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_faults_end_with_exactly_one_timesheet_per_work_log(world, seed):
    tk = world.tk
    logs = [tk.work_log(world.ralf if i % 2 else world.anna, world.activity, D + dt.timedelta(days=i % 9), "PT1H")
            for i in range(24)]
    tk.load(world.store.client())
    world.state.faults = Faults(seed=seed, lost_response_rate=0.15, error_rate=0.1, rate_limit_every=7,
                                rate_limit_burst=1, retry_after=0)
    run()
    world.state.faults = Faults()
    run()  # whatever the first run could not finish, the next one does
    mine = ours(world.state)
    markers = [marker_of(t.description) for t in mine]
    assert len(markers) == len(set(markers)) == len(logs)  # 0 duplicates, 0 missing
    assert len(world.state.fault_log) > 0


def test_pull_imports_nothing_and_says_why(world):
    from flows.reference_data import sync_reference_data

    world.tk.load(world.store.client())
    before = world.store.client().select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    summary = sync_reference_data()
    after = world.store.client().select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert before == after
    assert "EGroupware lists no customers, projects or activities" in str(summary)


def test_the_lock_does_the_timekeeper_side_and_says_so(world):
    from flows.timesheet_lock import lock_timesheets
    from kimaisync.rdf.vocab import TimesheetStatus as S

    tk = world.tk
    tk.work_log(world.anna, world.activity, D, "PT2H")
    tk.timesheet(world.anna, D, S.SUBMITTED)
    tk.load(world.store.client())
    summary = lock_timesheets(month=3, year=2025)
    assert [p["status"] for p in summary["people"]] == ["SUBMITTED → EXPORTED"]
    assert len(ours(world.state, ANNA)) == 1  # the lock books what was missing, as a period run does
    assert "EGroupware has no export flag the sync can set: only Timekeeper's timesheets are locked" in str(summary)


def test_with_a_mirror_dir_the_next_run_reads_only_what_changed(world, monkeypatch, tmp_path):
    from flows.fallback import fallback_work_log_sync

    monkeypatch.setenv("EGROUPWARE_MIRROR_DIR", str(tmp_path))
    today = dt.date.today()
    tk = world.tk
    logs = [tk.work_log(world.anna, world.activity, today, "PT2H"), tk.work_log(world.ralf, world.activity, today, "PT1H")]
    tk.load(world.store.client())
    first = fallback_work_log_sync(days_back=3, days_ahead=3)
    assert first["counts"]["created"] == 2
    tid = int(links(world.store)[logs[0]])
    world.state.edit_as(tid, world.state.accounts[ANNA], title="her own title")  # a change EGroupware reports
    world.state.requests.clear()
    again = fallback_work_log_sync(days_back=3, days_ahead=3)
    assert again["counts"].get("created", 0) == 0 and writes(world.state) == []
    reads = [r for r in world.state.requests if r.method == "GET" and r.path.endswith("/timesheet/")]
    assert reads and all(r.query.get("sync-token") for r in reads)  # only what changed since, per person


def test_a_delta_edits_adds_and_deletes_in_the_persons_collection(world):
    import asyncio

    from flows.worklog_delta import sync_work_log_changes

    tk = world.tk
    edited = tk.work_log(world.anna, world.activity, D, "PT2H")
    gone = tk.work_log(world.anna, world.activity, D, "PT1H")
    tk.load(world.store.client())
    run()
    gone_id = int(links(world.store)[gone])
    db = world.store.client()
    db.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration ?d }} }} ;'
              f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{edited}> cal:duration "PT2H30M" }} }}')
    db.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; cal:duration ?d ; cal:dtstart ?s }} }}")
    new = tk.work_log(world.ralf, world.activity, D + dt.timedelta(days=1), "PT45M")
    tk.load(db)
    world.state.requests.clear()

    result = asyncio.run(sync_work_log_changes([edited, gone, new]))
    assert result["counts"]["failed"] == 0, result
    assert [t.duration for t in ours(world.state, ANNA)] == [150]
    assert world.state.timesheets[gone_id].deleted
    assert [(t.start, t.duration) for t in ours(world.state, RALF)] == [(utc(D + dt.timedelta(days=1), 8), 45)]
    assert new in links(world.store) and gone not in links(world.store)
