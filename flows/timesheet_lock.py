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
from kimaisync.reconcile import reconciliation
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.store import timesheets as sheets_store
from kimaisync.worklog_report import work_log_report
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report, publish_table
from tasks.run_names import lock_name
from tasks.run_state import finish, refuse
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


PEOPLE_TABLE_HELP = (
    "Per person, blocked first. status: the month's timesheet before → after; work_logs_linked: work logs made "
    "members of the locked timesheet; timekeeper_hours: the month's work logs (blank when not read: only the "
    "work logs of SUBMITTED timesheets are read); kimai_hours: the month's timesheets the sync keeps in Kimai "
    "for the person; blockers: why a SUBMITTED timesheet stays so, grouped by reason, with the work logs.")


def blocker_text(blockers: list[tuple[str, str]], *, shown: int = 5) -> str:
    """Blocking work logs grouped by reason: 'reason (3 work logs: a, b, c)'; groups joined by ' | '."""
    by_reason: dict[str, list[str]] = {}
    for log, reason in blockers:
        by_reason.setdefault(reason, []).append(log.rsplit("/", 1)[-1] if log else "")
    parts = []
    for reason, logs in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        named = [n for n in logs if n]
        more = len(named) - shown
        which = ", ".join(named[:shown]) + (f" and {more} more" if more > 0 else "")
        count = f"{len(logs)} work log{'s' if len(logs) != 1 else ''}"
        parts.append(f"{reason} ({count}: {which})" if named else reason)
    return " | ".join(parts)


@flow(name="timesheet-lock", log_prints=True, flow_run_name=lock_name)
def lock_timesheets(month: int | None = None, year: int | None = None, force: bool = False,
                    dry_run: bool = False) -> dict:
    """Lock the SUBMITTED timesheets of `month` (1-12) of `year` (e.g. 2025); none given: last month.

    Args:
        month: The month to lock, 1-12; leave month and year empty for last month.
        year: The year of that month, four digits (e.g. 2026).
        force: Lock a SUBMITTED timesheet even when some of its work logs are not in Kimai (they are listed).
        dry_run: Say what would be locked: write nothing to Kimai or the triplestore.
    """
    if month is None and year is None:
        last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
        month, year = last_month.month, last_month.year
    try:
        first, last = month_bounds(month, year)
    except ValueError as err:
        return refuse("timesheet-lock", str(err))
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
    per_person = hours.groupby("person_iri")[["timekeeper_hours", "kimai_hours"]].sum() if len(hours) else None

    rows = []
    read = submitted  # the people whose work logs were read
    for d in sorted(decisions, key=lambda d: d.action != "blocked"):  # blocked people first
        name = d.sheet.person_name or snap.person_names.get(d.sheet.person or "", d.sheet.person or "?")
        known = per_person is not None and d.sheet.person in per_person.index
        tk_h = round(float(per_person.loc[d.sheet.person, "timekeeper_hours"]), 2) if known else 0.0
        km_h = round(float(per_person.loc[d.sheet.person, "kimai_hours"]), 2) if known else 0.0
        blockers = blocker_text(d.blockers)
        rows.append({"person": name, "status": f"{d.status_before} → {d.status_after}",
                     "blockers": ("forced past: " if d.overridden else "") + blockers,
                     "work_logs_linked": len(d.work_logs) if d.action == "lock" else 0,
                     "timekeeper_hours": tk_h if d.sheet.person in read else None, "kimai_hours": km_h})
        if d.action == "lock":
            why = f"{len(d.work_logs)} work logs linked" + (f"; --force overrode: {blockers}" if d.overridden else "")
            report.add("timesheet", name, "updated", ("(dry run) " if dry_run else "") + why)
        elif d.action == "blocked":
            report.add("timesheet", name, "blocked", f"stays SUBMITTED: {blockers}", cause="stays-submitted",
                       who=name)
        else:
            report.add("timesheet", name, "unchanged", f"left alone: {d.status_before}")
    if exported_note:
        report.add("run", "kimai export flag", "warning", exported_note)
    report.extend(sync_report)
    report.stats.update(timesheets_locked=locked, kimai_requests=kimai.requests_made,
                        sparql_round_trips=sparql.round_trips)
    publish_report(report, key="timesheet-lock")
    publish_table(rows, key="timesheet-lock-people", description=PEOPLE_TABLE_HELP)
    summary = report.summary()
    summary["people"] = rows
    blocked = sum(1 for d in decisions if d.action == "blocked")
    summary["not_locked"] = rows[:blocked]  # blocked rows come first
    summary["failed"] = summary["failed"] or bool(summary["not_locked"])
    locked_n = sum(1 for d in decisions if d.action == "lock")
    extra = [f"{blocked} timesheet{' stays' if blocked == 1 else 's stay'} SUBMITTED"] if blocked else []
    # The timesheets' own rows are said as "locked" and "stay SUBMITTED"; the rest is the sync's.
    work = RunReport(report.title, report.dry_run, [r for r in report.rows if r.kind != "timesheet"])
    v = verdict(work, extra=extra)
    if locked_n:  # lead with what the lock is for
        v.message = f"{locked_n} locked" + ("" if v.message == "nothing to do" else " · " + v.message)
    return finish("timesheet-lock", summary, v)
