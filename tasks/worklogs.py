"""Units of the work-log sync: read each side in bulk, plan, apply a batch, record ids.

They talk to the configured tracker through the port (`kimaisync.trackers.port`); the task
names keep the words the Prefect UI has always shown for Kimai 2.

A task is a batch or a page, never a record (each task run costs Prefect time of its own). The
period flow, the delta flow and the timesheet lock all go through `sync_work_logs`, so the
planning and apply code exist once. Large inputs (snapshots, plans, outcomes) are passed to
tasks wrapped in `quote`: Prefect would otherwise walk every element of them looking for
futures, which costs seconds at tens of thousands of work logs.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import BaseAnnotation, quote

from kimaisync import marker as markers
from kimaisync.apply.order import lanes
from kimaisync.apply.timesheets import Applier, Outcome, Started
from kimaisync.errors import TrackerAuthError, TrackerConfigError
from kimaisync.plan.worklogs import Plan, PlanOptions, plan
from kimaisync.rdf.graphs import Graphs
from kimaisync.sparql.client import SparqlClient, chunked
from kimaisync.store import worklogs as store
from kimaisync.timekeeper import TimekeeperSnapshot
from kimaisync.trackers.port import Entry, Tracker, TrackerUser
from tasks.progress import Progress

UTC = dt.timezone.utc
APPLY_BATCH = 500


@dataclass
class TrackerPeriod:
    """The tracker's side of a period: its entries (plus those work logs point at elsewhere) and users.

    `no_session`: users the sync cannot read or write as (a per-person tracker without their
    credential), with the reason; their work logs are reported, not written."""

    timesheets: list[Entry] = field(default_factory=list)
    users: dict = field(default_factory=dict)
    missing_ids: set = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    no_session: dict = field(default_factory=dict)


def _logger():
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run (plain-call tests): stay quiet
        import logging
        return logging.getLogger("kimaisync.flows")


@task(name="read-timekeeper-work-logs", cache_policy=NO_CACHE)
def read_timekeeper_period(sparql: SparqlClient, settings, start: dt.date, end: dt.date,
                           tracker: Tracker) -> TimekeeperSnapshot:
    links = tracker.links
    snap = store.read_snapshot(sparql, start, end, homepage=links.homepage(settings),
                               resource_base=settings.resource_base_uri, links=links)
    _logger().info("Timekeeper: %d work logs from %s to %s", len(snap.work_logs), start, end)
    return snap


def fetch_users(tracker: Tracker, snap: TimekeeperSnapshot, timesheets) -> tuple[dict, list[str]]:
    """The tracker's users; without the permission to list them, the ids we know with the default zone."""
    try:
        return {u.id: u for u in tracker.users()}, []
    except TrackerAuthError:
        raise
    except TrackerConfigError as err:
        ids = {uid for v in snap.accounts.values() for uid in v} | {t.user for t in timesheets}
        return ({uid: TrackerUser(uid, str(uid), True, None) for uid in ids},
                [f"cannot list {tracker.title} users ({err}); using TIMEZONE for everyone and assuming accounts exist"])


def _sessions(tracker: Tracker, snap: TimekeeperSnapshot, users=None):
    """The sessions reads go through: the one service session, or each linked person's own."""
    if not tracker.capabilities.per_person:
        return {None: tracker.session(None)}, {}
    wanted = users if users is not None else {uid for ids in snap.accounts.values() for uid in ids}
    return tracker.sessions(sorted(wanted, key=str))


def list_entries(tracker: Tracker, snap: TimekeeperSnapshot | None, start: dt.date, end: dt.date,
                 users=None) -> tuple[list[Entry], dict]:
    """Every entry of the window the sync may see, and the users it cannot read as (with why)."""
    if not tracker.capabilities.per_person:
        return tracker.session(None).entries(start, end), {}
    sessions, problems = _sessions(tracker, snap or TimekeeperSnapshot(), users)

    def read(item):
        uid, session = item
        try:
            return uid, session.entries(start, end, user=uid), None
        except TrackerAuthError as err:  # that person's credential is refused: they are skipped, not the run
            return uid, [], str(err)

    out: list[Entry] = []
    # Each person's session is its own credential (and, at a rationing tracker, its own budget):
    # their reads go side by side, `tracker.concurrency` at a time.
    with ThreadPoolExecutor(max_workers=max(1, min(tracker.concurrency, len(sessions)))) as pool:
        for uid, rows, problem in pool.map(read, sessions.items()):
            out += rows
            if problem is not None:
                problems[uid] = problem
    return out, problems


