"""The timesheet lock: submitted months become EXPORTED with their work logs, and nothing else moves."""

from __future__ import annotations

import datetime as dt

import pytest

from kimaisync.cli import main
from kimaisync.fixtures import TIMESHEET_GRAPH, TimekeeperData
from kimaisync.rdf.vocab import TimesheetStatus as S

MARCH = dt.date(2025, 3, 1)


@pytest.fixture
def month(kimai_state, store, sync_env):
    cust = kimai_state.add_customer("Acme")
    proj = kimai_state.add_project("Site", cust.id)
    act = kimai_state.add_activity("General", proj.id)
    users = {n: kimai_state.add_user(n, timezone="Europe/Brussels") for n in ("an", "bo", "cy", "di", "ed")}
    tk = TimekeeperData()
    w = type("Month", (), {})()
    w.kimai, w.store, w.tk = kimai_state, store, tk
    w.task = tk.activity(act.id, tk.project(proj.id, "Site"), "General")
    w.orphan_task = tk.activity(99, None, "Global")  # an activity with no project cannot sync
    w.people = {n: tk.person(n.title(), u.id) for n, u in users.items()}
    w.logs = {n: [tk.work_log(p, w.task, MARCH + dt.timedelta(days=d), "PT4H") for d in (2, 3)]
              for n, p in w.people.items()}
    w.sheets = {"an": tk.timesheet(w.people["an"], MARCH, S.SUBMITTED),
                "bo": tk.timesheet(w.people["bo"], MARCH, S.DRAFT),
                "cy": tk.timesheet(w.people["cy"], MARCH, S.ABSENCE_SUBMITTED),
                "di": tk.timesheet(w.people["di"], MARCH, S.EXPORTED),
                "ed": tk.timesheet(w.people["ed"], MARCH, S.SUBMITTED)}
    w.bad = tk.work_log(w.people["ed"], w.orphan_task, MARCH + dt.timedelta(days=4), "PT1H")
    tk.load(store.client())
    return w


def state_of(store, sheet):
    rows = store.client().select(f"SELECT ?s ?m WHERE {{ <{sheet}> adms:status ?s . OPTIONAL {{ <{sheet}> skos:member ?m }} }}")
    return rows[0]["s"], {r["m"] for r in rows if "m" in r}


def lock(**kw):
    from flows.timesheet_lock import lock_timesheets
    return lock_timesheets(month=3, year=2025, **kw)


@pytest.mark.usefixtures("prefect_server")
def test_lock_submitted_leave_the_rest_block_unsyncable_and_force(month):
    summary = lock()
    status, members = state_of(month.store, month.sheets["an"])
    assert status == S.EXPORTED and members == set(month.logs["an"])
    assert all(t.user for t in month.kimai.timesheets.values())  # An's logs were synced to Kimai first
    for name, before in (("bo", S.DRAFT), ("cy", S.ABSENCE_SUBMITTED), ("di", S.EXPORTED)):
        assert state_of(month.store, month.sheets[name]) == (before, set())
    status, members = state_of(month.store, month.sheets["ed"])
    assert status == S.SUBMITTED and not members
    [blocked] = summary["not_locked"]
    assert month.bad.rsplit("/", 1)[1] in blocked["blockers"] and "no Kimai project" in blocked["blockers"]
    assert summary["failed"]

    month.kimai.clear_requests()
    again = lock()  # idempotent: nothing new to write in Kimai or the store for An
    assert not [r for r in month.kimai.requests if r.method in ("POST", "PATCH", "DELETE")]
    assert state_of(month.store, month.sheets["an"])[1] == set(month.logs["an"])
    assert [p["status"] for p in again["people"] if p["person"] == "An"] == ["EXPORTED → EXPORTED"]

    forced = lock(force=True)
    status, members = state_of(month.store, month.sheets["ed"])
    assert status == S.EXPORTED and members == set(month.logs["ed"]) | {month.bad}
    assert any("forced past" in p["blockers"] for p in forced["people"])


@pytest.mark.usefixtures("prefect_server")
def test_moving_a_work_log_between_months_moves_its_membership(month, store):
    lock(force=True)
    moved = month.logs["an"][0]
    april = month.tk.timesheet(month.people["an"], dt.date(2025, 4, 1), S.SUBMITTED)
    month.tk.load(store.client())
    store.client().update(
        f'DELETE WHERE {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{moved}> cal:dtstart ?d }} }} ;'
        f'INSERT DATA {{ GRAPH <{TIMESHEET_GRAPH}> {{ <{moved}> cal:dtstart "2025-04-02"^^xsd:date }} }}')
    from flows.timesheet_lock import lock_timesheets
    lock_timesheets(month=4, year=2025)
    assert state_of(store, april) == (S.EXPORTED, {moved})
    assert moved not in state_of(store, month.sheets["an"])[1]


@pytest.mark.parametrize("argv", [["0", "2025"], ["13", "2025"], ["3", "25"], ["march", "2025"], ["3", "20255"]])
def test_bad_month_or_year_is_refused_before_any_request(argv, capsys):
    assert main(["lock-timesheets", *argv]) == 2
    assert "lock-timesheets:" in capsys.readouterr().err


@pytest.mark.parametrize("month,year", [(0, 2025), (13, 2025), (3, 25), (True, 2025)])
def test_flow_refuses_bad_month_or_year(month, year):
    from flows.timesheet_lock import month_bounds
    with pytest.raises(ValueError, match="must be"):
        month_bounds(month, year)


@pytest.mark.usefixtures("prefect_server")
def test_lock_can_mark_the_month_exported_in_kimai(month, monkeypatch):
    monkeypatch.setenv("LOCK_MARK_EXPORTED_IN_KIMAI", "true")
    summary = lock()
    an = month.kimai.users[[u.id for u in month.kimai.users.values() if u.username == "an"][0]]
    mine = [t for t in month.kimai.timesheets.values() if t.user == an.id]
    assert len(mine) == 2 and all(t.exported for t in mine)  # An's locked month, now refused edits in Kimai
    assert not any(t.exported for t in month.kimai.timesheets.values() if t.user != an.id)  # Ed was not locked
    assert summary["stats"]["kimai_marked_exported"] == 2


def test_a_403_on_marking_exported_is_reported_not_retried():
    from flows.timesheet_lock import _mark_exported
    from kimaisync.errors import KimaiPermissionError

    class NoExport:  # a tracker (and its one session) whose API user may not mark exported
        calls = 0
        title, entry_word = "Kimai", "timesheet"

        def session(self, user=None):
            return self

        def mark_exported(self, tid, exported):
            NoExport.calls += 1
            raise KimaiPermissionError("Forbidden", method="PATCH", path=f"/api/timesheets/{tid}/export", status=403)

    marked, note = _mark_exported(NoExport(), [1, 2, 3])
    assert marked == 0 and NoExport.calls == 1
    assert "may not mark timesheets as exported" in note and "edit_export" in note
