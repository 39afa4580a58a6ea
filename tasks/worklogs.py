"""Units of the work-log sync: read each side in bulk, plan, apply a batch, record ids.

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
from kimaisync.errors import KimaiNotFoundError, KimaiPermissionError
from kimaisync.trackers.kimai2 import KimaiClient
from kimaisync.trackers.kimai2.models import KimaiUser
from kimaisync.plan.worklogs import Plan, PlanOptions, plan
from kimaisync.rdf.graphs import Graphs
from kimaisync.sparql.client import SparqlClient, chunked
from kimaisync.store import worklogs as store
from kimaisync.timekeeper import TimekeeperSnapshot

UTC = dt.timezone.utc
APPLY_BATCH = 500


@dataclass
class KimaiPeriod:
    """Kimai's side of a period: its timesheets (plus those work logs point at elsewhere) and users."""

    timesheets: list = field(default_factory=list)
    users: dict[int, KimaiUser] = field(default_factory=dict)
    missing_ids: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def _logger():
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run (plain-call tests): stay quiet
        import logging
        return logging.getLogger("kimaisync.flows")


@task(name="read-timekeeper-work-logs", cache_policy=NO_CACHE)
def read_timekeeper_period(sparql: SparqlClient, settings, start: dt.date, end: dt.date) -> TimekeeperSnapshot:
    snap = store.read_snapshot(sparql, start, end, homepage=settings.kimai_account_service_homepage,
                               resource_base=settings.resource_base_uri)
    _logger().info("Timekeeper: %d work logs from %s to %s", len(snap.work_logs), start, end)
    return snap


def fetch_users(kimai: KimaiClient, snap: TimekeeperSnapshot, timesheets) -> tuple[dict[int, KimaiUser], list[str]]:
    """Kimai's users; without the permission to list them, the ids we know with the default zone."""
    try:
        return {u.id: u for u in kimai.users()}, []
    except KimaiPermissionError as err:
        ids = {uid for v in snap.accounts.values() for uid in v} | {t.user for t in timesheets}
        return ({uid: KimaiUser(id=uid, username=str(uid), enabled=True, timezone=None) for uid in ids},
                [f"cannot list Kimai users ({err}); using TIMEZONE for everyone and assuming accounts exist"])


def fetch_held(kimai: KimaiClient, ids: set[int], concurrency: int) -> tuple[list, set[int]]:
    """Timesheets work logs point at that the period listing did not hold: fetched by id."""
    found, missing = [], set()

    def one(tid: int):
        try:
            return kimai.get_timesheet(tid)
        except KimaiNotFoundError:
            return tid
    if ids:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ids)))) as pool:
            for r in pool.map(one, sorted(ids)):
                (missing.add(r) if isinstance(r, int) else found.append(r))
    return found, missing


def period_window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A day of margin each side: Kimai filters in the API user's zone, people may live in others."""
    return (dt.datetime.combine(start - dt.timedelta(days=1), dt.time(0), UTC),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(23, 59, 59), UTC))


@task(name="list-kimai-timesheets", cache_policy=NO_CACHE)
def list_kimai_timesheets(kimai: KimaiClient, start: dt.date, end: dt.date) -> list:
    """Kimai's timesheets of the period, all users; runs beside the store read."""
    return kimai.timesheets(*period_window(start, end))


@task(name="read-kimai-timesheets", cache_policy=NO_CACHE)
def read_kimai_period(kimai: KimaiClient, snap: TimekeeperSnapshot, start: dt.date, end: dt.date,
                      concurrency: int = 4, listed: list | None = None) -> KimaiPeriod:
    """Kimai's side: the period's listing (unless given), what work logs point at elsewhere, users."""
    if listed is None:
        listed = kimai.timesheets(*period_window(start, end))
    held = {l.kimai_id for l in snap.work_logs if l.kimai_id is not None}
    held |= {int(k) for ids in snap.dangling.values() for k in ids if k.strip().isdigit()}
    extra, missing = fetch_held(kimai, held - {t.id for t in listed}, concurrency)
    users, warnings = fetch_users(kimai, snap, listed + extra)
    _logger().info("Kimai: %d timesheets listed, %d fetched by id, %d gone", len(listed), len(extra), len(missing))
    return KimaiPeriod(listed + extra, users, missing, warnings)


