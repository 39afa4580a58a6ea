"""What a run did, record by record: one shape every flow reports in.

A run report is a list of rows `(kind, key, outcome, reason)` plus the counts derived from
them. It is plain data (no Prefect, no I/O) so planning code can fill it and tests can read
it; `tasks.artifacts` publishes it. Rows hold names and ids only, never a secret.

Outcomes: every record a run acts on gets one primary row (`created`, `updated`, `deleted`,
`unchanged`, `skipped`, `blocked` or `failed`); anything a person should look at is a `warning`
row, extra or instead (a record the run could not touch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
WARNING = "warning"
FAILED = "failed"
# Work-log syncs also delete Kimai timesheets, skip records that cannot sync, and meet records
# Kimai will not let them change (exported, locked, or held back by the deletion guard).
DELETED = "deleted"
SKIPPED = "skipped"
BLOCKED = "blocked"
OUTCOMES = (CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, BLOCKED, WARNING, FAILED)


@dataclass(frozen=True, slots=True)
class ReportRow:
    kind: str
    key: str
    outcome: str
    reason: str = ""
    cause: str = ""  # a code of kimaisync.causes, for grouped summaries
    who: str = ""  # the person's name, when the row is about one person's record

    def as_dict(self) -> dict[str, str]:
        # The reason before the key: in a wide table it is what must be read without scrolling.
        return {"outcome": self.outcome, "kind": self.kind, "reason": self.reason, "key": self.key}


@dataclass
class Group:
    """Rows of one outcome that share a cause (or, without one, the same reason)."""

    outcome: str
    label: str  # "people without a Kimai account" (counted), or the shared reason
    records: int
    people: list[str]
    todo: str = ""
    per_person: bool = False
    coded: bool = False  # label is a cause's code (kimaisync.causes), not a reason
    tracker: str = "Kimai"  # the tracker's title, for the cause's words

    def counted(self) -> str:
        """"2 people without a Kimai account", "3 work logs without a task"."""
        from kimaisync.causes import cause

        c = cause(self.label) if self.coded else None
        if c is not None:
            return c.counted(max(1, len(self.people)) if c.per_person else self.records, self.tracker)
        return f"{self.records} × {self.label}"


@dataclass
class RunReport:
    """Rows of one run (or of several merged runs) with counts, a table and a summary."""

    title: str
    dry_run: bool = False
    rows: list[ReportRow] = field(default_factory=list)
    # Figures that are not per-record (e.g. SPARQL requests); shown in the summary.
    stats: dict[str, int] = field(default_factory=dict)
    # Things needing a look that are no record's row (e.g. hours that differ), for the summary.
    notes: list[str] = field(default_factory=list)
    tracker: str = "Kimai"  # the tracker's title, in the words of grouped causes

    def add(self, kind: str, key: str, outcome: str, reason: str = "", *, cause: str = "",
            who: str = "") -> ReportRow:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        row = ReportRow(kind, str(key), outcome, reason, cause, who)
        self.rows.append(row)
        return row

    def extend(self, other: "RunReport") -> "RunReport":
        """Append another report's rows and add up its stats (e.g. several flows of one CLI run)."""
        self.rows.extend(other.rows)
        for k, v in other.stats.items():
            self.stats[k] = self.stats.get(k, 0) + v
        self.dry_run = self.dry_run or other.dry_run
        self.notes.extend(other.notes)
        if self.tracker == RunReport.tracker:  # still the default: take the merged run's
            self.tracker = other.tracker
        return self

    # ------------------------------------------------------------------ figures

    def counts(self) -> dict[str, int]:
        c = Counter(r.outcome for r in self.rows)
        return {o: c.get(o, 0) for o in OUTCOMES}

    def counts_by_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.rows:
            out.setdefault(r.kind, {o: 0 for o in OUTCOMES})[r.outcome] += 1
        return out

    @property
    def failed(self) -> bool:
        return any(r.outcome == FAILED for r in self.rows)

    def of(self, outcome: str, kind: str | None = None) -> list[ReportRow]:
        return [r for r in self.rows if r.outcome == outcome and (kind is None or r.kind == kind)]

    def groups(self, outcomes: tuple[str, ...] = (FAILED, BLOCKED, SKIPPED, WARNING)) -> list[Group]:
        """Rows needing a look, grouped by outcome and cause, biggest first within an outcome; a row
        without a cause groups with the rows of the very same reason."""
        from kimaisync.causes import cause

        found: dict[tuple[str, str], Group] = {}
        for r in self.rows:
            if r.outcome not in outcomes:
                continue
            c = cause(r.cause) if r.cause else None
            label = c.code if c else r.reason or "(no reason given)"
            g = found.get((r.outcome, label))
            if g is None:
                g = found[(r.outcome, label)] = Group(r.outcome, label, 0, [], c.todo_for(self.tracker) if c else "",
                                                      bool(c and c.per_person), c is not None, self.tracker)
            g.records += 1
            if r.who and r.who not in g.people:
                g.people.append(r.who)
        order = {o: i for i, o in enumerate(outcomes)}
        return sorted(found.values(), key=lambda g: (order[g.outcome], -g.records, g.label))

    # ------------------------------------------------------------------ renderings

    def table(self, *, include_unchanged: bool = False, limit: int = 1000) -> list[dict[str, str]]:
        """Rows for a table artifact: failures and warnings first; unchanged ones counted per kind
        (one by one on request).

        Capped at `limit` rows (a last row says how many were left out) so a run over thousands
        of records still gives a table a browser can show.
        """
        order = {FAILED: 0, BLOCKED: 1, SKIPPED: 2, WARNING: 3, CREATED: 4, UPDATED: 5, DELETED: 6, UNCHANGED: 7}
        rows = [r for r in self.rows if include_unchanged or r.outcome != UNCHANGED]
        rows.sort(key=lambda r: (order[r.outcome], r.kind))
        out = [r.as_dict() for r in rows[:limit]]
        if len(rows) > limit:
            out.append({"outcome": "", "kind": "", "reason": f"... {len(rows) - limit} more rows not shown", "key": ""})
        if not include_unchanged:  # unchanged records: one row per kind, so the table still shows them
            for kind, c in self.counts_by_kind().items():
                if c[UNCHANGED]:
                    out.append({"outcome": UNCHANGED, "kind": kind, "reason": "",
                                "key": f"{c[UNCHANGED]} record{'s' if c[UNCHANGED] != 1 else ''}"})
        return out

    def summary_line(self) -> str:
        c = self.counts()
        return ", ".join(f"{c[o]} {o}" for o in OUTCOMES if c[o] or o in (CREATED, UPDATED, UNCHANGED))

    def markdown(self) -> str:
        """A heading and one paragraph: what happened per kind, then what needs a look."""
        parts = []
        for kind, c in self.counts_by_kind().items():
            bits = [f"{c[o]} {o}" for o in (CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, BLOCKED, FAILED) if c[o]]
            if c[WARNING]:
                bits.append(f"{c[WARNING]} warning{'s' if c[WARNING] != 1 else ''}")
            parts.append(f"{kind}: {', '.join(bits) or 'nothing'}")
        mode = "Dry run, nothing was written. " if self.dry_run else ""
        body = "; ".join(parts) + "." if parts else "Nothing to do."
        stats = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.stats.items())
        tail = []
        if self.failed:
            tail.append(f"{len(self.of(FAILED))} record(s) FAILED; see the table for the reasons.")
        if self.of(WARNING):
            tail.append(f"{len(self.of(WARNING))} warning(s) need a look; see the table.")
        if stats:
            tail.append(f"({stats}.)")
        text = f"# {self.title}\n\n{mode}{body}" + (" " + " ".join(tail) if tail else "") + "\n"
        grouped = self.grouped_markdown()
        return text + ("\n" + grouped if grouped else "")

    def grouped_markdown(self, *, people_limit: int = 20) -> str:
        """"## Needs a look": one line per outcome and cause, with its count, the people it is
        about and what to do; empty when nothing needs a look."""
        lines = []
        for g in self.groups():
            what = g.counted()
            if g.per_person:
                what += f" ({g.records} record{'s' if g.records != 1 else ''})"
            who = ""
            if g.people:
                shown = ", ".join(g.people[:people_limit])
                more = len(g.people) - people_limit
                who = f": {shown}" + (f" and {more} more" if more > 0 else "")
            todo = f". To do: {g.todo}" if g.todo else ""
            lines.append(f"- **{g.outcome}**: {what}{who}{todo}")
        lines += [f"- {note}" for note in self.notes]
        return "## Needs a look\n\n" + "\n".join(lines) + "\n" if lines else ""

    def summary(self) -> dict[str, Any]:
        """JSON-friendly result of a flow: counts, per-kind counts, stats and whether anything failed."""
        return {
            "title": self.title,
            "dry_run": self.dry_run,
            "failed": self.failed,
            "counts": self.counts(),
            "by_kind": self.counts_by_kind(),
            "stats": dict(self.stats),
            "warnings": [r.as_dict() for r in self.of(WARNING)][:200],
            "failures": [r.as_dict() for r in self.of(FAILED)][:200],
            "skips": [r.as_dict() for r in self.of(SKIPPED) + self.of(BLOCKED)][:200],
            "groups": [{"outcome": g.outcome, "what": g.counted(), "records": g.records, "people": g.people[:50],
                        "todo": g.todo} for g in self.groups()][:50],
            "rows": self.table(),  # what changed, capped: lets a caller print the plan of a dry run
        }

    def text(self, *, include_unchanged: bool = False, limit: int = 200) -> str:
        """A plain-text listing for a terminal: the summary, then non-unchanged rows."""
        lines = [self.markdown().strip().lstrip("# ")]
        for r in self.table(include_unchanged=include_unchanged, limit=limit):
            lines.append(f"  {r['outcome']:<9} {r['kind']:<9} {r['key']}" + (f": {r['reason']}" if r["reason"] else ""))
        return "\n".join(lines)
