"""Flow: sync the work logs a delta named, and every work log their day layouts touch.

A changed work log can move (another day, another person) and shifts the times of the
person's other work logs that day, so the flow reads the whole day on both sides: where the
work log is now and where its tracker entry was. It plans with the period flow's planner,
deletions limited to those days, and applies with the same code. A deleted work log (its id
left dangling) removes its own entry and the id. Entry point of the delta deployment that the
webhook receiver records runs for.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import get_current_settings

from flows.worklog_period import plan_options
from kimaisync.errors import EntryNotFound, TrackerAuthError
from kimaisync.inputs import iri_problem
from kimaisync.rdf.graphs import Graphs
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.store import worklogs as store
from kimaisync.timekeeper import TimekeeperSnapshot
from kimaisync.trackers import open_tracker
from kimaisync.trackers.port import Tracker
from kimaisync.worklog_report import work_log_report
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report
from tasks.run_names import delta_name, delta_words, orphan_name
from tasks.run_state import finish, finish_async, refuse
from tasks.worklogs import TrackerPeriod, _sessions, fetch_held, fetch_users, plan_work_logs, sync_work_logs
from tasks.writer import work_log_writer_async

UTC = dt.timezone.utc


def _day(ts, users: dict, default: str) -> dt.date:
    if ts.begin is None:  # a day tracker
        return ts.date
    zone = getattr(users.get(ts.user), "timezone", None) or default
    try:
        return ts.begin.astimezone(ZoneInfo(zone)).date()
    except Exception:  # noqa: BLE001 - an odd zone name from Kimai: fall back
        return ts.begin.astimezone(ZoneInfo(default)).date()


@task(name="read-affected-days", cache_policy=NO_CACHE)
def read_affected(sparql: SparqlClient, tracker: Tracker, settings, iris: list[str]):
    """Both sides of every (person, day) the changed work logs were or are on."""
    links = tracker.links
    home = links.homepage(settings)
    changed = store.read_work_logs_by_iri(sparql, iris, links)
    deleted = store.read_deleted(sparql, set(iris) - {l.uri for l in changed}, links)
    probe = TimekeeperSnapshot(work_logs=changed)
    store.read_resolution(sparql, changed, probe, home, links)
    ids = {i for l in changed if (i := l.entry_id(links.parse_id)) is not None}
    ids |= {i for v in deleted.values() for k in v if (i := links.parse_id(k)) is not None}
    # where their entries are now in the tracker (normally one or two)
    before, missing = fetch_held(tracker, probe, ids)
    users, warnings = fetch_users(tracker, probe, before)
    days = {(l.person, l.date) for l in changed if l.person and l.date}
    old_owners = store.persons_of_accounts(sparql, {t.user for t in before}, home, links)
    for t in before:
        days |= {(p, _day(t, users, settings.timezone)) for p in old_owners.get(t.user, ())}
    snap = TimekeeperSnapshot(work_logs=store.read_work_logs_of_days(sparql, days, links) if days else [])
    known = {l.uri for l in snap.work_logs}
    snap.work_logs += [l for l in changed if l.uri not in known]  # e.g. a work log that lost its person
    store.read_resolution(sparql, snap.work_logs, snap, home, links)
    snap.dangling = deleted
    scope = {(uid, d) for p, d in days for uid in snap.accounts.get(p, [])}
    scope |= {(t.user, _day(t, users, settings.timezone)) for t in before}
    sessions, no_session = _sessions(tracker, snap, {u for u, _ in scope})
    listed = []
    for uid in sorted({u for u, _ in scope}, key=str):
        session = sessions.get(None) or sessions.get(uid)
        if session is None:
            continue
        dates = sorted(d for u, d in scope if u == uid)
        try:
            listed += session.entries(dates[0], dates[-1], user=uid)
        except TrackerAuthError as err:  # that person's credential is refused: they are skipped, not the run
            if not tracker.capabilities.per_person:
                raise
            no_session[uid] = str(err)
    seen = {t.id for t in listed}
    listed += [t for t in before if t.id not in seen]
    return snap, TrackerPeriod(listed, users, missing, warnings, no_session), frozenset(scope)


async def _sync(settings, graphs, sparql, work_logs: list[str], dry_run: bool) -> tuple[RunReport, str]:
    """Read, plan, apply and report the work logs named (and the days they touch); the report and its title."""
    # No period run reads and writes meanwhile (serve runs the fallback in a process of its own):
    # see tasks.writer.
    async with work_log_writer_async(settings, dry_run=dry_run):
        with open_tracker(settings) as tracker:
            snap, kimai_side, scope = read_affected.fn(sparql, tracker, settings, sorted(set(work_logs)))
            options = plan_options(settings, tracker, period=None, force=False)
            options.days = scope
            result = plan_work_logs.fn(sparql, snap, kimai_side, options, tracker)
            outcomes = sync_work_logs(result, tracker, sparql, graphs, concurrency=tracker.concurrency,
                                      dry_run=dry_run, plain=True)
            changed = set(work_logs)
            people = {l.person for l in snap.work_logs if l.uri in changed and l.person}
            title = delta_words(len(changed), len(people))
            report = work_log_report(title[0].upper() + title[1:], outcomes, result, dry_run=dry_run,
                                     tracker=tracker, names=snap.person_names, warnings=kimai_side.warnings)
            report.stats.update({f"{tracker.name}_requests": tracker.requests_made,
                                 "sparql_round_trips": sparql.round_trips})
    ignored = sorted(set(work_logs) - {l.uri for l in snap.work_logs} - set(snap.dangling))
    for iri in ignored:
        report.add("work-log", iri, "skipped", f"not a work log (no cal:Vevent, no {tracker.title} id): nothing to sync")
    return report, title


# Its result is not kept (the report is in its artifacts), and with a storage of its own the
# engine does not ask the server for the default one: a round trip less before the first line.
NO_LOOKUP_STORAGE = get_current_settings().results.local_storage_path


@flow(name="work-log-delta-sync", persist_result=False, result_storage=NO_LOOKUP_STORAGE, flow_run_name=delta_name)
async def sync_work_log_changes(work_logs: list[str], dry_run: bool = False, refused: list[str] | None = None) -> dict:
    """Sync these work logs (IRIs) and the days they touch; IRIs that are no work log are ignored.

    Args:
        work_logs: IRIs of the work logs that changed (cal:Vevent resources); a deleted one removes its timesheet.
            A string that is no IRI is reported and left alone.
        dry_run: Plan and report only: write nothing to Kimai or the triplestore.
        refused: What the receiver dropped from the deltas this run syncs (subjects that are no IRI), one
            row of the report each.

    Async only so that it ends at once: a sync flow waits up to a second for Prefect's heartbeat
    thread on exit (docs/performance.md), which the next delta would wait behind. Its steps run as plain calls in the flow's own run,
    not as task runs: a delta is one small batch, a task run's start-up cost more than its work
    (and held up the Kimai write), and a failed delta run is retried as a whole (run_queue)."""
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    # The receiver drops what is no IRI; a run started otherwise (the UI) gets the same check, so
    # a bad string is a row of the report, never a failed run or a broken query.
    not_iris = {w: why for w in work_logs if (why := iri_problem(w))}
    work_logs = [w for w in work_logs if w not in not_iris]
    if work_logs:
        report, title = await _sync(settings, graphs, sparql, work_logs, dry_run)
    else:
        title = delta_words(0)
        report = RunReport(title[0].upper() + title[1:], dry_run=dry_run)
    for text, why in not_iris.items():
        report.add("work-log", ascii(text)[:80], "skipped", f"not an IRI ({why}): nothing to sync")
    for what in refused or ():
        report.add("delta", "dropped by the receiver", "skipped", str(what)[:200])
    publish_report(report, key="work-log-delta")
    return await finish_async("work-log-delta-sync", report.summary(), verdict(report),
                              name=title + (" (dry run)" if dry_run else ""))


@flow(name="kimai-orphan-timesheet", flow_run_name=orphan_name)
def remove_orphan_timesheet(kimai_id: int) -> dict:
    """The old `PUT /kimai-timesheets/:id`: delete that tracker entry if no work log holds it.

    Within the delete scope (`plan.worklogs.scope_keeps`): by default only an entry the sync
    created (its marker) or one a deleted work log still points at; never a locked one, never one
    a live work log holds, never one of a tracker that cannot delete.

    Args:
        kimai_id: The id of the Kimai timesheet (the tracker's entry) to remove when no work log holds it.
    """
    from kimaisync import marker as markers
    from kimaisync.plan.worklogs import scope_keeps
    from kimaisync.report import RunReport

    if kimai_id < 1:
        return refuse("kimai-orphan-timesheet", f"kimai_id must be a Kimai timesheet id (1 or more), got {kimai_id}")

    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    with open_tracker(settings) as tracker:
        links, caps, t = tracker.links, tracker.capabilities, tracker.title
        key = f"{t} {tracker.entry_word} {kimai_id}"
        report = RunReport(key)
        session = tracker.session(None)
        try:
            ts = session.get(kimai_id)
        except EntryNotFound:
            report.add(tracker.entry_word, key, "unchanged", f"not in {t}")
            return finish("kimai-orphan-timesheet", report.summary(), verdict(report))
        uuid = markers.marker_of(ts.description)
        claimed, live = store.claimed_by_live_work_logs(sparql, [kimai_id], [uuid] if uuid else [], links)
        dangling = [iri for iri, ids in store.read_dangling(sparql, settings.resource_base_uri, links).items()
                    if str(kimai_id) in ids]
        linked = ts.user in store.persons_of_accounts(sparql, [ts.user], links.homepage(settings), links)
        kept = scope_keeps(settings.delete_scope, ours=bool(uuid) or bool(dangling), user_linked=linked, tracker=t)
        if claimed or live:
            report.add(tracker.entry_word, key, "unchanged", "a work log holds it")
        elif ts.locked and caps.locked_immutable:
            report.add(tracker.entry_word, key, "blocked", f"{caps.locked_word} in {t}: not deleted")
        elif kept:
            report.add(tracker.entry_word, key, "unchanged", f"{kept}: kept (DELETE_SCOPE={settings.delete_scope})")
        elif not caps.can_remove:
            report.add(tracker.entry_word, key, "blocked", f"{t} cannot delete through its API: delete it there")
        else:
            if caps.can_delete:
                session.delete(kimai_id, missing_ok=True)
            else:
                try:
                    session.retire(kimai_id)
                except EntryNotFound:
                    pass
            if dangling:
                store.clear_entry_ids(sparql, dangling, graphs, links)
            report.add(tracker.entry_word, key, "deleted", "no work log in Timekeeper for it")
    publish_report(report, key="kimai-orphan-timesheet")
    return finish("kimai-orphan-timesheet", report.summary(), verdict(report))
