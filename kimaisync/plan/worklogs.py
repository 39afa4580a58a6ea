"""What to change in the tracker so it holds exactly the work logs of a period: plain code, no I/O.

Input: the triplestore's work logs (with their tasks and people resolved), the tracker's
entries of the period (`trackers.port.Entry`), and its users. Output: one action per work log
(create, update, unchanged, skip with a reason, blocked) and one per entry that lost its work
log (delete, or kept with the reason). The same function serves the period flow, the delta
flow (a few days of a few people) and the timesheet lock (one person's month), for every tracker.

Matching a work log to its entry, in order: the entry id the work log holds; else the marker
in an entry's description (a create whose id never reached the store); else none, and an entry
is created. Nothing the sync did not create is deleted unless the delete scope is widened, and
a guard stops mass deletion.

The tracker's `Capabilities` decide the rest: a clock tracker gets each person's day laid out
back to back (a day tracker gets the date and the minutes as they are); a tracker that cannot
delete gets no deletion (the entry is reported instead); a locked entry of a tracker that keeps
locked entries immutable is never written. Report texts name the tracker (`PlanOptions.tracker`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Callable, Hashable, Iterable, Mapping, Set
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kimaisync import causes
from kimaisync import marker as markers
from kimaisync.causes import Reason
from kimaisync.durations import DurationError, parse_minutes
from kimaisync.plan.layout import Slot, lay_out
from kimaisync.timekeeper import TimekeeperSnapshot, WorkLog, numeric_id
from kimaisync.trackers.port import Capabilities, CredentialScope, Entry, EntryId, TimeModel, TrackerUser, UserId

Users = Mapping[UserId, TrackerUser]  # the tracker's users by id

Kind = Literal["create", "update", "unchanged", "delete", "skip", "blocked"]
DeleteScope = Literal["created", "linked", "all"]


# A tracker that can do everything the planner knows of (what PlanOptions assumes unless told).
FULL = Capabilities(time_model=TimeModel.CLOCK, can_delete=True, credentials=CredentialScope.SERVICE,
                    locked_immutable=True, locked_word="exported")


@dataclass(frozen=True, slots=True)
class Desired:
    """The entry a work log should be in the tracker: begin/end for a clock tracker, date/minutes
    for a day tracker (the other pair is None)."""

    user: Any
    project: Any
    activity: Any
    begin: dt.datetime | None  # aware
    end: dt.datetime | None
    description: str
    zone: str  # the owner's zone in the tracker (how a clock tracker reads a PATCHed wall clock)
    date: dt.date | None = None
    minutes: int | None = None


@dataclass(slots=True)
class Action:
    kind: Kind
    work_log: str | None = None  # IRI
    work_log_uuid: str | None = None
    entry_id: Any = None  # the tracker's id of the entry
    desired: Desired | None = None
    changes: dict[str, Any] = field(default_factory=dict)  # field -> new value, for an update
    reason: str = ""
    person: str | None = None
    user: Any = None  # the tracker's user id
    date: dt.date | None = None
    minutes: int | None = None
    current: tuple[dt.datetime, dt.datetime] | None = None  # the entry's interval in the tracker now (clock updates)
    write_id: bool = False  # the store must (re)learn entry_id for this work log
    clear_dangling: str | None = None  # IRI of a deleted work log whose id triple goes after the delete
    step: str = ""  # an intermediate move on the way to the planned one (see apply.order): reported only if it fails
    cause: str = ""  # a skip's cause code (kimaisync.causes), for grouped summaries


@dataclass
class PlanOptions:
    workday_start: dt.time = dt.time(9, 0)
    default_zone: str = "Europe/Brussels"
    delete_scope: DeleteScope = "created"
    guard_share: float = 0.2
    guard_min: int = 10  # below this many deletions the share guard does not apply
    force: bool = False
    period: tuple[dt.date, dt.date] | None = None  # deletions only for entries beginning in it
    users: frozenset[UserId] | None = None  # deletions only for these tracker users (a person's lock)
    days: frozenset[tuple[Any, dt.date]] | None = None  # deletions only on these (user, day)s (a delta)
    capabilities: Capabilities = FULL
    tracker: str = "the tracker"  # its name in report lines ("Kimai")
    entry_word: str = "entry"  # what it calls an entry ("timesheet")
    parse_id: Callable[[str], Any] = numeric_id  # a stored entry id as the tracker's (Links.parse_id)
    no_session: dict[UserId, str] = field(default_factory=dict)  # tracker user -> why the sync cannot write as them


@dataclass
class Plan:
    actions: list[Action]
    guard_tripped: str | None = None
    held: dict[Any, tuple[Any, dt.datetime, dt.datetime]] = field(default_factory=dict)  # id -> (user, begin, end)

    def of(self, *kinds: str) -> list[Action]:
        return [a for a in self.actions if a.kind in kinds]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for a in self.actions:
            out[a.kind] += 1
        return dict(out)

    @property
    def writes(self) -> list[Action]:
        return self.of("create", "update", "delete")


# ---------------------------------------------------------------------------- helpers


def _zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _local_date(ts: Entry, users: Users, default: str) -> dt.date:
    """The entry's day: a day tracker's own date, else its begin in its owner's zone."""
    if ts.begin is None:
        assert ts.date is not None, ts  # an entry has a begin (clock) or a date (day tracker)
        return ts.date
    user = users.get(ts.user)
    return ts.begin.astimezone(_zone(getattr(user, "timezone", None), default)).date()


