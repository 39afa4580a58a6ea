"""Flow: lock a month's SUBMITTED timesheets: EXPORTED, with their work logs as members.

Before a person's timesheet is locked, that person's work logs of the month are synced to
the tracker (Kimai 2 by default) with the period flow's planning and apply code (no second
implementation); the lock happens only when every one of them is in the tracker, unless `force`. Entry point of the
`timesheet-lock` deployment, of `POST /timesheets/lock` and of `kimai-sync lock-timesheets`.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.worklog_period import plan_options
from kimaisync.errors import TrackerConfigError, TrackerError
from kimaisync.inputs import InputLimits, LockMonth, parse
from kimaisync.plan.lock import LockDecision, decide
from kimaisync.rdf.graphs import Graphs
from kimaisync.reconcile import hours_per_person, reconciliation
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.store import timesheets as sheets_store
from kimaisync.trackers import open_tracker
from kimaisync.trackers.port import Tracker
from kimaisync.worklog_report import work_log_report
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report, publish_table
from tasks.run_names import lock_name
from tasks.run_state import finish, refuse
from tasks.writer import work_log_writer
from tasks.worklogs import list_entries, plan_work_logs, read_kimai_period, read_timekeeper_period, sync_work_logs


def month_bounds(month, year, limits: InputLimits | None = None) -> tuple[dt.date, dt.date]:
    """First and last day; InputError (a ValueError) saying what is wrong, as the CLI and the receiver say it."""
    chosen = parse(LockMonth, {"month": month, "year": year}, limits)
    return chosen.first_day, chosen.last_day


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


def _mark_exported(tracker: Tracker, ids: list, owners: dict | None = None) -> tuple[int, str | None]:
    """Mark these entries exported, each through its owner's session (`owners`: id -> user)."""
    marked = 0
    for tid in ids:
        try:
            marked += tracker.session((owners or {}).get(tid)).mark_exported(tid, True)
        except TrackerConfigError as err:
            return marked, (f"the {tracker.title} API user may not mark {tracker.entry_word}s as exported (needs the edit_export "
                            f"permission, a team lead or above): {err}")
        except TrackerError as err:
            return marked, f"marking {tracker.entry_word} {tid} exported failed: {err}"
    return marked, None


