"""A run's verdict in one line and a few tags: what an operator reads on the runs list.

"812 created · 48 skipped (2 people without a Kimai account, 1 person disabled in Kimai) · 27
person-days differ". A run whose work was not all done cleanly (records skipped, blocked or
failed, warnings, hours that differ, the deletion guard) is tagged `needs-look`, with a tag per
kind of trouble, so the runs list can be filtered on it. Plain code; the flows put it on the run
(tasks/run_state.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kimaisync.report import BLOCKED, CREATED, DELETED, FAILED, SKIPPED, UNCHANGED, UPDATED, WARNING, RunReport

NEEDS_LOOK = "needs-look"
SEP = " · "


@dataclass
class Verdict:
    message: str
    needs_look: bool
    tags: list[str] = field(default_factory=list)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def verdict(report: RunReport, *, person_days_differ: int = 0, extra: list[str] = (),
            limit: int = 300) -> Verdict:
    """The one line and the tags of a run. `person_days_differ`: rows of the hours reconciliation
    that differ; `extra`: more trouble the report's rows do not hold (e.g. "3 timesheets not
    locked"), each making the run need a look. Cut to `limit` characters (a state message is
    read in a list, not studied)."""
    c = report.counts()
    parts = [f"{c[o]} {o}" for o in (CREATED, UPDATED, DELETED) if c[o]]
    tags: list[str] = []
    groups = report.groups((FAILED, BLOCKED, SKIPPED))
    for outcome in (FAILED, BLOCKED, SKIPPED):
        if not c[outcome]:
            continue
        tags.append(outcome)
        why = [g.counted() for g in groups if g.outcome == outcome and g.coded]  # free text stays in the table
        parts.append(f"{c[outcome]} {outcome}" + (f" ({', '.join(why)})" if why else ""))
    if not parts:
        parts.append(f"{c[UNCHANGED]} unchanged" if c[UNCHANGED] else "nothing to do")
    if person_days_differ:
        parts.append(_plural(person_days_differ, "person-day differs", "person-days differ"))
        tags.append("hours-differ")
    if any(r.cause == "guard" for r in report.rows):
        parts.append("deletion guard tripped")
        tags.append("guard")
    warnings = [r for r in report.rows if r.outcome == WARNING and r.cause != "guard"]
    if warnings:
        parts.append(_plural(len(warnings), "warning"))
        tags.append("warnings")
    for e in extra:
        parts.append(e)
    if extra:
        tags.append("incomplete")
    needs_look = bool(tags)
    if report.dry_run:
        parts.insert(0, "dry run")
        tags.append("dry-run")
    message = SEP.join(parts)
    if len(message) > limit:
        message = message[: limit - 1] + "…"
    return Verdict(message, needs_look, ([NEEDS_LOOK] if needs_look else []) + tags)
