"""What an operator reads: true account reasons, summaries grouped by cause, a run's one-line verdict."""

from __future__ import annotations

import datetime as dt

from kimaisync.trackers.kimai2.adapter import CAPABILITIES as KIMAI2
from kimaisync.trackers.kimai2.adapter import Kimai2Tracker as KIMAI
from kimaisync.trackers.port import TrackerUser
from kimaisync.plan.worklogs import PlanOptions, plan
from kimaisync.report import RunReport
from kimaisync.timekeeper import ActivityRef, TimekeeperSnapshot, WorkLog
from kimaisync.verdict import NEEDS_LOOK, verdict
from kimaisync.worklog_report import work_log_report

DAY = dt.date(2026, 6, 3)
TASK = "http://tk/tasks/act-31"
OPTS = PlanOptions(period=(dt.date(2026, 6, 1), dt.date(2026, 6, 30)), capabilities=KIMAI2, tracker="Kimai",
                   entry_word="timesheet")
ANN, BOB, CAROL, DIRK, EVA = (f"http://tk/persons/{n}" for n in ("ann", "bob", "carol", "dirk", "eva"))
NAMES = {ANN: "Ann", BOB: "Bob", CAROL: "Carol Peeters", DIRK: "Dirk", EVA: "Eva"}
USERS = {
    1: TrackerUser(1, "ann", enabled=True),
    3: TrackerUser(3, "carol", alias="Carol Peeters", enabled=False),  # disabled, never got an account
    5: TrackerUser(5, "eva", enabled=False),  # disabled after her account was linked
}
# Bob: no account and no Kimai user of his name; Dirk: linked to user 4, deleted from Kimai since.
ACCOUNTS = {ANN: [1], DIRK: [4], EVA: [5]}


def log(uuid, person, day=DAY):
    return WorkLog(f"http://tk/work-logs/{uuid}", uuid, day.isoformat(), "PT2H", TASK, person)


def month():
    logs = [log(f"A{i}", ANN, DAY + dt.timedelta(days=i)) for i in range(4)]
    logs += [log(f"B{i}", BOB, DAY + dt.timedelta(days=i)) for i in range(3)]
    logs += [log(f"C{i}", CAROL, DAY + dt.timedelta(days=i)) for i in range(2)]
    logs += [log("D0", DIRK), log("E0", EVA), WorkLog("http://tk/work-logs/X", "X", DAY.isoformat(), "PT1H", None, ANN)]
    snap = TimekeeperSnapshot(work_logs=logs, activities={TASK: ActivityRef(TASK, 31, 31, "General")},
                              accounts=ACCOUNTS, person_names=NAMES)
    return snap, plan(snap, [], USERS, OPTS)


def skip_reason(p, uuid):
    return next(a.reason for a in p.of("skip") if a.work_log_uuid == uuid)


def test_missing_disabled_and_deleted_accounts_are_three_reasons_each_saying_what_to_do():
    _, p = month()
    missing, disabled_unlinked, deleted, disabled = (skip_reason(p, u) for u in ("B0", "C0", "D0", "E0"))
    assert "Bob has no Kimai account linked" in missing and "link the person to their Kimai account" in missing
    # Carol's Kimai user is disabled, so from-kimai made her no account: not "link one", but that.
    assert "disabled in Kimai" in disabled_unlinked and "Kimai user 3 (carol)" in disabled_unlinked
    assert "enable the user in Kimai" in disabled_unlinked and "link one" not in disabled_unlinked
    assert "Kimai user 4 of person Dirk does not exist in Kimai" in deleted and "current Kimai account" in deleted
    assert "Kimai user 5 (eva) of person Eva is disabled in Kimai" in disabled and "enable the user" in disabled
    assert len({missing.split(":")[0], disabled_unlinked.split(":")[0], deleted.split(":")[0]}) == 3
    assert {a.cause for a in p.of("skip")} == {"no-account", "disabled", "user-gone", "no-task"}


def test_the_summary_groups_skips_by_cause_counts_people_and_names_them():
    snap, p = month()
    report = work_log_report("Work logs June", [_done(a) for a in p.actions], p, dry_run=False, tracker=KIMAI,
                             names=snap.person_names)
    groups = {g.label: g for g in report.groups()}
    assert groups["disabled"].people == ["Carol Peeters", "Eva"] and groups["disabled"].records == 3
    assert groups["no-account"].people == ["Bob"] and groups["no-account"].records == 3
    assert groups["user-gone"].counted() == "1 person whose Kimai user was deleted"
    assert groups["no-task"].counted() == "1 work log without a task"
    md = report.markdown()
    assert "## Needs a look" in md
    assert "2 people disabled in Kimai (3 records): Carol Peeters, Eva. To do: enable the user in Kimai" in md
    # Biggest group first within an outcome; the table puts the reason before the key.
    assert md.index("people disabled") < md.index("person whose Kimai user")
    assert list(report.table()[0]) == ["outcome", "kind", "reason", "key"]


def test_the_verdict_names_the_counts_and_tags_a_run_that_needs_a_look():
    snap, p = month()
    report = work_log_report("Work logs June", [_done(a) for a in p.actions], p, dry_run=False, tracker=KIMAI,
                             names=snap.person_names)
    v = verdict(report, person_days_differ=27)
    assert v.message == ("4 created · 8 skipped (2 people disabled in Kimai, 1 person without a Kimai account, "
                         "1 work log without a task, 1 person whose Kimai user was deleted) · 27 person-days differ")
    assert v.needs_look and v.tags == [NEEDS_LOOK, "skipped", "hours-differ"]


def test_a_clean_run_needs_no_look_and_says_what_it_did():
    report = RunReport("clean")
    for i in range(3):
        report.add("work-log", f"w{i}", "created")
    report.add("work-log", "w9", "unchanged")
    v = verdict(report)
    assert v.message == "3 created" and not v.needs_look and v.tags == []
    assert verdict(RunReport("idle")).message == "nothing to do"


def test_failures_guard_warnings_and_other_trouble_each_show():
    report = RunReport("x")
    report.add("work-log", "a", "failed", "Kimai said 500")
    report.add("run", "deletion guard", "warning", "refused to delete 40 of 50", cause="guard")
    report.add("run", "kimai", "warning", "cannot list Kimai users")
    v = verdict(report, extra=["2 timesheets stay SUBMITTED"])
    assert v.message == "1 failed · deletion guard tripped · 1 warning · 2 timesheets stay SUBMITTED"
    assert v.tags == [NEEDS_LOOK, "failed", "guard", "warnings", "incomplete"]


def _done(action):
    """The outcome the applier would report for an action that went through."""
    from kimaisync.apply.timesheets import Outcome

    status = {"create": "created", "skip": "skipped", "unchanged": "unchanged"}[action.kind]
    return Outcome(action, status, 100 if status == "created" else None, "")


def test_grouped_causes_name_the_tracker_the_run_wrote_to():
    report = RunReport("Work logs → EGroupware", tracker="EGroupware")
    report.add("work-log", "a", "skipped", "…", cause="disabled", who="Eva")
    report.add("work-log", "b", "skipped", "…", cause="user-gone", who="Dirk")
    disabled, gone = report.groups()
    assert gone.counted() == "1 person whose EGroupware user was deleted"
    assert disabled.counted() == "1 person disabled in EGroupware"
    assert disabled.todo.startswith("enable the user in EGroupware")
    assert verdict(report).message == ("2 skipped (1 person disabled in EGroupware, "
                                       "1 person whose EGroupware user was deleted)")
