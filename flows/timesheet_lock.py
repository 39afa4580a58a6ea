"""Flow: lock a month's SUBMITTED timesheets: EXPORTED, with their work logs as members.

Before a person's timesheet is locked, that person's work logs of the month are synced to
Kimai with the period flow's planning and apply code (no second implementation); the lock
happens only when every one of them is in Kimai, unless `force`. Entry point of the
`timesheet-lock` deployment, of `POST /timesheets/lock` and of `kimai-sync lock-timesheets`.
"""

from __future__ import annotations

import calendar
import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.worklog_period import plan_options
from kimaisync.errors import KimaiError, KimaiPermissionError
from kimaisync.trackers.kimai2 import KimaiClient
from kimaisync.plan.lock import LockDecision, decide
from kimaisync.rdf.graphs import Graphs
from kimaisync.reconcile import hours_per_person, reconciliation
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.store import timesheets as sheets_store
from kimaisync.worklog_report import work_log_report
from tasks.artifacts import publish_report, publish_table
from tasks.writer import work_log_writer
from tasks.worklogs import plan_work_logs, read_kimai_period, read_timekeeper_period, sync_work_logs


def month_bounds(month: int, year: int) -> tuple[dt.date, dt.date]:
    """First and last day; ValueError saying what is wrong for anything but 1-12 and a 4-digit year."""
    if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
        raise ValueError(f"month must be a number from 1 to 12, got {month!r}")
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ValueError(f"year must be a four-digit number, got {year!r}")
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


@task(name="read-month-timesheets", cache_policy=NO_CACHE)
def read_month_sheets(sparql: SparqlClient, first: dt.date):
    return sheets_store.read_month(sparql, first)


@task(name="lock-timesheets", cache_policy=NO_CACHE)
def lock_sheets(sparql: SparqlClient, graphs: Graphs, decisions: list[LockDecision]) -> int:
    """One update per timesheet; idempotent, so a retry after a lost reply is harmless."""
    n = 0
    for d in decisions:
        if d.action == "lock":
            sheets_store.lock(sparql, d.sheet.uri, d.work_logs, graphs)
            n += 1
    return n


def _mark_exported(kimai: KimaiClient, ids: list[int]) -> tuple[int, str | None]:
    marked = 0
    for tid in ids:
        try:
            marked += kimai.set_exported(tid, True)
        except KimaiPermissionError as err:
            return marked, ("the Kimai API user may not mark timesheets as exported (needs the edit_export "
                            f"permission, a team lead or above): {err}")
        except KimaiError as err:
            return marked, f"marking timesheet {tid} exported failed: {err}"
    return marked, None


@flow(name="timesheet-lock", log_prints=True)
def lock_timesheets(month: int | None = None, year: int | None = None, force: bool = False,
                    dry_run: bool = False) -> dict:
    """Lock the SUBMITTED timesheets of `month` (1-12) of `year` (e.g. 2025); none given: last month."""
    if month is None and year is None:
        last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
        month, year = last_month.month, last_month.year
    first, last = month_bounds(month, year)
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    report = RunReport(f"Timesheet lock {year}-{month:02d}", dry_run=dry_run)
    month_sheets = read_month_sheets(sparql, first)
    submitted = {s.person for s in month_sheets if s.status and s.person and
                 s.status == "http://timekeeper.redpencil.io/concepts/8ba56847-1713-478c-aa63-6eace21b3adf"}
    # It creates the timesheets of work logs not yet in Kimai, as a period run does: no delta or
    # period run reads and writes meanwhile (see tasks.writer).
    with KimaiClient.from_settings(settings) as kimai, \
            work_log_writer(settings, dry_run=dry_run):
        snap = read_timekeeper_period(sparql, settings, first, last)
        snap.work_logs = [l for l in snap.work_logs if l.person in submitted]
        kimai_side = read_kimai_period(kimai, quote(snap), first, last, settings.kimai_concurrency)
        users = frozenset(uid for p in submitted for uid in snap.accounts.get(p, []))
        options = plan_options(settings, period=(first, last), force=False)
        options.users = users
        result = plan_work_logs(sparql, quote(snap), quote(kimai_side), options)
        outcomes = sync_work_logs(result, kimai, sparql, graphs, concurrency=settings.kimai_concurrency,
                                  dry_run=dry_run)
        sync_report = work_log_report("sync", outcomes, result, dry_run=dry_run, names=snap.person_names,
                                      warnings=kimai_side.warnings)
        outcome_of = {}
        for o in outcomes:
            if o.action.work_log:
                status = o.status
                if dry_run and o.action.kind in ("create", "update"):
                    status = "unchanged"  # would be in Kimai once written
                outcome_of[o.action.work_log] = (status, o.message or o.action.reason)
        logs_of: dict[str, list[str]] = {}
        for log in snap.work_logs:
            logs_of.setdefault(log.person, []).append(log.uri)
        decisions = decide(month_sheets, logs_of, outcome_of, force=force)
        locked = 0 if dry_run else lock_sheets(sparql, graphs, quote(decisions))
        exported_note = None
        if settings.lock_mark_exported_in_kimai and not dry_run:
            ids = sorted({o.timesheet_id for o in outcomes if o.timesheet_id and o.action.work_log and
                          any(d.action == "lock" and o.action.work_log in d.work_logs for d in decisions)})
            marked, exported_note = _mark_exported(kimai, ids)
            report.stats["kimai_marked_exported"] = marked
        after = kimai_side.timesheets if dry_run or not result.kimai_writes else kimai.timesheets(
            dt.datetime.combine(first - dt.timedelta(days=1), dt.time(0), dt.timezone.utc),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(23, 59, 59), dt.timezone.utc))
    hours = reconciliation(snap, after, kimai_side.users, period=(first, last), default_zone=settings.timezone)
    per_person = hours_per_person(hours)

    rows = []
    for d in decisions:
        name = d.sheet.person_name or snap.person_names.get(d.sheet.person or "", d.sheet.person or "?")
        tk_h, km_h = per_person.get(d.sheet.person, (0.0, 0.0))
        blockers = "; ".join(f"{w.rsplit('/', 1)[-1]}: {r}" for w, r in d.blockers)
        rows.append({"person": name, "status": f"{d.status_before} → {d.status_after}",
                     "work_logs_linked": len(d.work_logs) if d.action == "lock" else 0,
                     "timekeeper_hours": round(tk_h, 2), "kimai_hours": round(km_h, 2),
                     "blockers": ("forced past: " if d.overridden else "") + blockers})
        if d.action == "lock":
            why = f"{len(d.work_logs)} work logs linked" + (f"; --force overrode: {blockers}" if d.overridden else "")
            report.add("timesheet", name, "updated", ("(dry run) " if dry_run else "") + why)
        elif d.action == "blocked":
            report.add("timesheet", name, "blocked", f"stays SUBMITTED: {blockers}")
        else:
            report.add("timesheet", name, "unchanged", f"left alone: {d.status_before}")
    if exported_note:
        report.add("run", "kimai export flag", "warning", exported_note)
    report.extend(sync_report)
    report.stats.update(timesheets_locked=locked, kimai_requests=kimai.requests_made,
                        sparql_round_trips=sparql.round_trips)
    publish_report(report, key="timesheet-lock")
    publish_table(rows, key="timesheet-lock-people", description="Per person: status, links, hours, blockers")
    summary = report.summary()
    summary["people"] = rows
    summary["not_locked"] = [r for r, d in zip(rows, decisions) if d.action == "blocked"]
    summary["failed"] = summary["failed"] or bool(summary["not_locked"])
    return summary
