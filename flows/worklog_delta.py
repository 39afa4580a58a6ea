"""Flow: sync the work logs a delta named, and every work log their day layouts touch.

A changed work log can move (another day, another person) and shifts the times of the
person's other work logs that day, so the flow reads the whole day on both sides: where the
work log is now and where its Kimai timesheet was. It plans with the period flow's planner,
deletions limited to those days, and applies with the same code. A deleted work log (its id
left dangling) removes its own Kimai timesheet and the id. Entry point of the delta
deployment that the webhook receiver records runs for.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import get_current_settings

from flows.worklog_period import plan_options
from kimaisync.errors import KimaiNotFoundError
from kimaisync.trackers.kimai2 import KimaiClient
from kimaisync.rdf.graphs import Graphs
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.store import worklogs as store
from kimaisync.timekeeper import TimekeeperSnapshot
from kimaisync.worklog_report import work_log_report
from tasks.artifacts import publish_report
from tasks.worklogs import KimaiPeriod, fetch_users, plan_work_logs, sync_work_logs
from tasks.writer import work_log_writer_async

UTC = dt.timezone.utc


def _day(ts, users: dict, default: str) -> dt.date:
    zone = getattr(users.get(ts.user), "timezone", None) or default
    try:
        return ts.begin.astimezone(ZoneInfo(zone)).date()
    except Exception:  # noqa: BLE001 - an odd zone name from Kimai: fall back
        return ts.begin.astimezone(ZoneInfo(default)).date()


@task(name="read-affected-days", cache_policy=NO_CACHE)
def read_affected(sparql: SparqlClient, kimai: KimaiClient, settings, iris: list[str]):
    """Both sides of every (person, day) the changed work logs were or are on."""
    home = settings.kimai_account_service_homepage
    changed = store.read_work_logs_by_iri(sparql, iris)
    deleted = store.read_deleted(sparql, set(iris) - {l.uri for l in changed})
    probe = TimekeeperSnapshot(work_logs=changed)
    store.read_resolution(sparql, changed, probe, home)
    ids = {l.kimai_id for l in changed if l.kimai_id is not None}
    ids |= {int(k) for v in deleted.values() for k in v if k.strip().isdigit()}
    before, missing = [], set()
    for tid in sorted(ids):  # where their timesheets are now in Kimai (normally one or two)
        try:
            before.append(kimai.get_timesheet(tid))
        except KimaiNotFoundError:
            missing.add(tid)
    users, warnings = fetch_users(kimai, probe, before)
    days = {(l.person, l.date) for l in changed if l.person and l.date}
    old_owners = store.persons_of_kimai_users(sparql, {t.user for t in before}, home)
    for t in before:
        days |= {(p, _day(t, users, settings.timezone)) for p in old_owners.get(t.user, ())}
    snap = TimekeeperSnapshot(work_logs=store.read_work_logs_of_days(sparql, days) if days else [])
    known = {l.uri for l in snap.work_logs}
    snap.work_logs += [l for l in changed if l.uri not in known]  # e.g. a work log that lost its person
    store.read_resolution(sparql, snap.work_logs, snap, home)
    snap.dangling = deleted
    scope = {(uid, d) for p, d in days for uid in snap.accounts.get(p, [])}
    scope |= {(t.user, _day(t, users, settings.timezone)) for t in before}
    listed = []
    for uid in sorted({u for u, _ in scope}):
        dates = sorted(d for u, d in scope if u == uid)
        listed += kimai.timesheets(dt.datetime.combine(dates[0] - dt.timedelta(days=1), dt.time(0), UTC),
                                   dt.datetime.combine(dates[-1] + dt.timedelta(days=1), dt.time(23, 59, 59), UTC),
                                   user=uid)
    seen = {t.id for t in listed}
    listed += [t for t in before if t.id not in seen]
    return snap, KimaiPeriod(listed, users, missing, warnings), frozenset(scope)


# Its result is not kept (the report is in its artifacts), and with a storage of its own the
# engine does not ask the server for the default one: a round trip less before the first line.
NO_LOOKUP_STORAGE = get_current_settings().results.local_storage_path


@flow(name="work-log-delta-sync", persist_result=False, result_storage=NO_LOOKUP_STORAGE)
async def sync_work_log_changes(work_logs: list[str], dry_run: bool = False) -> dict:
    """Sync these work logs (IRIs) and the days they touch; IRIs that are no work log are ignored.

    Async only so that it ends at once: a sync flow waits up to a second for Prefect's heartbeat
    thread on exit (docs/performance.md), which the next delta would wait behind. Its steps run as plain calls in the flow's own run,
    not as task runs: a delta is one small batch, a task run's start-up cost more than its work
    (and held up the Kimai write), and a failed delta run is retried as a whole (run_queue)."""
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    # No period run reads and writes meanwhile (serve runs the fallback in a process of its own):
    # see tasks.writer.
    async with work_log_writer_async(settings, dry_run=dry_run):
        with KimaiClient.from_settings(settings) as kimai:
            snap, kimai_side, scope = read_affected.fn(sparql, kimai, settings, sorted(set(work_logs)))
            options = plan_options(settings, period=None, force=False)
            options.days = scope
            result = plan_work_logs.fn(sparql, snap, kimai_side, options)
            outcomes = sync_work_logs(result, kimai, sparql, graphs, concurrency=settings.kimai_concurrency,
                                      dry_run=dry_run, plain=True)
            report = work_log_report(f"Changed work logs ({len(set(work_logs))})", outcomes, result, dry_run=dry_run,
                                     names=snap.person_names, warnings=kimai_side.warnings)
            report.stats.update(kimai_requests=kimai.requests_made, sparql_round_trips=sparql.round_trips)
    ignored = sorted(set(work_logs) - {l.uri for l in snap.work_logs} - set(snap.dangling))
    for iri in ignored:
        report.add("work-log", iri, "skipped", "not a work log (no cal:Vevent, no Kimai id): nothing to sync")
    publish_report(report, key="work-log-delta")
    return report.summary()


@flow(name="kimai-orphan-timesheet")
def remove_orphan_timesheet(kimai_id: int) -> dict:
    """The old `PUT /kimai-timesheets/:id`: delete that Kimai timesheet if no work log holds it.

    Within the delete scope: by default only a timesheet the sync created (its marker) or one a
    deleted work log still points at; never an exported one, never one a live work log holds.
    """
    from kimaisync import marker as markers
    from kimaisync.report import RunReport

    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    report = RunReport(f"Kimai timesheet {kimai_id}")
    key = f"Kimai timesheet {kimai_id}"
    with KimaiClient.from_settings(settings) as kimai:
        try:
            ts = kimai.get_timesheet(kimai_id)
        except KimaiNotFoundError:
            report.add("timesheet", key, "unchanged", "not in Kimai")
            return report.summary()
        uuid = markers.marker_of(ts.description)
        claimed, live = store.claimed_by_live_work_logs(sparql, [kimai_id], [uuid] if uuid else [])
        dangling = [iri for iri, ids in store.read_dangling(sparql, settings.resource_base_uri).items()
                    if str(kimai_id) in ids]
        linked = {u for uids in store.persons_of_kimai_users(sparql, [ts.user], settings.kimai_account_service_homepage)
                  for u in [ts.user]}
        ours = bool(uuid) or bool(dangling)
        if claimed or live:
            report.add("timesheet", key, "unchanged", "a work log holds it")
        elif ts.exported:
            report.add("timesheet", key, "blocked", "exported in Kimai: not deleted")
        elif settings.delete_scope == "created" and not ours:
            report.add("timesheet", key, "unchanged", "not created by the sync: kept (DELETE_SCOPE=created)")
        elif settings.delete_scope == "linked" and not ours and ts.user not in linked:
            report.add("timesheet", key, "unchanged", "its user is not linked to a person: kept (DELETE_SCOPE=linked)")
        else:
            kimai.delete_timesheet(kimai_id, missing_ok=True)
            if dangling:
                store.clear_kimai_ids(sparql, dangling, graphs)
            report.add("timesheet", key, "deleted", "no work log in Timekeeper for it")
    publish_report(report, key="kimai-orphan-timesheet")
    return report.summary()