@task(name="plan-work-log-changes", cache_policy=NO_CACHE)
def plan_work_logs(sparql: SparqlClient, snap: TimekeeperSnapshot, kimai: KimaiPeriod, options: PlanOptions) -> Plan:
    """Plan; timesheets no work log of the snapshot holds are first checked against the whole store."""
    in_snapshot = {l.kimai_id for l in snap.work_logs} | {l.uuid for l in snap.work_logs}
    loose_ids = {t.id for t in kimai.timesheets if t.id not in in_snapshot}
    loose_uuids = {u for t in kimai.timesheets if (u := markers.marker_of(t.description)) and u not in in_snapshot}
    claimed, live = store.claimed_by_live_work_logs(sparql, loose_ids, loose_uuids)
    result = plan(snap, kimai.timesheets, kimai.users, options, missing_ids=kimai.missing_ids,
                  claimed_elsewhere=claimed, live_uuids_elsewhere=live)
    _logger().info("plan: %s", ", ".join(f"{n} {k}" for k, n in sorted(result.counts().items())) or "nothing")
    return result


@task(name="apply-kimai-writes", cache_policy=NO_CACHE)
def apply_kimai_batch(batch: Started, done_before: int, total: int) -> list[Outcome]:
    """One batch of writes, queued in order with the others (see Applier.start): its outcomes."""
    outcomes = batch.outcomes()
    _logger().info("Kimai writes: %d/%d done", done_before + len(outcomes), total)
    return outcomes


@task(name="apply-kimai-moves", cache_policy=NO_CACHE)
def apply_kimai_moves(applier: Applier, lanes: list) -> list[Outcome]:
    """Deletions and updates, per user in an order Kimai's overlap rule accepts (see apply.order)."""
    outcomes = applier.run_lanes(lanes)
    _logger().info("Kimai deletions and updates: %d done", len(outcomes))
    return outcomes


@task(name="record-kimai-ids", cache_policy=NO_CACHE)
def record_kimai_ids(sparql: SparqlClient, graphs: Graphs, outcomes: list[Outcome]) -> int:
    """Write each synced work log's Kimai id, and drop the ids of deleted work logs, in batches."""
    ids = {o.action.work_log: o.timesheet_id for o in outcomes
           if o.action.work_log and o.timesheet_id is not None and o.action.kind != "delete"
           and (o.action.write_id or o.status == "created")}
    cleared = [o.action.clear_dangling for o in outcomes if o.status == "deleted" and o.action.clear_dangling]
    n = store.write_kimai_ids(sparql, ids, graphs) if ids else 0
    if cleared:
        store.clear_kimai_ids(sparql, cleared, graphs)
    return n + len(cleared)


def _plainly(task):
    """A task's function, called in the flow's own run (no task run of its own), arguments unquoted."""
    def call(*args, **kw):
        unwrap = lambda v: v.unwrap() if isinstance(v, BaseAnnotation) else v  # noqa: E731
        return task.fn(*map(unwrap, args), **{k: unwrap(v) for k, v in kw.items()})
    return call


def sync_work_logs(result: Plan, kimai: KimaiClient, sparql: SparqlClient, graphs: Graphs, *,
                   concurrency: int, dry_run: bool = False, batch: int = APPLY_BATCH,
                   plain: bool = False) -> list[Outcome]:
    """Apply a plan inside a flow: Kimai writes in batches, each batch's ids recorded right after.

    Actions that need no Kimai write but a store write (adopted timesheets) go with the first
    batch. After an authentication failure the completed writes are recorded, then it is raised.
    `plain`: run the steps in the flow's own run, without task runs (a delta's few records: each
    task run would cost more than the work, and a failed delta run is retried as a whole).
    """
    steps = (record_kimai_ids, apply_kimai_moves, apply_kimai_batch)  # looked up now: tests may swap them
    record, apply_moves, apply_batch = map(_plainly, steps) if plain else steps
    if dry_run:
        return [Outcome(a, "skipped" if a.kind != "unchanged" else "unchanged", a.timesheet_id,
                        f"dry run: would {a.kind}" + (f" ({a.reason})" if a.reason else ""))
                for a in result.actions]
    writes = result.of("create")
    others = [a for a in result.actions if a.kind not in ("create", "update", "delete")]
    with Applier(kimai, concurrency=concurrency, attempts=kimai.retries + 1) as applier:
        outcomes = [applier.run_one(a) for a in others]
        pending_ids = [o for o in outcomes if o.action.write_id]
        if pending_ids:
            record(sparql, graphs, quote(pending_ids))
        moves = lanes(result.of("delete", "update"), result.held)
        if moves:  # first, so the creations find their slots free
            done = apply_moves(applier, quote(moves))
            record(sparql, graphs, quote(done))
            outcomes.extend(done)
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
            record(sparql, graphs, quote(done))
            outcomes.extend(done)
            i += 1
    if applier.fatal is not None:
        raise applier.fatal
    return outcomes