def fetch_held(tracker: Tracker, snap: TimekeeperSnapshot, ids: set) -> tuple[list, set]:
    """Entries work logs point at that the period listing did not hold: fetched by id (without a
    service session, each id is looked for in the linked people's sessions until one has it)."""
    if not ids:
        return [], set()
    if not tracker.capabilities.per_person:
        return tracker.session(None).get_many(ids)
    found, missing = [], set(ids)
    for session in _sessions(tracker, snap)[0].values():
        if missing:
            try:
                got, _ = session.get_many(missing)
            except TrackerAuthError:  # refused credential: list_entries has named that person already
                continue
            found += got
            missing -= {e.id for e in got}
    return found, missing


@task(name="list-kimai-timesheets", cache_policy=NO_CACHE)
def list_kimai_timesheets(tracker: Tracker, start: dt.date, end: dt.date) -> tuple[list[Entry], dict] | None:
    """The tracker's entries of the period, all users; runs beside the store read. None for a
    per-person tracker: whose entries to read follows from the store's accounts."""
    if tracker.capabilities.per_person:
        return None
    return list_entries(tracker, None, start, end)


@task(name="read-kimai-timesheets", cache_policy=NO_CACHE)
def read_kimai_period(tracker: Tracker, snap: TimekeeperSnapshot, start: dt.date, end: dt.date,
                      listed: tuple[list[Entry], dict] | None = None) -> TrackerPeriod:
    """The tracker's side: the period's listing (unless given), what work logs point at elsewhere, users."""
    if listed is None:
        listed = list_entries(tracker, snap, start, end)
    listed, no_session = listed
    parse = tracker.links.parse_id
    held = {i for l in snap.work_logs if (i := l.entry_id(parse)) is not None}
    held |= {i for ids in snap.dangling.values() for k in ids if (i := parse(k)) is not None}
    extra, missing = fetch_held(tracker, snap, held - {t.id for t in listed})
    users, warnings = fetch_users(tracker, snap, listed + extra)
    _logger().info("%s: %d %ss listed, %d fetched by id, %d gone", tracker.title, len(listed), tracker.entry_word,
                   len(extra), len(missing))
    return TrackerPeriod(listed + extra, users, missing, warnings, no_session)


@task(name="plan-work-log-changes", cache_policy=NO_CACHE)
def plan_work_logs(sparql: SparqlClient, snap: TimekeeperSnapshot, side: TrackerPeriod, options: PlanOptions,
                   tracker: Tracker) -> Plan:
    """Plan; entries no work log of the snapshot holds are first checked against the whole store."""
    parse = tracker.links.parse_id
    in_snapshot = {l.entry_id(parse) for l in snap.work_logs} | {l.uuid for l in snap.work_logs}
    loose_ids = {t.id for t in side.timesheets if t.id not in in_snapshot}
    loose_uuids = {u for t in side.timesheets if (u := markers.marker_of(t.description)) and u not in in_snapshot}
    claimed, live = store.claimed_by_live_work_logs(sparql, loose_ids, loose_uuids, tracker.links)
    if side.no_session:
        options.no_session = dict(side.no_session)
    result = plan(snap, side.timesheets, side.users, options, missing_ids=side.missing_ids,
                  claimed_elsewhere=claimed, live_uuids_elsewhere=live)
    _logger().info("plan: %s", ", ".join(f"{n} {k}" for k, n in sorted(result.counts().items())) or "nothing")
    return result


@task(name="apply-kimai-writes", cache_policy=NO_CACHE)
def apply_kimai_batch(batch: Started, done_before: int, total: int) -> list[Outcome]:
    """One batch of writes, queued in order with the others (see Applier.start): its outcomes."""
    return batch.outcomes()  # the flow counts them (tasks.progress)