@dataclass(slots=True)
class _Resolved:
    log: WorkLog
    user: Any
    project: Any
    activity: Any
    minutes: int
    date: dt.date


def _resolve(log: WorkLog, snap: TimekeeperSnapshot, users: Users, by_name: dict[str, list[TrackerUser]] | None = None,
             options: PlanOptions | None = None) -> _Resolved | str:
    """The tracker coordinates of a work log, or the reason it cannot sync (a `Reason`: its cause too).

    `by_name`: tracker users by casefolded alias and name, to tell a person whose tracker user
    was disabled before from-kimai made an account for it from one who has none at all."""
    options = options or PlanOptions()
    t = options.tracker
    if log.problem:
        return Reason(log.problem, causes.CONFLICTING.code)
    if log.date is None:
        return Reason(f"cal:dtstart {log.date_raw!r} is not a date" if log.date_raw else "no cal:dtstart",
                      causes.NO_DATE.code)
    try:
        minutes = parse_minutes(log.duration_raw)
    except DurationError as e:
        return Reason(str(e), causes.BAD_DURATION.code)
    if not log.task:
        return Reason("no task (dct:subject)", causes.NO_TASK.code)
    ref = snap.activities.get(log.task)
    if ref is None:
        return Reason(snap.non_activity_tasks.get(log.task, f"task <{log.task}> is not a {t} activity"),
                      causes.NOT_BOOKABLE.code)
    if ref.project_id is None:
        return Reason(f"activity <{log.task}> has no {t} project (skos:broader a doap:Project)",
                      causes.NOT_BOOKABLE.code)
    if not log.person:
        return Reason("no person (prov:wasAssociatedWith)", causes.NO_PERSON.code)
    accounts = sorted(set(snap.accounts.get(log.person, [])), key=id_order)
    name = snap.person_names.get(log.person) or f"<{log.person}>"
    if not accounts:
        namesake = [u for u in (by_name or {}).get(name.casefold(), []) if not getattr(u, "enabled", True)]
        if namesake:
            u = namesake[0]
            return Reason(f"person {name} has no {t} account linked, and {t} user {u.id} ({u.name}) of that "
                          f"name is disabled in {t} (from-kimai makes no account for a disabled user): "
                          + causes.DISABLED.todo_for(t), causes.DISABLED.code)
        return Reason(f"person {name} has no {t} account linked: " + causes.NO_ACCOUNT.todo_for(t),
                      causes.NO_ACCOUNT.code)
    if len(accounts) > 1:
        return Reason(f"person {name} has {len(accounts)} {t} accounts linked ({', '.join(map(str, accounts))}); "
                      "keep one", causes.SEVERAL_ACCOUNTS.code)
    uid = accounts[0]
    if uid in options.no_session:  # first: a per-person tracker may list only the users it has a credential for
        return Reason(f"the sync cannot write as {t} user {uid} of person {name}: {options.no_session[uid]}",
                      causes.NO_CREDENTIAL.code)
    user = users.get(uid)
    if user is None:
        return Reason(f"{t} user {uid} of person {name} does not exist in {t} (deleted there; its account "
                      "in Timekeeper stays): " + causes.USER_GONE.todo_for(t), causes.USER_GONE.code)
    if not getattr(user, "enabled", True):
        return Reason(f"{t} user {uid} ({user.name}) of person {name} is disabled in {t}: "
                      + causes.DISABLED.todo_for(t), causes.DISABLED.code)
    return _Resolved(log, uid, ref.project_id, ref.activity_id, minutes, log.date)


