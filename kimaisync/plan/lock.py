"""Which monthly timesheets to lock, in plain code.

Only SUBMITTED timesheets are locked, and only when every work log of that person's month is
in Kimai (after the same sync the period flow runs). Otherwise the timesheet stays SUBMITTED
and each blocking work log is named with its reason; `force` locks anyway and lists what it
overrode. DRAFT, ABSENCE_SUBMITTED and EXPORTED timesheets are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kimaisync.rdf.vocab import TimesheetStatus
from kimaisync.store.timesheets import MonthSheet

IN_KIMAI = ("created", "updated", "unchanged")


@dataclass(slots=True)
class LockDecision:
    sheet: MonthSheet
    action: Literal["lock", "leave", "blocked"]
    work_logs: list[str] = field(default_factory=list)
    blockers: list[tuple[str, str]] = field(default_factory=list)  # (work log, reason)
    overridden: bool = False

    @property
    def status_before(self) -> str:
        return TimesheetStatus.label(self.sheet.status)

    @property
    def status_after(self) -> str:
        return "EXPORTED" if self.action == "lock" else self.status_before


def decide(sheets: list[MonthSheet], logs_of_person: dict[str, list[str]],
           outcome_of_log: dict[str, tuple[str, str]], *, force: bool) -> list[LockDecision]:
    """`outcome_of_log`: work log → (status, reason) of its sync in this run."""
    out = []
    for sheet in sheets:
        if sheet.status != TimesheetStatus.SUBMITTED:
            out.append(LockDecision(sheet, "leave"))
            continue
        if not sheet.person:
            out.append(LockDecision(sheet, "blocked", blockers=[("", "the timesheet names no person")]))
            continue
        logs = sorted(logs_of_person.get(sheet.person, []))
        blockers = []
        for log in logs:
            status, reason = outcome_of_log.get(log, ("failed", "not synced in this run"))
            if status not in IN_KIMAI:
                blockers.append((log, f"{status}: {reason}" if reason else status))
        if blockers and not force:
            out.append(LockDecision(sheet, "blocked", logs, blockers))
        else:
            out.append(LockDecision(sheet, "lock", logs, blockers, overridden=bool(blockers)))
    return out