def people_table_help(title: str, name: str) -> str:
    """The people table's description: what each column means (named after the tracker)."""
    return ("Per person, blocked first. status: the month's timesheet before → after; blockers: why a SUBMITTED "
            "timesheet stays so, grouped by reason, with the work logs; work_logs_linked: work logs made members "
            "of the locked timesheet; timekeeper_hours: the month's work logs (blank when not read: only the work "
            f"logs of SUBMITTED timesheets are read); {name}_hours: the month's entries the sync keeps in {title} "
            "for the person.")


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
    settings = load_settings()
    try:  # the bounds the CLI and the receiver check, for a run started from the UI
        first, last = month_bounds(month, year, settings.input_limits)
    except ValueError as err:
        return refuse("timesheet-lock", str(err))
    month, year = first.month, first.year
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    report = RunReport(f"Timesheet lock {year}-{month:02d}", dry_run=dry_run)
    month_sheets = read_month_sheets(sparql, first)
    submitted = {s.person for s in month_sheets if s.status and s.person and
                 s.status == "http://timekeeper.redpencil.io/concepts/8ba56847-1713-478c-aa63-6eace21b3adf"}
    # It creates the timesheets of work logs not yet in Kimai, as a period run does: no delta or
    # period run reads and writes meanwhile (see tasks.writer).
    with open_tracker(settings) as tracker, \
            work_log_writer(settings, dry_run=dry_run):
        snap = read_timekeeper_period(sparql, settings, first, last, tracker)
        snap.work_logs = [l for l in snap.work_logs if l.person in submitted]
        kimai_side = read_kimai_period(tracker, quote(snap), first, last)
        users = frozenset(uid for p in submitted for uid in snap.accounts.get(p, []))
        options = plan_options(settings, tracker, period=(first, last), force=False)
        options.users = users
        result = plan_work_logs(sparql, quote(snap), quote(kimai_side), options, tracker)
        outcomes = sync_work_logs(result, tracker, sparql, graphs, concurrency=tracker.concurrency,
                                  dry_run=dry_run)
        sync_report = work_log_report("sync", outcomes, result, dry_run=dry_run, tracker=tracker,
                                      names=snap.person_names, warnings=kimai_side.warnings)
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
        if settings.lock_mark_exported_in_kimai and not dry_run and tracker.capabilities.can_mark_exported:
            owners = {o.entry_id: o.action.user for o in outcomes
                      if o.entry_id and o.action.work_log and any(d.action == "lock" and o.action.work_log in d.work_logs
                                                                  for d in decisions)}
            marked, exported_note = _mark_exported(tracker, sorted(owners), owners)
            report.stats[f"{tracker.name}_marked_exported"] = marked
        after = kimai_side.timesheets if dry_run or not result.writes else list_entries(tracker, snap, first, last)[0]
    hours = reconciliation(snap, after, kimai_side.users, period=(first, last), default_zone=settings.timezone,
                           tracker=tracker.name)
    tracker_hours = f"{tracker.name}_hours"
    per_person = hours_per_person(hours, tracker.name)

    rows = []
    read = submitted  # the people whose work logs were read
    for d in sorted(decisions, key=lambda d: d.action != "blocked"):  # blocked people first
        name = d.sheet.person_name or snap.person_names.get(d.sheet.person or "", d.sheet.person or "?")
        tk_h, km_h = (round(h, 2) for h in per_person.get(d.sheet.person, (0.0, 0.0)))
        blockers = blocker_text(d.blockers)
        rows.append({"person": name, "status": f"{d.status_before} → {d.status_after}",
                     "blockers": ("forced past: " if d.overridden else "") + blockers,
                     "work_logs_linked": len(d.work_logs) if d.action == "lock" else 0,
                     "timekeeper_hours": tk_h if d.sheet.person in read else None, tracker_hours: km_h})
        if d.action == "lock":
            why = f"{len(d.work_logs)} work logs linked" + (f"; --force overrode: {blockers}" if d.overridden else "")
            report.add("timesheet", name, "updated", ("(dry run) " if dry_run else "") + why)
        elif d.action == "blocked":
            report.add("timesheet", name, "blocked", f"stays SUBMITTED: {blockers}", cause="stays-submitted",
                       who=name)
        else:
            report.add("timesheet", name, "unchanged", f"left alone: {d.status_before}")
    if exported_note:
        report.add("run", f"{tracker.name} export flag", "warning", exported_note)
    if not tracker.capabilities.can_mark_exported:
        # EGroupware, for one, shows no exported or locked flag through its API
        report.add("run", f"{tracker.name} export flag", "warning",
                   f"{tracker.title} has no export flag the sync can set: only Timekeeper's timesheets are "
                   f"locked; its {tracker.capabilities.locked_word or 'locked'} records in {tracker.title} stay "
                   "editable there")
    report.extend(sync_report)
    report.stats.update({"timesheets_locked": locked, f"{tracker.name}_requests": tracker.requests_made,
                         "sparql_round_trips": sparql.round_trips})
    publish_report(report, key="timesheet-lock")
    publish_table(rows, key="timesheet-lock-people", description=people_table_help(tracker.title, tracker.name))
    summary = report.summary()
    summary["people"] = rows
    blocked = sum(1 for d in decisions if d.action == "blocked")
    summary["not_locked"] = rows[:blocked]  # blocked rows come first
    summary["failed"] = summary["failed"] or bool(summary["not_locked"])
    locked_n = sum(1 for d in decisions if d.action == "lock")
    extra = [f"{blocked} timesheet{' stays' if blocked == 1 else 's stay'} SUBMITTED"] if blocked else []
    # The timesheets' own rows are said as "locked" and "stay SUBMITTED"; the rest is the sync's.
    work = RunReport(report.title, report.dry_run, [r for r in report.rows if r.kind != "timesheet"],
                     tracker=report.tracker)
    v = verdict(work, extra=extra)
    if locked_n:  # lead with what the lock is for
        v.message = f"{locked_n} locked" + ("" if v.message == "nothing to do" else " · " + v.message)
    return finish("timesheet-lock", summary, v)