def scope_keeps(scope: DeleteScope, *, ours: bool, user_linked: bool, tracker: str = "the tracker") -> str | None:
    """The delete-scope rule, the one place it is written: why an entry no live work log holds is
    kept under DELETE_SCOPE, or None when the scope allows deleting it. `ours`: it carries the
    sync's marker, or a deleted work log still points at it; `user_linked`: its user is linked
    to a person."""
    if scope == "created" and not ours:
        return "not created by the sync (no marker, id unknown in Timekeeper)"
    if scope == "linked" and not ours and not user_linked:
        return f"its {tracker} user is not linked to any person"
    return None


def users_by_name(users: Users) -> dict[str, list[TrackerUser]]:
    """Tracker users by casefolded alias and name."""
    out: dict[str, list[TrackerUser]] = defaultdict(list)
    for u in sorted(users.values(), key=lambda u: str(u.id)):
        for n in {getattr(u, "alias", None), getattr(u, "name", None)}:
            if n:
                out[n.casefold()].append(u)
    return dict(out)


def _diff(ts: Entry, want: Desired) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if ts.user != want.user:
        changes["user"] = want.user
    if ts.project != want.project:
        changes["project"] = want.project
    if ts.activity != want.activity:
        changes["activity"] = want.activity
    if want.begin is not None:  # a clock tracker
        if ts.begin != want.begin:
            changes["begin"] = want.begin
        if ts.end is None or ts.end != want.end:
            changes["end"] = want.end
    else:
        if ts.date != want.date:
            changes["date"] = want.date
        if ts.minutes != want.minutes:
            changes["minutes"] = want.minutes
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


def _record_zone(ts: Entry, owner_zone: str, users: Users, default: str) -> str:
    """The zone Kimai reads a PATCHed wall clock in: the record's own, which the API shows only as the
    offset of its begin. Normally the owner's; a record moved from another person keeps that one's."""
    if ts.begin is None:
        return owner_zone
    offset = ts.begin.utcoffset()
    owner = getattr(users.get(ts.user), "timezone", None)
    others = sorted({u.timezone for u in users.values() if u.timezone})
    for name in (owner_zone, owner, *others, default):
        if name and offset is not None and ts.begin.astimezone(_zone(name, default)).utcoffset() == offset:
            return name
    return owner_zone


def _day_order(r: _Resolved, ts: Entry | None, uid: UserId, day: dt.date, users: Users,
               options: PlanOptions) -> tuple[int, dt.datetime, str] | tuple[int, str]:
    """Where a work log goes in its day: by its timesheet's begin if it is in that day already."""
    if ts is not None and ts.user == uid and ts.end is not None and ts.begin is not None and _local_date(ts, users, options.default_zone) == day:
        return (0, ts.begin, r.log.key)
    return (1, r.log.key)


def id_order(value: Hashable) -> Any:
    """Sort key of a tracker's ids: one tracker's ids compare with each other (ints, strings or
    tuples of them), which their type, Hashable, does not say."""
    return value


def entry_order(ts: Entry) -> Any:
    """Sort key of entries by id."""
    return ts.id


def _log_action(kind: Kind, r: _Resolved, want: Desired, *, reason: str, entry_id: EntryId | None = None,
                changes: dict[str, Any] | None = None, write_id: bool = False, cause: str = "",
                current: tuple[dt.datetime, dt.datetime] | None = None) -> Action:
    """The action for a resolved work log: its coordinates, and what to do with its entry."""
    return Action(kind, r.log.uri, r.log.uuid, entry_id, want, changes or {}, reason, person=r.log.person,
                  user=r.user, date=r.date, minutes=r.minutes, current=current, write_id=write_id, cause=cause)


# ---------------------------------------------------------------------------- the plan


