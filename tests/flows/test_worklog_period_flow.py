"""The work-log period flow end to end: the Kimai emulator (overlap forbidden) and both stores."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from emulators.kimai2.state import Faults
from kimaisync.fixtures import TIMESHEET_GRAPH, TimekeeperData
from kimaisync.marker import marker_of

pytestmark = pytest.mark.usefixtures("prefect_server")

MARCH = (dt.date(2025, 3, 1), dt.date(2025, 4, 30))
D = dt.date(2025, 3, 12)


@pytest.fixture
def world(kimai_state, store, sync_env):
    """Kimai: two people, a project and an activity sharing id 31. Timekeeper: matching tasks."""
    kimai_state.config.allow_overlapping = False
    lotte = kimai_state.add_user("lotte", timezone="Europe/Brussels")
    ann = kimai_state.add_user("ann", timezone="America/New_York")
    cust = kimai_state.add_customer("Havenbedrijf")
    for _ in range(30):  # make project id 31 exist, like the activity 31
        kimai_state.add_project("filler", cust.id)
    proj = kimai_state.add_project("Publicatieplatform", cust.id)
    for _ in range(30):
        kimai_state.add_activity("filler", proj.id)
    act = kimai_state.add_activity("General", proj.id)
    assert proj.id == act.id == 31
    tk = TimekeeperData()
    w = type("World", (), {})()
    w.kimai, w.store, w.tk = kimai_state, store, tk
    w.project = tk.project(proj.id, "Publicatieplatform")
    w.activity = tk.activity(act.id, w.project, "General")
    w.lotte = tk.person("Lotte Verhaegen", lotte.id)
    w.ann = tk.person("Ann Peeters", ann.id)
    w.nobody = tk.person("Jan Zonder Account")
    w.lotte_id, w.ann_id = lotte.id, ann.id
    return w


def run(start=MARCH[0], end=MARCH[1], **kw):
    from flows.worklog_period import sync_work_log_period

    return sync_work_log_period(start=start, end=end, **kw)


def writes(state) -> list:
    return [r for r in state.requests if r.method in ("POST", "PATCH", "DELETE")]


def sheets(state, user=None):
    return sorted((t for t in state.timesheets.values() if user is None or t.user == user), key=lambda t: t.begin)


def ids_in_store(store) -> dict[str, str]:
    rows = store.client().select(f"SELECT ?log ?kid WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ ?log dct:identifier ?kid }} }}")
    return {r["log"]: r["kid"] for r in rows}


def test_period_lands_right_and_a_rerun_writes_nothing(world):
    tk = world.tk
    logs = [tk.work_log(world.lotte, world.activity, D, "PT2H"),
            tk.work_log(world.lotte, world.activity, D, "PT45M"),
            tk.work_log(world.lotte, world.activity, D, "PT10H"),
            tk.work_log(world.ann, world.activity, dt.date(2025, 3, 31), "PT7H30M"),
            tk.work_log(world.ann, world.activity, dt.date(2025, 4, 1), "PT8H")]
    skipped = tk.work_log(world.nobody, world.activity, D, "PT1H")
    tk.load(world.store.client())

    summary = run()
    assert summary["counts"]["created"] == 5 and summary["counts"]["skipped"] == 1
    assert any("Jan Zonder Account has no Kimai account" in f["reason"] for f in summary["skips"])
    assert summary["hours_differences"] == 1  # only the person without account differs

    mine = sheets(world.kimai, world.lotte_id)
    assert [t.end - t.begin for t in mine] == [dt.timedelta(hours=2), dt.timedelta(minutes=45), dt.timedelta(hours=10)]
    assert mine[0].begin.astimezone(mine[0].begin.tzinfo).hour == 9
    assert all(a.end <= b.begin for a, b in zip(mine, mine[1:]))  # Kimai refuses overlaps here
    ann = sheets(world.kimai, world.ann_id)
    assert [t.begin.date() for t in ann] == [dt.date(2025, 3, 31), dt.date(2025, 4, 1)]  # across the month
    assert all(t.project == 31 and t.activity == 31 for t in world.kimai.timesheets.values())

    stored = ids_in_store(world.store)
    assert set(stored) == set(logs) and skipped not in stored
    by_id = {t.id: t for t in world.kimai.timesheets.values()}
    for log, kid in stored.items():  # every id points at the timesheet of that very work log
        assert marker_of(by_id[int(kid)].description) == log.rsplit("/", 1)[1]

    world.kimai.clear_requests()
    again = run()
    assert writes(world.kimai) == [] and again["counts"]["created"] == 0 and again["counts"]["unchanged"] == 5


def test_edit_delete_and_hand_typed_timesheets(world):
    tk = world.tk
    first = tk.work_log(world.lotte, world.activity, D, "PT2H")
    last = tk.work_log(world.lotte, world.activity, D, "PT1H")
    gone = tk.work_log(world.lotte, world.activity, D + dt.timedelta(days=1), "PT3H")
    tk.load(world.store.client())
    typed = world.kimai.add_timesheet(world.lotte_id, 31, 31, "2025-03-14T09:00:00", "2025-03-14T10:00:00",
                                      description="typed by hand")
    run()
    c = world.store.client()
    # One duration changes; one work log is deleted the way mu-cl-resources deletes (its id stays behind).
    c.update(f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{last}> cal:duration ?d }} }} ;'
             f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{last}> cal:duration "PT1H30M" }} }}')
    gone_id = int(ids_in_store(world.store)[gone])
    c.update(f"DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{gone}> a ?t ; mu:uuid ?u ; cal:duration ?d ; "
             f"cal:dtstart ?s ; dct:subject ?task ; prov:wasAssociatedWith ?p }} }}")
    world.kimai.clear_requests()

    run()
    patches = [r for r in writes(world.kimai) if r.method == "PATCH"]
    deletes = [r for r in writes(world.kimai) if r.method == "DELETE"]
    assert len(patches) == 1 and set(patches[0].body) == {"end"}  # only what changed
    assert [r.path for r in deletes] == [f"/api/timesheets/{gone_id}"]
    assert gone_id not in world.kimai.timesheets and typed.id in world.kimai.timesheets
    assert gone not in ids_in_store(world.store)  # the dangling id is cleaned up
    assert first in ids_in_store(world.store)


@pytest.mark.parametrize("faults", [
    Faults(seed=3, lost_response_rate=0.4, methods={"POST"}),
    Faults(seed=5, error_rate=0.3, methods={"POST", "PATCH", "GET"}),
    Faults(seed=7, rate_limit_every=4, rate_limit_burst=2, retry_after=0),
], ids=["lost-responses", "5xx", "429"])
def test_faults_end_with_exactly_one_timesheet_per_work_log(world, faults):
    tk = world.tk
    logs = [tk.work_log(world.lotte if i % 2 else world.ann, world.activity, D + dt.timedelta(days=i % 9), "PT1H")
            for i in range(24)]
    tk.load(world.store.client())
    world.kimai.faults = faults
    run()
    world.kimai.faults = Faults()
    run()  # a clean follow-up run converges whatever the faults left undone
    per_log = Counter(marker_of(t.description) for t in world.kimai.timesheets.values())
    assert set(per_log) == {log.rsplit("/", 1)[1] for log in logs}
    assert set(per_log.values()) == {1}
    stored = ids_in_store(world.store)
    assert {int(v) for v in stored.values()} == set(world.kimai.timesheets)
    assert world.kimai.fault_log  # the faults really happened


def test_a_longer_first_log_shifts_the_day_without_kimai_refusing_an_overlap(world):
    tk = world.tk
    logs = [tk.work_log(world.lotte, world.activity, D, d) for d in ("PT2H", "PT1H", "PT1H", "PT3H")]
    tk.load(world.store.client())
    run()
    world.store.client().update(
        f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[0]}> cal:duration ?d }} }} ;'
        f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{logs[0]}> cal:duration "PT4H" }} }}')
    summary = run()
    assert summary["counts"]["updated"] == 4 and summary["counts"]["failed"] == 0, summary["failures"]
    mine = sheets(world.kimai, world.lotte_id)
    assert [t.end - t.begin for t in mine] == [dt.timedelta(hours=n) for n in (4, 1, 1, 3)]
    assert all(a.end == b.begin for a, b in zip(mine, mine[1:]))


def _set(store, log: str, predicate: str, value: str) -> None:
    g = TIMESHEET_GRAPH
    store.client().update(f"DELETE WHERE {{ GRAPH <{g}> {{ <{log}> {predicate} ?o }} }} ;"
                          f"INSERT DATA {{ GRAPH <{g}> {{ <{log}> {predicate} {value} }} }}")


def test_two_work_logs_trading_days_land_in_one_run(world):
    # Each takes the other's place: no order of two PATCHes avoids an overlap, so one steps aside first.
    tk = world.tk
    a = tk.work_log(world.lotte, world.activity, D, "PT2H")
    b = tk.work_log(world.lotte, world.activity, D + dt.timedelta(days=1), "PT2H")
    tk.load(world.store.client())
    run()
    _set(world.store, a, "cal:dtstart", f'"{D + dt.timedelta(days=1)}"^^xsd:date')
    _set(world.store, b, "cal:dtstart", f'"{D}"^^xsd:date')
    summary = run()
    assert summary["counts"]["failed"] == 0 and summary["counts"]["updated"] == 2, summary["failures"]
    day_of = {marker_of(t.description): t.begin.date() for t in sheets(world.kimai, world.lotte_id)}
    assert day_of == {a.rsplit("/", 1)[1]: D + dt.timedelta(days=1), b.rsplit("/", 1)[1]: D}
    world.kimai.clear_requests()
    run()
    assert writes(world.kimai) == []


def test_a_work_log_handed_to_someone_in_another_time_zone_lands_at_their_morning(world):
    # Kimai keeps a record's time zone when its user changes and reads PATCHed times in it.
    tk = world.tk
    log = tk.work_log(world.ann, world.activity, D, "PT2H")
    tk.load(world.store.client())
    run()
    _set(world.store, log, "prov:wasAssociatedWith", f"<{world.lotte}>")
    summary = run()
    assert summary["counts"]["failed"] == 0, summary["failures"]
    (moved,) = sheets(world.kimai, world.lotte_id)
    brussels = moved.begin.astimezone(dt.timezone(dt.timedelta(hours=1)))  # CET on 12 March
    assert (brussels.hour, brussels.minute, moved.end - moved.begin) == (9, 0, dt.timedelta(hours=2))
    world.kimai.clear_requests()
    run()
    assert writes(world.kimai) == []
