"""The work-log plan, in plain code: what lands in Kimai, and what is left alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kimaisync.durations import DurationError, format_minutes, parse_minutes
from kimaisync.marker import marker
from kimaisync.plan.worklogs import PlanOptions, plan
from kimaisync.timekeeper import ActivityRef, TimekeeperSnapshot, WorkLog
from kimaisync.trackers.kimai2.adapter import CAPABILITIES as KIMAI2
from kimaisync.trackers.port import Capabilities, CredentialScope, Entry, TimeModel, TrackerUser

BRU = ZoneInfo("Europe/Brussels")
DAY = dt.date(2025, 3, 12)
P1, P2, P3 = "http://tk/persons/1", "http://tk/persons/2", "http://tk/persons/3"
TASK = "http://tk/tasks/act-31"
# Kimai 2 as the port describes it: these tests are its safety net.
OPTS = PlanOptions(period=(dt.date(2025, 3, 1), dt.date(2025, 3, 31)), capabilities=KIMAI2, tracker="Kimai",
                   entry_word="timesheet")


def users(*specs):
    return {uid: TrackerUser(uid, f"u{uid}", True, tz) for uid, tz in specs}


USERS = users((14, "Europe/Brussels"), (15, "America/New_York"))


def snap(*logs, accounts=None, dangling=None):
    return TimekeeperSnapshot(
        work_logs=list(logs),
        activities={TASK: ActivityRef(TASK, 31, 31, "General")},
        accounts=accounts if accounts is not None else {P1: [14], P2: [15]},
        person_names={P1: "Lotte", P2: "Ann", P3: "Nobody"},
        dangling=dangling or {},
    )


def log(uuid, duration="PT1H", day=DAY, person=P1, kid=None, task=TASK):
    return WorkLog(f"http://tk/work-logs/{uuid}", uuid, day.isoformat(), duration, task, person,
                   (str(kid),) if kid else ())


def ts(tid, begin, minutes, user=14, desc=None, exported=False, project=31, activity=31):
    end = begin + dt.timedelta(minutes=minutes)
    return Entry(tid, user, project, activity, desc, begin, end, None, minutes, exported)


def at(h, m=0, day=DAY, zone=BRU):
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=zone)


def kimai_after(p, start_id=100):
    """The timesheets Kimai would hold after the plan's creates (for rerun checks)."""
    out, nid = [], start_id
    for a in p.of("create"):
        d = a.desired
        out.append(ts(nid, d.begin, int((d.end - d.begin).total_seconds() // 60), d.user, d.description))
        nid += 1
    return out


def test_three_logs_of_one_day_are_laid_out_back_to_back_from_nine():
    p = plan(snap(log("B", "PT2H"), log("A", "PT45M"), log("C", "PT10H")), [], USERS, OPTS)
    creates = p.of("create")
    assert [a.work_log_uuid for a in creates] == ["A", "B", "C"]  # stable order: by mu:uuid
    slots = [(a.desired.begin, a.desired.end) for a in creates]
    assert slots[0][0] == at(9)
    assert [e - b for b, e in slots] == [dt.timedelta(minutes=45), dt.timedelta(hours=2), dt.timedelta(hours=10)]
    assert all(slots[i][1] == slots[i + 1][0] for i in range(2))  # touching, never overlapping
    assert slots[2][1] == at(21, 45)
    assert all(a.desired.description == marker(a.work_log_uuid) for a in creates)


def test_a_long_day_runs_past_midnight():
    p = plan(snap(log("A", "PT10H"), log("B", "PT8H")), [], USERS, OPTS)
    assert p.of("create")[1].desired.end == at(3, day=DAY + dt.timedelta(days=1))


def test_person_timezone_is_used_for_the_start_of_day():
    p = plan(snap(log("A", person=P2)), [], USERS, OPTS)
    assert p.of("create")[0].desired.begin == at(9, zone=ZoneInfo("America/New_York"))
    assert p.of("create")[0].desired.zone == "America/New_York"


def test_dst_day_has_no_gap_or_overlap():
    spring = dt.date(2025, 3, 30)  # Brussels skips 02:00-03:00
    p = plan(snap(log("A", "PT20H", day=spring), log("B", "PT2H", day=spring)), [], USERS,
             PlanOptions(period=(spring, spring)))
    a, b = p.of("create")
    assert a.desired.end == b.desired.begin and (a.desired.end - a.desired.begin) == dt.timedelta(hours=20)


def test_rerun_with_kimai_matching_makes_no_writes():
    logs = [log("A", "PT2H", kid=100), log("B", "PT45M", kid=101), log("C", "PT10H", kid=102)]
    first = plan(snap(*[log(l.uuid, l.duration_raw) for l in logs]), [], USERS, OPTS)
    again = plan(snap(*logs), kimai_after(first), USERS, OPTS)
    assert again.counts() == {"unchanged": 3}
    assert not again.writes and not any(a.write_id for a in again.actions)


def test_editing_the_last_duration_patches_only_its_end():
    first = plan(snap(log("A", "PT2H"), log("B", "PT1H")), [], USERS, OPTS)
    kimai = kimai_after(first)
    p = plan(snap(log("A", "PT2H", kid=100), log("B", "PT1H30M", kid=101)), kimai, USERS, OPTS)
    [upd] = p.of("update")
    assert upd.entry_id == 101 and set(upd.changes) == {"end"} and upd.changes["end"] == at(12, 30)
    assert p.counts() == {"unchanged": 1, "update": 1}


def test_person_without_account_is_skipped_with_reason_and_the_rest_lands():
    p = plan(snap(log("A", person=P3), log("B")), [], USERS, OPTS)
    [skip] = p.of("skip")
    assert "Nobody has no Kimai account" in skip.reason
    assert [a.work_log_uuid for a in p.of("create")] == ["B"]


@pytest.mark.parametrize("duration,reason", [("PTH1", "not an ISO 8601 duration"), (None, "no cal:duration"),
                                             ("7.5h", "not an ISO 8601 duration")])
def test_broken_durations_are_skipped(duration, reason):
    p = plan(snap(log("A", duration)), [], USERS, OPTS)
    assert reason in p.of("skip")[0].reason


def test_task_that_is_not_a_kimai_activity_is_skipped():
    s = snap(log("A", task="http://tk/tasks/project-9"))
    s.non_activity_tasks["http://tk/tasks/project-9"] = "task <http://tk/tasks/project-9> is a Kimai project, not an activity"
    assert "not an activity" in plan(s, [], USERS, OPTS).of("skip")[0].reason


def test_two_linked_accounts_are_ambiguous():
    p = plan(snap(log("A"), accounts={P1: [14, 15]}), [], USERS, OPTS)
    assert "2 Kimai accounts" in p.of("skip")[0].reason


def test_timesheet_found_by_marker_is_adopted_not_created_again():
    kimai = [ts(555, at(9), 60, desc=marker("A"))]
    p = plan(snap(log("A")), kimai, USERS, OPTS)
    [a] = p.actions
    assert a.kind == "unchanged" and a.entry_id == 555 and a.write_id


def test_timesheet_deleted_by_hand_in_kimai_is_created_again_and_said():
    p = plan(snap(log("A", kid=77)), [], USERS, OPTS, missing_ids={77})
    [a] = p.of("create")
    assert "77 was deleted in Kimai" in a.reason and a.write_id


def test_deleted_work_log_deletes_its_timesheet_and_clears_the_dangling_id():
    gone = "http://tk/work-logs/GONE"
    kimai = [ts(90, at(9), 60, desc=marker("GONE"))]
    p = plan(snap(dangling={gone: ["90"]}), kimai, USERS, OPTS)
    [d] = p.of("delete")
    assert d.entry_id == 90 and d.clear_dangling == gone


def test_hand_typed_timesheet_survives_and_is_stepped_around():
    typed = ts(5, at(9), 90, desc="client call")  # no marker: not ours
    p = plan(snap(log("A", "PT1H")), [typed], USERS, OPTS)
    assert not p.of("delete")
    [c] = p.of("create")
    assert c.desired.begin == at(10, 30)  # after the hand-typed record, so no overlap


def test_widened_scopes_delete_foreign_timesheets():
    typed = ts(5, at(9), 90, desc="client call")
    stranger = ts(6, at(9), 30, user=99)
    linked = plan(snap(), [typed, stranger], USERS, PlanOptions(period=OPTS.period, delete_scope="linked"))
    assert [a.entry_id for a in linked.of("delete")] == [5]
    everything = plan(snap(), [typed, stranger], USERS, PlanOptions(period=OPTS.period, delete_scope="all"))
    assert [a.entry_id for a in everything.of("delete")] == [5, 6]


def test_deletion_guard_refuses_mass_deletion_unless_forced():
    kimai = [ts(i, at(9, day=dt.date(2025, 3, 1 + i % 28)), 60, desc=marker(f"L{i}")) for i in range(50)]
    p = plan(snap(), kimai, USERS, OPTS)  # e.g. the store read returned nothing
    assert not p.of("delete") and p.guard_tripped and "--force" in p.guard_tripped
    assert len(p.of("blocked")) == 50
    forced = plan(snap(), kimai, USERS, PlanOptions(period=OPTS.period, force=True))
    assert len(forced.of("delete")) == 50


def test_timesheets_of_work_logs_outside_the_period_are_kept():
    kimai = [ts(8, at(9), 60, desc=marker("ELSEWHERE")), ts(9, at(11), 60)]
    p = plan(snap(), kimai, USERS, OPTS, live_uuids_elsewhere={"ELSEWHERE"}, claimed_elsewhere={9})
    assert not p.of("delete")


def test_exported_timesheet_that_differs_is_blocked_not_changed():
    kimai = [ts(100, at(9), 60, desc=marker("A"), exported=True)]
    p = plan(snap(log("A", "PT2H", kid=100)), kimai, USERS, OPTS)
    [b] = p.of("blocked")
    assert "exported" in b.reason and b.entry_id == 100


def test_text_typed_in_kimai_description_is_kept_beside_the_marker():
    kimai = [ts(100, at(9), 60, desc="call with the harbour team")]
    p = plan(snap(log("A", kid=100)), kimai, USERS, OPTS)
    [u] = p.of("update")
    assert u.changes == {"description": "call with the harbour team [tk:A]"}


@pytest.mark.parametrize("text,minutes", [("PT7H30M", 450), ("PT45M", 45), ("PT10H", 600), ("PT8H", 480),
                                          ("P1DT2H", 1560), ("PT1H20M29S", 80), ("PT1H20M30S", 81), ("PT0S", 0),
                                          ("PT1.5H", 90)])
def test_durations(text, minutes):
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "PT", "P", "1H", "PT-1H", "PTH8", "P400D"])
def test_bad_durations(text):
    with pytest.raises(DurationError):
        parse_minutes(text)


def test_format_minutes_matches_the_frontend_shape():
    assert [format_minutes(m) for m in (450, 45, 600, 0)] == ["PT7H30M", "PT45M", "PT10H", "PT0S"]


# ---------------------------------------------------------------- what the tracker's capabilities change

DAY_NO_DELETE = Capabilities(time_model=TimeModel.DAY, can_delete=False, credentials=CredentialScope.PER_PERSON,
                             locked_immutable=True, locked_word="approved")


def day_entry(tid, minutes, user=14, desc=None, locked=False):
    return Entry(tid, user, 31, 31, desc, date=DAY, minutes=minutes, locked=locked)


def test_a_day_tracker_gets_dates_and_minutes_never_clock_times():
    opts = dataclasses.replace(OPTS, capabilities=DAY_NO_DELETE, tracker="Fake")
    p = plan(snap(log("A", "PT45M"), log("B", "PT2H")), [], USERS, opts)
    assert [(a.desired.date, a.desired.minutes, a.desired.begin, a.desired.end) for a in p.of("create")] == [
        (DAY, 45, None, None), (DAY, 120, None, None)]
    edited = plan(snap(log("A", "PT1H")), [day_entry(7, 45, desc=marker("A"))], USERS, opts)
    (upd,) = edited.of("update")
    assert upd.changes == {"minutes": 60} and edited.held == {}


def test_a_tracker_that_cannot_delete_is_never_asked_to():
    opts = dataclasses.replace(OPTS, capabilities=DAY_NO_DELETE, tracker="Fake")
    orphan = day_entry(8, 30, desc=marker("gone"))
    p = plan(snap(dangling={"http://tk/work-logs/old": ["99"]}), [orphan], USERS, opts)
    assert p.of("delete") == []
    (kept,) = p.of("blocked")
    assert kept.entry_id == 8 and "Fake cannot delete through its API" in kept.reason
    with_delete = plan(snap(dangling={"http://tk/work-logs/old": ["99"]}), [orphan], USERS, OPTS)
    assert sorted(a.entry_id for a in with_delete.of("delete")) == [8, 99]


def test_locked_entries_are_written_only_when_the_tracker_allows_it():
    mutable = dataclasses.replace(DAY_NO_DELETE, locked_immutable=False)
    approved = day_entry(7, 45, desc=marker("A"), locked=True)
    blocked = plan(snap(log("A", "PT1H")), [approved], USERS, dataclasses.replace(OPTS, capabilities=DAY_NO_DELETE,
                                                                                   tracker="Fake"))
    assert "approved in Fake: cannot change minutes" in blocked.of("blocked")[0].reason
    allowed = plan(snap(log("A", "PT1H")), [approved], USERS, dataclasses.replace(OPTS, capabilities=mutable))
    assert [a.changes for a in allowed.of("update")] == [{"minutes": 60}]


def test_a_person_the_sync_cannot_write_as_is_skipped_with_the_reason():
    opts = dataclasses.replace(OPTS, capabilities=DAY_NO_DELETE, tracker="Fake",
                               no_session={15: "no credential configured for user 15"})
    p = plan(snap(log("A", "PT1H"), log("B", "PT1H", person=P2)), [], USERS, opts)
    assert [a.work_log_uuid for a in p.of("create")] == ["A"]
    assert "cannot write as Fake user 15 of person Ann: no credential" in p.of("skip")[0].reason