def plan(
    snap: TimekeeperSnapshot,
    timesheets: Iterable[Entry],
    users: Users,
    options: PlanOptions,
    *,
    missing_ids: Set[EntryId] = frozenset(),
    claimed_elsewhere: Set[EntryId] = frozenset(),
    live_uuids_elsewhere: Set[str] = frozenset(),
    dangling_elsewhere: Mapping[EntryId, str] | None = None,
) -> Plan:
    """Plan the tracker changes for `snap.work_logs` against `timesheets` (the tracker's entries).

    `missing_ids`: ids work logs hold that the tracker says do not exist. `claimed_elsewhere` /
    `live_uuids_elsewhere`: entry ids and marker uuids that belong to live work logs the snapshot
    does not hold (outside the period): never deleted. `dangling_elsewhere`: entry id → IRI of a
    deleted work log, for ids not in `timesheets` (deleted by id).
    """
    caps, t, w = options.capabilities, options.tracker, options.entry_word
    immutable = caps.locked_immutable
    by_id = {ts.id: ts for ts in timesheets}
    by_marker: dict[str, list[Entry]] = defaultdict(list)
    ts: Entry | None
    for ts in sorted(by_id.values(), key=entry_order):
        uuid = markers.marker_of(ts.description)
        if uuid:
            by_marker[uuid].append(ts)
    dangling_ids: dict[EntryId, str] = {}
    for iri, ids in snap.dangling.items():
        for raw in ids:
            if (parsed := options.parse_id(raw)) is not None:
                dangling_ids[parsed] = iri
    dangling_ids.update(dangling_elsewhere or {})

    actions: list[Action] = []
    claimed: dict[EntryId, str] = {}  # entry id -> work log IRI

    # 1. Claim timesheets: by the id each work log holds, then by marker.
    logs = sorted(snap.work_logs, key=lambda l: (l.key, l.uri))
    claim_of: dict[str, Entry] = {}
    recreated: dict[str, EntryId] = {}
    for log in logs:
        kid = log.entry_id(options.parse_id)
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
    keep_foreign: dict[tuple[UserId, dt.date], list[Slot]] = defaultdict(list)  # stays in Kimai: lay out around it
    by_name = users_by_name(users)
    for log in logs:
        r = _resolve(log, snap, users, by_name, options)
        if isinstance(r, str):
            ts = claim_of.get(log.uri)
            note = f"; its {t} {w} {ts.id} is left as it is" if ts is not None else ""
            actions.append(Action("skip", log.uri, log.uuid, ts.id if ts is not None else None, reason=r + note,
                                  person=log.person, date=log.date, cause=getattr(r, "cause", "")))
            if ts is not None and ts.end is not None and ts.begin is not None:  # left in place, so its owner's day steps around it
                keep_foreign[(ts.user, _local_date(ts, users, options.default_zone))].append(Slot(ts.begin, ts.end))
        else:
            resolved.append(r)

    # 3. Timesheets no work log claims: delete, or keep with the reason.
    linked_users = {uid for ids in snap.accounts.values() for uid in ids}
    deletions: list[Action] = []
    for ts in sorted(by_id.values(), key=entry_order):
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
        else:
            reason = scope_keeps(options.delete_scope, ours=ours, user_linked=ts.user in linked_users, tracker=t)
        if reason is None and ts.locked and immutable:
            deletions.append(Action("blocked", None, uuid, ts.id, reason=f"{caps.locked_word} in {t}: not deleted",
                                    user=ts.user, date=local, cause=causes.EXPORTED.code))
            reason = caps.locked_word
        elif reason is None:
            why = ("its work log was deleted in Timekeeper" if ts.id in dangling_ids
                   else f"duplicate of the {w} of work log {uuid}" if uuid and any(
                       l.uuid == uuid for l in snap.work_logs)
                   else "its work log no longer exists in Timekeeper" if ours
                   else "no work log in Timekeeper for it")
            if caps.can_remove:
                why = why if caps.can_delete else f"{why}; {t} cannot delete: {caps.retire_word}"
                deletions.append(Action("delete", dangling_ids.get(ts.id), uuid, ts.id, reason=why, user=ts.user,
                                        date=local, clear_dangling=dangling_ids.get(ts.id)))
            else:  # reported, never asked for: delete it by hand in the tracker
                deletions.append(Action("blocked", None, uuid, ts.id, user=ts.user, date=local,
                                        reason=f"{why}; {t} cannot delete through its API: delete it there"))
                reason = "cannot delete"
        if reason is not None and ts.end is not None and ts.begin is not None:
            keep_foreign[(ts.user, local)].append(Slot(ts.begin, ts.end))
    for kid, iri in sorted(dangling_ids.items()):
        if kid not in by_id and caps.can_remove:  # not listed: delete by id (a 404 is fine), the store says it was ours
            deletions.append(Action("delete", iri, None, kid, reason="its work log was deleted in Timekeeper",
                                    clear_dangling=iri))

    orphan = [a for a in deletions if a.kind == "delete" and not a.clear_dangling]
    guard = None
    if orphan and not options.force:
        in_scope = max(1, len(by_id))
        limit = max(options.guard_min, options.guard_share * in_scope)
        if len(orphan) > limit:
            guard = (f"refused to delete {len(orphan)} of {len(by_id)} {t} {w}s "
                     f"(more than {options.guard_share:.0%} and more than {options.guard_min}); "
                     "check that Timekeeper's data is complete, then rerun with --force")
            for a in orphan:
                a.kind = "blocked"
                a.reason = f"{a.reason}; deletion guard: {guard}"
                a.cause = causes.GUARD.code
                held_ts = by_id.get(a.entry_id)
                if held_ts is not None and held_ts.end is not None and held_ts.begin is not None:
                    assert a.date is not None  # every entry's deletion carries its local day
                    keep_foreign[(held_ts.user, a.date)].append(Slot(held_ts.begin, held_ts.end))
    actions.extend(deletions)

    # 4. Lay out each person's day (clock trackers) and compare with what the tracker holds.
    days: dict[tuple[UserId, dt.date], list[_Resolved]] = defaultdict(list)
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
        slots: list[Slot] | list[None]
        if caps.clock:
            slots = lay_out(day, [r.minutes for r in items], zone=zone, start=options.workday_start,
                            busy=keep_foreign.get((uid, day), []))
        else:  # a date and minutes: no clock times are invented
            slots = [None] * len(items)
        for r, slot in zip(items, slots):
            log = r.log
            ts = claim_of.get(log.uri)
            uuid = log.uuid or ""
            current_desc = ts.description if ts is not None else None
            desc = _description_for(uuid, current_desc) if uuid else (current_desc or "")
            want = (Desired(uid, r.project, r.activity, slot.begin, slot.end, desc, str(zone_name)) if slot
                    else Desired(uid, r.project, r.activity, None, None, desc, str(zone_name), day, r.minutes))
            if ts is None:
                if not log.uuid:
                    actions.append(Action("skip", log.uri, log.uuid, person=log.person, user=uid, date=day,
                                          reason=f"work log has no mu:uuid, so the sync cannot mark its {t} {w}",
                                          cause=causes.NO_UUID.code))
                    continue
                why = (f"its {t} {w} {recreated[log.uri]} was deleted in {t}; created again"
                       if log.uri in recreated else "new")
                actions.append(_log_action("create", r, want, reason=why, write_id=True))
                continue
            changes = _diff(ts, want)
            write_id = log.entry_id(options.parse_id) != ts.id or len(log.entry_ids) != 1
            if not changes:
                actions.append(_log_action("unchanged", r, want, entry_id=ts.id, write_id=write_id,
                                           reason="adopted: found by its marker" if write_id else ""))
            elif ts.locked and immutable:
                actions.append(_log_action("blocked", r, want, entry_id=ts.id, write_id=write_id, changes=changes,
                                           reason=f"{caps.locked_word} in {t}: cannot change "
                                           + ", ".join(sorted(changes)), cause=causes.EXPORTED.code))
            else:
                want = dataclasses.replace(want, zone=_record_zone(ts, str(zone_name), users, options.default_zone))
                actions.append(_log_action("update", r, want, entry_id=ts.id, changes=changes, write_id=write_id,
                                           reason="changed: " + ", ".join(sorted(changes)),
                                           current=(ts.begin, ts.end or ts.begin) if ts.begin else None))
    held = {ts.id: (ts.user, ts.begin, ts.end) for ts in by_id.values() if ts.end is not None and ts.begin is not None}
    return Plan(actions, guard, held)
