"""Flow: every work log of [start, end] lands in the tracker exactly once, and nothing else is harmed.

Read both sides in bulk → plan in plain code → apply in batches with bounded concurrency →
record the entry ids → report (a table per record, a reconciliation of hours per person and
day, a summary). The tracker is the configured one (`TRACKER`), reached through the port.
Entry point of the `work-log-period` and fallback deployments and of `kimai-sync push START END`
(and `to-kimai`).
"""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.utilities.annotations import quote

from kimaisync.gctune import fewer_collections
from kimaisync.inputs import InputError, Period, parse
from kimaisync.plan.worklogs import PlanOptions
from kimaisync.rdf.graphs import Graphs
from kimaisync.reconcile import differences, differences_first, reconciliation
from kimaisync.settings import Settings, load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.trackers import open_tracker
from kimaisync.trackers.port import Tracker
from kimaisync.worklog_report import work_log_report
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report, publish_table
from tasks.run_names import period_name
from tasks.run_state import finish, refuse
from tasks.worklogs import (list_entries, list_kimai_timesheets, plan_work_logs, read_kimai_period,
                            read_timekeeper_period, sync_work_logs)
from tasks.writer import work_log_writer

UTC = dt.timezone.utc


def plan_options(settings: Settings, tracker: Tracker, *, period: tuple[dt.date, dt.date] | None,
                 force: bool) -> PlanOptions:
    h, m = (int(x) for x in settings.workday_start.split(":"))
    return PlanOptions(workday_start=dt.time(h, m), default_zone=settings.timezone,
                       delete_scope=settings.delete_scope, guard_share=settings.delete_guard_share,
                       force=force, period=period, capabilities=tracker.capabilities, tracker=tracker.title,
                       entry_word=tracker.entry_word, parse_id=tracker.links.parse_id)


def hours_table_help(title: str, name: str) -> str:
    """The hours table's description: what each column means (named after the tracker)."""
    return (f"Hours per person and day after the run, differing rows first. person_iri: the person in Timekeeper; "
            f"timekeeper_hours: the person's work logs that day; {name}_hours: the {title} entries the sync keeps "
            f"for them (its marker); difference_hours: {title} minus Timekeeper; status: DIFFERENT when they differ "
            f"(a skipped or failed work log; see the summary); other_{name}_hours: hours typed into {title} by hand "
            "for that person and day, shown, not compared.")


@flow(name="work-log-period-sync", log_prints=True, flow_run_name=period_name)
def sync_work_log_period(start: dt.date, end: dt.date, dry_run: bool = False, force: bool = False,
                         allow_long_period: bool = False) -> dict:
    """Sync the work logs dated from `start` to `end` (inclusive) to the configured tracker (Kimai 2 by default).

    Args:
        start: First day of the period (YYYY-MM-DD), included.
        end: Last day of the period (YYYY-MM-DD), included; not before start.
        dry_run: Plan and report only: write nothing to Kimai or the triplestore.
        force: Delete Kimai timesheets even when the deletion guard would refuse (many deletions at once).
        allow_long_period: Sync a period of more than 400 days (refused without it, as a likely typo).
    """
    settings = load_settings()
    try:  # the bounds the CLI and the receiver check, checked again for a run started from the UI
        period = parse(Period, {"start": start, "end": end, "allow_long_period": allow_long_period},
                       settings.input_limits)
    except InputError as err:
        return refuse("work-log-period-sync", str(err))
    start, end = period.start, period.end
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    with fewer_collections(), open_tracker(settings) as tracker:
        # No delta run reads and writes meanwhile (it could create the entry of a new work log
        # this run has read, and this run a second one): see tasks.writer.
        with work_log_writer(settings, dry_run=dry_run):
            listing = list_kimai_timesheets.submit(tracker, start, end)  # both sides are read at once
            snap = read_timekeeper_period(sparql, settings, start, end, tracker)
            kimai_side = read_kimai_period(tracker, quote(snap), start, end, listed=quote(listing.result()))
            result = plan_work_logs(sparql, quote(snap), quote(kimai_side),
                                    plan_options(settings, tracker, period=(start, end), force=force), tracker)
            outcomes = sync_work_logs(result, tracker, sparql, graphs, concurrency=tracker.concurrency,
                                      dry_run=dry_run)
        if dry_run or not result.writes:
            after = kimai_side.timesheets
        else:  # read back what the tracker holds now: the reconciliation shows the truth, not our hopes
            after = list_entries(tracker, snap, start, end)[0]
        report = work_log_report(f"Work logs {start} to {end} → {tracker.title}", outcomes, result, dry_run=dry_run,
                                 tracker=tracker, names=snap.person_names, warnings=kimai_side.warnings)
        report.stats.update({f"{tracker.name}_requests": tracker.requests_made,
                             f"{tracker.name}_retries": tracker.retries_made,
                             "sparql_round_trips": sparql.round_trips})
    hours = reconciliation(snap, after, kimai_side.users, period=(start, end), default_zone=settings.timezone,
                           tracker=tracker.name)
    differing = len(differences(hours))
    if differing:
        people = sorted({row["person"] for row in differences(hours)})
        report.notes.append(f"**hours**: {differing} person-day{'s differ' if differing != 1 else ' differs'} between "
                            f"Timekeeper and {tracker.title} ({', '.join(people[:20])}"
                            f"{f' and {len(people) - 20} more' if len(people) > 20 else ''}): see the table "
                            "work-log-hours, differing rows first")
    publish_report(report, key="work-log-sync")
    publish_table(differences_first(hours), key="work-log-hours", description=hours_table_help(tracker.title, tracker.name))
    summary = report.summary()
    summary["hours_differences"] = differing
    summary["guard"] = result.guard_tripped
    summary["hours"] = hours  # for `to-kimai --report FILE.csv`
    return finish("work-log-period-sync", summary, verdict(report, person_days_differ=summary["hours_differences"]))
