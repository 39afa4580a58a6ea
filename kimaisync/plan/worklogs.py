"""What to change in Kimai so it holds exactly the work logs of a period: plain code, no I/O.

Input: the triplestore's work logs (with their tasks and people resolved), Kimai's timesheets
of the period, and Kimai's users. Output: one action per work log (create, update, unchanged,
skip with a reason, blocked) and one per Kimai timesheet that lost its work log (delete, or
kept with the reason). The same function serves the period flow, the delta flow (a few days
of a few people) and the timesheet lock (one person's month).

Matching a work log to its timesheet, in order: the Kimai id the work log holds; else the
marker in a timesheet's description (a create whose id never reached the store); else none,
and a timesheet is created. Nothing the sync did not create is deleted unless the delete
scope is widened, and a guard stops mass deletion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kimaisync import marker as markers
from kimaisync.durations import DurationError, parse_minutes
from kimaisync.plan.layout import Slot, lay_out
from kimaisync.timekeeper import TimekeeperSnapshot, WorkLog

Kind = Literal["create", "update", "unchanged", "delete", "skip", "blocked"]
DeleteScope = Literal["created", "linked", "all"]


@dataclass(frozen=True, slots=True)
class Desired:
    """The timesheet a work log should be in Kimai."""

    user: int
    project: int
    activity: int
    begin: dt.datetime  # aware
    end: dt.datetime
    description: str
    zone: str  # the owner's Kimai timezone (how Kimai reads a PATCHed wall clock)


@dataclass(slots=True)
class Action:
    kind: Kind
    work_log: str | None = None  # IRI
    work_log_uuid: str | None = None
    timesheet_id: int | None = None
    desired: Desired | None = None
    changes: dict = field(default_factory=dict)  # field -> new value, for an update
    reason: str = ""
    person: str | None = None
    user: int | None = None
    date: dt.date | None = None
    minutes: int | None = None
    current: tuple[dt.datetime, dt.datetime] | None = None  # the timesheet's interval in Kimai now (updates)
    write_id: bool = False  # the store must (re)learn timesheet_id for this work log
    clear_dangling: str | None = None  # IRI of a deleted work log whose id triple goes after the delete
    step: str = ""  # an intermediate move on the way to the planned one (see apply.order): reported only if it fails


@dataclass
class PlanOptions:
    workday_start: dt.time = dt.time(9, 0)
    default_zone: str = "Europe/Brussels"
    delete_scope: DeleteScope = "created"
    guard_share: float = 0.2
    guard_min: int = 10  # below this many deletions the share guard does not apply
    force: bool = False
    period: tuple[dt.date, dt.date] | None = None  # deletions only for timesheets beginning in it
    users: frozenset[int] | None = None  # deletions only for these Kimai users (a person's lock)
    days: frozenset[tuple[int, dt.date]] | None = None  # deletions only on these (user, day)s (a delta)


@dataclass
class Plan:
    actions: list[Action]
    guard_tripped: str | None = None
    held: dict[int, tuple[int, dt.datetime, dt.datetime]] = field(default_factory=dict)  # id -> (user, begin, end)

    def of(self, *kinds: str) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for a in self.actions:
            out[a.kind] += 1
        return dict(out)

    @property
    def kimai_writes(self) -> list[Action]:
        return self.of("create", "update", "delete")


# ---------------------------------------------------------------------------- helpers


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _local_date(ts, users: dict, default: str) -> dt.date:
    user = users.get(ts.user)
    return ts.begin.astimezone(_zone(getattr(user, "timezone", None), default)).date()


@dataclass(slots=True)
class _Resolved:
    log: WorkLog
    user: int
    project: int
    activity: int
    minutes: int
    date: dt.date


def _resolve(log: WorkLog, snap: TimekeeperSnapshot, users: dict) -> _Resolved | str:
    """The Kimai coordinates of a work log, or the reason it cannot sync."""
    if log.problem:
        return log.problem
    if log.date is None:
        return f"cal:dtstart {log.date_raw!r} is not a date" if log.date_raw else "no cal:dtstart"
    try:
        minutes = parse_minutes(log.duration_raw)
    except DurationError as e:
        return str(e)
    if not log.task:
        return "no task (dct:subject)"
    ref = snap.activities.get(log.task)
    if ref is None:
        return snap.non_activity_tasks.get(log.task, f"task <{log.task}> is not a Kimai activity (ext:KimaiActivity)")
    if ref.project_id is None:
        return f"activity <{log.task}> has no Kimai project (skos:broader a doap:Project)"
    if not log.person:
        return "no person (prov:wasAssociatedWith)"
    accounts = sorted(set(snap.accounts.get(log.person, [])))
    name = snap.person_names.get(log.person) or f"<{log.person}>"
    if not accounts:
        return f"person {name} has no Kimai account linked (foaf:account); link one in Timekeeper"
    if len(accounts) > 1:
        return f"person {name} has {len(accounts)} Kimai accounts linked ({', '.join(map(str, accounts))}); keep one"
    uid = accounts[0]
    user = users.get(uid)
    if user is None:
        return f"Kimai user {uid} of person {name} does not exist in Kimai"
    if not getattr(user, "enabled", True):
        return f"Kimai user {uid} ({user.username}) of person {name} is disabled in Kimai"
    return _Resolved(log, uid, ref.project_id, ref.activity_id, minutes, log.date)


def _diff(ts, want: Desired) -> dict:
    changes = {}
    if ts.user != want.user:
        changes["user"] = want.user
    if ts.project != want.project:
        changes["project"] = want.project
    if ts.activity != want.activity:
        changes["activity"] = want.activity
    if ts.begin != want.begin:
        changes["begin"] = want.begin
    if ts.end is None or ts.end != want.end:
        changes["end"] = want.end
    if (ts.description or "") != want.description:
        changes["description"] = want.description
    return changes


def _description_for(uuid: str, current: str | None) -> str:
    """Keep text someone typed in Kimai; make sure our marker is there."""
    mark = markers.marker(uuid)
    if current and markers.marker_of(current) == uuid:
        return current
    if current and markers.marker_of(current) is None and current.strip():
        return f"{current.rstrip()} {mark}"
    return mark


def _record_zone(ts, owner_zone: str, users: dict, default: str) -> str:
    """The zone Kimai reads a PATCHed wall clock in: the record's own, which the API shows only as the
    offset of its begin. Normally the owner's; a record moved from another person keeps that one's."""
    offset = ts.begin.utcoffset()
    owner = getattr(users.get(ts.user), "timezone", None)
    others = sorted({u.timezone for u in users.values() if getattr(u, "timezone", None)})
    for name in (owner_zone, owner, *others, default):
        if name and offset is not None and ts.begin.astimezone(_zone(name, default)).utcoffset() == offset:
            return name
    return owner_zone


def _day_order(r: _Resolved, ts, uid: int, day: dt.date, users: dict, options: PlanOptions) -> tuple:
    """Where a work log goes in its day: by its timesheet's begin if it is in that day already."""
    if ts is not None and ts.user == uid and ts.end is not None and _local_date(ts, users, options.default_zone) == day:
        return (0, ts.begin, r.log.key)
    return (1, r.log.key)


