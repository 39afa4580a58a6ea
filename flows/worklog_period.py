"""Flow: every work log of [start, end] lands in Kimai exactly once, and nothing else is harmed.

Read both sides in bulk → plan in plain code → apply in batches with bounded concurrency →
record the Kimai ids → report (a table per record, a reconciliation of hours per person and
day, a summary). Entry point of the `work-log-period` and fallback deployments and of
`kimai-sync to-kimai START END`.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.utilities.annotations import quote

from kimaisync.gctune import fewer_collections
from kimaisync.trackers.kimai2 import KimaiClient
from kimaisync.plan.worklogs import PlanOptions
from kimaisync.rdf.graphs import Graphs
from kimaisync.reconcile import differences, differences_first, reconciliation, write_csv
from kimaisync.settings import Settings, load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.worklog_report import work_log_report
from tasks.artifacts import publish_report, publish_table
from tasks.worklogs import (list_kimai_timesheets, period_window, plan_work_logs, read_kimai_period,
                            read_timekeeper_period, sync_work_logs)
from tasks.writer import work_log_writer

UTC = dt.timezone.utc


def plan_options(settings: Settings, *, period: tuple[dt.date, dt.date] | None, force: bool) -> PlanOptions:
    h, m = (int(x) for x in settings.workday_start.split(":"))
    return PlanOptions(workday_start=dt.time(h, m), default_zone=settings.timezone,
                       delete_scope=settings.delete_scope, guard_share=settings.delete_guard_share,
                       force=force, period=period)


@flow(name="work-log-period-sync", log_prints=True)
def sync_work_log_period(start: dt.date, end: dt.date, dry_run: bool = False, force: bool = False,
                         report_csv: str | None = None) -> dict:
    """Sync the work logs dated from `start` to `end` (inclusive) to Kimai."""
    if end < start:
        raise ValueError(f"start {start} is after end {end}")
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    with fewer_collections(), KimaiClient.from_settings(settings) as kimai:
        # No delta run reads and writes meanwhile (it could create the timesheet of a new work log
        # this run has read, and this run a second one): see tasks.writer.
        with work_log_writer(settings, dry_run=dry_run):
            listing = list_kimai_timesheets.submit(kimai, start, end)  # both sides are read at once
            snap = read_timekeeper_period(sparql, settings, start, end)
            kimai_side = read_kimai_period(kimai, quote(snap), start, end, settings.kimai_concurrency,
                                           listed=quote(listing.result()))
            result = plan_work_logs(sparql, quote(snap), quote(kimai_side),
                                    plan_options(settings, period=(start, end), force=force))
            outcomes = sync_work_logs(result, kimai, sparql, graphs, concurrency=settings.kimai_concurrency,
                                      dry_run=dry_run)
        if dry_run or not result.kimai_writes:
            after = kimai_side.timesheets
        else:  # read back what Kimai holds now: the reconciliation shows the truth, not our hopes
            after = kimai.timesheets(*period_window(start, end))
        report = work_log_report(f"Work logs {start} to {end} → Kimai", outcomes, result, dry_run=dry_run,
                                 names=snap.person_names, warnings=kimai_side.warnings)
        report.stats.update(kimai_requests=kimai.requests_made, kimai_retries=kimai.retries_made,
                            sparql_round_trips=sparql.round_trips)
    hours = reconciliation(snap, after, kimai_side.users, period=(start, end), default_zone=settings.timezone)
    publish_report(report, key="work-log-sync")
    publish_table(differences_first(hours), key="work-log-hours",
                  description="Hours per person and day: Timekeeper vs Kimai after the run")
    if report_csv:
        write_csv(hours, report_csv)
    summary = report.summary()
    summary["hours_differences"] = len(differences(hours))
    summary["guard"] = result.guard_tripped
    return summary
