"""The report of a work-log sync: one row per work log or tracker entry, with its outcome."""

from __future__ import annotations

from kimaisync.apply.timesheets import Outcome
from kimaisync.plan.worklogs import Plan
from kimaisync.report import RunReport

_OUTCOME = {"created": "created", "updated": "updated", "unchanged": "unchanged", "deleted": "deleted",
            "skipped": "skipped", "blocked": "blocked", "failed": "failed"}


def work_log_report(title: str, outcomes: list[Outcome], result: Plan, *, dry_run: bool, tracker,
                    names: dict[str, str] | None = None, warnings: list[str] = ()) -> RunReport:
    """`tracker`: the `trackers.port.Tracker` (its title and word for an entry name the rows)."""
    names = names or {}
    entry = f"{tracker.title} {tracker.entry_word}"
    report = RunReport(title, dry_run=dry_run, tracker=tracker.title)
    for o in outcomes:
        a = o.action
        if a.kind == "delete" or (a.work_log is None and a.entry_id is not None):
            kind, key = tracker.entry_word, f"{entry} {a.entry_id}"
        else:
            kind = "work-log"
            who = names.get(a.person or "", "")
            key = (a.work_log_uuid or a.work_log or "?") + (f" ({who}, {a.date})" if who and a.date else
                                                           f" ({a.date})" if a.date else "")
        reason = o.message or a.reason
        if o.entry_id is not None and o.status in ("created", "updated", "unchanged"):
            reason = f"{entry} {o.entry_id}" + (f"; {reason}" if reason else "")
        status = o.status
        if dry_run and a.kind != "unchanged":
            status = {"create": "created", "update": "updated", "delete": "deleted"}.get(a.kind, _OUTCOME[o.status])
            reason = f"(dry run) {a.reason}" if a.reason else "(dry run)"
        report.add(kind, key, _OUTCOME[status], reason, cause=a.cause, who=names.get(a.person or "", ""))
    if result.guard_tripped:
        report.add("run", "deletion guard", "warning", result.guard_tripped, cause="guard")
    for w in warnings:
        report.add("run", tracker.name, "warning", w)
    return report