# ---------------------------------------------------------------------------- the plan


def plan(
    snap: TimekeeperSnapshot,
    timesheets: Iterable,
    users: dict,
    options: PlanOptions,
    *,
    missing_ids: set[int] = frozenset(),
    claimed_elsewhere: set[int] = frozenset(),
    live_uuids_elsewhere: set[str] = frozenset(),
    dangling_elsewhere: dict[int, str] | None = None,
) -> Plan:
    """Plan the Kimai changes for `snap.work_logs` against `timesheets`.

    `missing_ids`: ids work logs hold that Kimai answered 404 for. `claimed_elsewhere` /
    `live_uuids_elsewhere`: timesheet ids and marker uuids that belong to live work logs the
    snapshot does not hold (outside the period): never deleted. `dangling_elsewhere`: Kimai id →
    IRI of a deleted work log, for ids not in `timesheets` (deleted by id).
    """
    by_id = {ts.id: ts for ts in timesheets}
    by_marker: dict[str, list] = defaultdict(list)
    for ts in sorted(by_id.values(), key=lambda t: t.id):
        uuid = markers.marker_of(ts.description)
        if uuid:
            by_marker[uuid].append(ts)
    dangling_ids: dict[int, str] = {}
    for iri, ids in snap.dangling.items():
        for raw in ids:
            if raw.strip().isdigit():
                dangling_ids[int(raw)] = iri
    dangling_ids.update(dangling_elsewhere or {})

    actions: list[Action] = []
    claimed: dict[int, str] = {}  # timesheet id -> work log IRI

    # 1. Claim timesheets: by the id each work log holds, then by marker.
    logs = sorted(snap.work_logs, key=lambda l: (l.key, l.uri))
    claim_of: dict[str, object] = {}
    recreated: dict[str, int] = {}
    for log in logs:
        kid = log.kimai_id
        if kid is not None and kid in by_id and kid not in claimed:
            claimed[kid] = log.uri
            claim_of[log.uri] = by_id[kid]
        elif kid is not None and kid in missing_ids:
            recreated[log.uri] = kid
    for log in logs:
        if log.uri in claim_of or not log.uuid:
            continue
        for ts in by_marker.get(log.uuid, []):
            if ts.id not in claimed:
                claimed[ts.id] = log.uri
                claim_of[log.uri] = ts
                break

    # 2. Resolve each work log; what cannot sync is skipped with its reason.
    resolved: list[_Resolved] = []
    keep_foreign: dict[tuple[int, dt.date], list[Slot]] = defaultdict(list)  # stays in Kimai: lay out around it
    for log in logs:
        r = _resolve(log, snap, users)
        if isinstance(r, str):
            ts = claim_of.get(log.uri)
            note = f"; its Kimai timesheet {ts.id} is left as it is" if ts is not None else ""
            actions.append(Action("skip", log.uri, log.uuid, getattr(ts, "id", None), reason=r + note,
                                  person=log.person, date=log.date))
            if ts is not None and ts.end is not None:  # left in place, so its owner's day steps around it
                keep_foreign[(ts.user, _local_date(ts, users, options.default_zone))].append(Slot(ts.begin, ts.end))
        else:
            resolved.append(r)

    # 3. Timesheets no work log claims: delete, or keep with the reason.
    linked_users = {uid for ids in snap.accounts.values() for uid in ids}
    deletions: list[Action] = []
    for ts in sorted(by_id.values(), key=lambda t: t.id):
        if ts.id in claimed:
            continue
        local = _local_date(ts, users, options.default_zone)
        uuid = markers.marker_of(ts.description)
        ours = uuid is not None or ts.id in dangling_ids
        in_period = ((options.period is None or options.period[0] <= local <= options.period[1])
                     and (options.users is None or ts.user in options.users)
                     and (options.days is None or (ts.user, local) in options.days))
        reason = None
        if ts.id in claimed_elsewhere or (uuid and uuid in live_uuids_elsewhere):
            reason = "belongs to a work log outside this period"
        elif not in_period and ts.id not in dangling_ids:
            reason = "outside the period"
        elif options.delete_scope == "created" and not ours:
            reason = "not created by the sync (no marker, id unknown in Timekeeper)"
        elif options.delete_scope == "linked" and not ours and ts.user not in linked_users:
            reason = "its Kimai user is not linked to any person"
        if reason is None and ts.exported:
            deletions.append(Action("blocked", None, uuid, ts.id, reason="exported in Kimai: not deleted",
                                    user=ts.user, date=local))
            reason = "exported"
        elif reason is None:
            why = ("its work log was deleted in Timekeeper" if ts.id in dangling_ids
                   else f"duplicate of the timesheet of work log {uuid}" if uuid and any(
                       l.uuid == uuid for l in snap.work_logs)
                   else "its work log no longer exists in Timekeeper" if ours
                   else "no work log in Timekeeper for it")
            deletions.append(Action("delete", dangling_ids.get(ts.id), uuid, ts.id, reason=why, user=ts.user,
                                    date=local, clear_dangling=dangling_ids.get(ts.id)))
        if reason is not None and ts.end is not None:
            keep_foreign[(ts.user, local)].append(Slot(ts.begin, ts.end))
    for kid, iri in sorted(dangling_ids.items()):
        if kid not in by_id:  # not listed: delete by id (a 404 is fine), the store says it was ours
            deletions.append(Action("delete", iri, None, kid, reason="its work log was deleted in Timekeeper",
                                    clear_dangling=iri))

    orphan = [a for a in deletions if a.kind == "delete" and not a.clear_dangling]
    guard = None
    if orphan and not options.force:
        in_scope = max(1, len(by_id))
        limit = max(options.guard_min, options.guard_share * in_scope)
        if len(orphan) > limit:
            guard = (f"refused to delete {len(orphan)} of {len(by_id)} Kimai timesheets "
                     f"(more than {options.guard_share:.0%} and more than {options.guard_min}); "
                     "check that Timekeeper's data is complete, then rerun with --force")
            for a in orphan:
                a.kind = "blocked"
                a.reason = f"{a.reason}; deletion guard: {guard}"
                if a.timesheet_id in by_id and by_id[a.timesheet_id].end is not None:
                    ts = by_id[a.timesheet_id]
                    keep_foreign[(ts.user, a.date)].append(Slot(ts.begin, ts.end))
    actions.extend(deletions)

    # 4. Lay out each person's day and compare with what Kimai holds.
    days: dict[tuple[int, dt.date], list[_Resolved]] = defaultdict(list)
    for r in resolved:
        days[(r.user, r.date)].append(r)
    for (uid, day), items in sorted(days.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        user = users[uid]
        zone_name = getattr(user, "timezone", None) or options.default_zone
        zone = _zone(zone_name, options.default_zone)
        # The day keeps the order its records already have in Kimai (newcomers after them, by key):
        # ordered by key alone, two records could have to swap places, which no order of PATCHes
        # can do without a moment of overlap, and every run would fail the same way.
        items = sorted(items, key=lambda r: _day_order(r, claim_of.get(r.log.uri), uid, day, users, options))
        slots = lay_out(day, [r.minutes for r in items], zone=zone, start=options.workday_start,
                        busy=keep_foreign.get((uid, day), []))
        for r, slot in zip(items, slots):
            log = r.log
            ts = claim_of.get(log.uri)
            uuid = log.uuid or ""
            desc = _description_for(uuid, getattr(ts, "description", None)) if uuid else (getattr(ts, "description", None) or "")
            want = Desired(uid, r.project, r.activity, slot.begin, slot.end, desc, str(zone_name))
            common = dict(work_log=log.uri, work_log_uuid=log.uuid, desired=want, person=log.person,
                          user=uid, date=day, minutes=r.minutes)
            if ts is None:
                if not log.uuid:
                    actions.append(Action("skip", reason="work log has no mu:uuid, so the sync cannot mark "
                                          "its Kimai timesheet", **{k: v for k, v in common.items()
                                                                    if k not in ("desired", "minutes")}))
                    continue
                why = (f"its Kimai timesheet {recreated[log.uri]} was deleted in Kimai; created again"
                       if log.uri in recreated else "new")
                actions.append(Action("create", reason=why, write_id=True, **common))
                continue
            changes = _diff(ts, want)
            write_id = log.kimai_id != ts.id or len(log.kimai_ids) != 1
            if not changes:
                actions.append(Action("unchanged", timesheet_id=ts.id, write_id=write_id,
                                      reason="adopted: found by its marker" if write_id else "", **common))
            elif ts.exported:
                actions.append(Action("blocked", timesheet_id=ts.id, write_id=write_id, changes=changes,
                                      reason="exported in Kimai: cannot change " + ", ".join(sorted(changes)),
                                      **common))
            else:
                common["desired"] = dataclasses.replace(want, zone=_record_zone(ts, str(zone_name), users,
                                                                                options.default_zone))
                actions.append(Action("update", timesheet_id=ts.id, changes=changes, write_id=write_id,
                                      reason="changed: " + ", ".join(sorted(changes)),
                                      current=(ts.begin, ts.end or ts.begin), **common))
    held = {ts.id: (ts.user, ts.begin, ts.end) for ts in by_id.values() if ts.end is not None}
    return Plan(actions, guard, held)