@task(name="apply-kimai-moves", cache_policy=NO_CACHE)
def apply_kimai_moves(applier: Applier, lanes: list) -> list[Outcome]:
    """Deletions and updates, per user in an order the tracker's overlap rule accepts (see apply.order)."""
    outcomes = applier.run_lanes(lanes)
    _logger().info("%s deletions and updates: %d done", applier.title, len(outcomes))
    return outcomes


@task(name="record-kimai-ids", cache_policy=NO_CACHE)
def record_kimai_ids(sparql: SparqlClient, graphs: Graphs, outcomes: list[Outcome], links) -> int:
    """Write each synced work log's entry id, and drop the ids of deleted work logs, in batches."""
    ids = {o.action.work_log: o.entry_id for o in outcomes
           if o.action.work_log and o.entry_id is not None and o.action.kind != "delete"
           and (o.action.write_id or o.status == "created")}
    cleared = [o.action.clear_dangling for o in outcomes if o.status == "deleted" and o.action.clear_dangling]
    n = store.write_entry_ids(sparql, ids, graphs, links) if ids else 0
    if cleared:
        store.clear_entry_ids(sparql, cleared, graphs, links)
    return n + len(cleared)


def _plainly(task):
    """A task's function, called in the flow's own run (no task run of its own), arguments unquoted."""
    def call(*args, **kw):
        unwrap = lambda v: v.unwrap() if isinstance(v, BaseAnnotation) else v  # noqa: E731
        return task.fn(*map(unwrap, args), **{k: unwrap(v) for k, v in kw.items()})
    return call


def sync_work_logs(result: Plan, tracker: Tracker, sparql: SparqlClient, graphs: Graphs, *,
                   concurrency: int, dry_run: bool = False, batch: int = APPLY_BATCH,
                   plain: bool = False) -> list[Outcome]:
    """Apply a plan inside a flow: tracker writes in batches, each batch's ids recorded right after.

    Actions that need no Kimai write but a store write (adopted timesheets) go with the first
    batch. After an authentication failure the completed writes are recorded, then it is raised.
    `plain`: run the steps in the flow's own run, without task runs (a delta's few records: each
    task run would cost more than the work, and a failed delta run is retried as a whole).
    """
    steps = (record_kimai_ids, apply_kimai_moves, apply_kimai_batch)  # looked up now: tests may swap them
    record, apply_moves, apply_batch = map(_plainly, steps) if plain else steps
    if dry_run:
        return [Outcome(a, "skipped" if a.kind != "unchanged" else "unchanged", a.entry_id,
                        f"dry run: would {a.kind}" + (f" ({a.reason})" if a.reason else ""))
                for a in result.actions]
    writes = result.of("create")
    links = tracker.links
    others = [a for a in result.actions if a.kind not in ("create", "update", "delete")]
    with Applier(tracker, concurrency=concurrency, attempts=tracker.retries + 1) as applier:
        outcomes = [applier.run_one(a) for a in others]
        pending_ids = [o for o in outcomes if o.action.write_id]
        if pending_ids:
            record(sparql, graphs, quote(pending_ids), links)
        if tracker.capabilities.clock:  # per user, in an order that never overlaps two records
            moves = lanes(result.of("delete", "update"), result.held)
        else:  # dates and minutes cannot overlap: each move on its own
            moves = [[a] for a in result.of("delete", "update")]
        progress = None if plain else Progress(f"{tracker.title} writes", len(result.writes),
                                               key=f"{tracker.name}-writes", batch=batch)
        if moves:  # first, so the creations find their slots free
            done = apply_moves(applier, quote(moves))
            record(sparql, graphs, quote(done), links)
            outcomes.extend(done)
            if progress:
                progress.advance(len(done))
        # Creation batches stream through the applier's one bounded pool, in order: while one
        # batch's ids are recorded the next is being written, and the one after is queued, so the
        # pool never runs dry and no more than three batches of writes are held at a time.
        chunks = chunked(writes, batch)
        started = deque(applier.start(chunk) for chunk in islice(chunks, 2))
        i = 0
        while started:
            pending = started.popleft()
            done = apply_batch(quote(pending), i * batch, len(writes))
            started.extend(applier.start(chunk) for chunk in islice(chunks, 1))
            record(sparql, graphs, quote(done), links)
            outcomes.extend(done)
            if progress:
                progress.advance(len(done))
            i += 1
    if applier.fatal is not None:
        raise applier.fatal
    return outcomes

