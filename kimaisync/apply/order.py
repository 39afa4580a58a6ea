"""In which order one person's Kimai changes can be made without a moment of overlap.

Kimai, when its overlap rule is on, refuses a write that would overlap another stopped record
of the same user, also for a moment: when a day's layout shifts, the PATCH that moves a work
log later must wait until the one after it has moved out of the way. So per user: deletions
first (they only free time), then each update whose target is free at that point (free of
every record the user has in Kimai, also those the plan leaves alone), then creations (the
final layout has room for them).

Two records can need each other's place (a work log moved to the next day while that day's
first record moves back): no order of PATCHes does that. Then one of them is first parked in
a free gap near where it is (an extra PATCH, an `Action.step`), and the cycle resolves in the
same run. A work log that changes person moves a record between two users' timelines, so
users linked by such a move share a lane.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from kimaisync.plan.worklogs import Action

Held = dict[int, tuple[int, dt.datetime, dt.datetime]]  # timesheet id -> (user, begin, end) in Kimai now


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _target(a: Action) -> tuple[int, tuple[dt.datetime, dt.datetime]]:
    return a.desired.user, (a.desired.begin, a.desired.end)


class _Timeline:
    """Where each record is, found by user and day: an overlap check looks at a few days, not at all."""

    def __init__(self, held: Held):
        self.where: Held = {}
        self.days: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
        self.reach = 1  # days the longest record spans
        for tid, iv in held.items():
            self.put(tid, *iv)

    def put(self, tid: int, user: int, begin: dt.datetime, end: dt.datetime) -> None:
        self.drop(tid)
        self.where[tid] = (user, begin, end)
        self.days[(user, begin.date())].add(tid)
        self.reach = max(self.reach, (end - begin).days + 1)

    def drop(self, tid: int) -> None:
        if tid in self.where:
            user, begin, _ = self.where.pop(tid)
            self.days[(user, begin.date())].discard(tid)

    def near(self, user: int, span) -> list[tuple[int, tuple[dt.datetime, dt.datetime]]]:
        first, last = span[0].date() - dt.timedelta(days=self.reach), span[1].date() + dt.timedelta(days=1)
        out = []
        for n in range((last - first).days + 1):
            for tid in self.days.get((user, first + dt.timedelta(days=n)), ()):
                out.append((tid, self.where[tid][1:]))
        return out

    def free(self, user: int, span, skip: int | None) -> bool:
        return not any(tid != skip and _overlap(span, iv) for tid, iv in self.near(user, span))


def _parking(now: _Timeline, pending: list[Action], a: Action) -> tuple[dt.datetime, dt.datetime]:
    """The free gap nearest to where `a` is now, of its length, clear of every target still to come."""
    user, begin, end = now.where[a.entry_id]
    length = end - begin
    around = (begin - dt.timedelta(days=1), end + dt.timedelta(days=1))
    walls = [iv for tid, iv in now.near(user, around) if tid != a.entry_id]
    walls += [span for u, span in map(_target, pending) if u == user and _overlap(span, around)]
    starts = {e for _, e in walls} | {b - length for b, _ in walls} | {begin}
    fits = [s for s in starts if not any(_overlap((s, s + length), w) for w in walls)
            and now.free(user, (s, s + length), a.entry_id)]
    if not fits:  # the days around are full: after everything the user has or will have
        fits = [max([e for u, _, e in now.where.values() if u == user]
                    + [span[1] for u, span in map(_target, pending) if u == user])]
    spot = min(fits, key=lambda s: (abs(s - begin), s))
    return spot, spot + length


def _park(a: Action, span) -> Action:
    desired = dataclasses.replace(a.desired, begin=span[0], end=span[1])
    return dataclasses.replace(a, desired=desired, changes={"begin": span[0], "end": span[1]}, write_id=False,
                               step=f"moved out of the way to {span[0]:%Y-%m-%d %H:%M} UTC first")


def ordered_moves(actions: list[Action], held: Held | None = None) -> list[Action]:
    """Deletions, then updates in an order Kimai accepts (with parking steps where they must swap).

    `held`: where the users' records are in Kimai now, including those no action touches."""
    held = held or {}
    deletes = [a for a in actions if a.kind == "delete"]
    pending = sorted((a for a in actions if a.kind == "update"), key=lambda a: (a.desired.begin, a.entry_id))
    now = _Timeline(held)
    for a in deletes:
        now.drop(a.entry_id)
    for a in pending:
        if a.current:
            now.put(a.entry_id, held.get(a.entry_id, (a.desired.user,))[0], *a.current)
    order: list[Action] = []
    parked: set[int] = set()
    while pending:
        pick = next((a for a in pending if now.free(*_target(a), a.entry_id)), None)
        if pick is None:
            stuck = next((a for a in pending if a.entry_id not in parked and a.entry_id in now.where
                          and now.where[a.entry_id][0] == a.desired.user), None)
            if stuck is not None:  # a cycle: step one aside
                span = _parking(now, pending, stuck)
                order.append(_park(stuck, span))
                now.put(stuck.entry_id, stuck.desired.user, *span)
                parked.add(stuck.entry_id)
                continue
            pick = pending[0]  # its target is taken by a record that stays: Kimai will say so, a later run heals
        pending.remove(pick)
        if pick.entry_id in parked:  # its PATCH must undo the park too: begin and end, changed or not
            pick = dataclasses.replace(pick, changes={**pick.changes, "begin": pick.desired.begin,
                                                      "end": pick.desired.end})
        now.put(pick.entry_id, pick.desired.user, pick.desired.begin, pick.desired.end)
        order.append(pick)
    return deletes + order


def lanes(actions: list[Action], held: Held | None = None) -> list[list[Action]]:
    """Deletions and updates grouped per Kimai user (users a record moves between together), each in its order."""
    held = held or {}
    parent: dict = {}

    def root(u):
        while parent.setdefault(u, u) != u:
            u = parent[u]
        return u

    moves = [a for a in actions if a.kind in ("delete", "update")]
    for a in moves:
        if a.kind == "update" and a.entry_id in held:
            parent[root(held[a.entry_id][0])] = root(a.desired.user)
    groups: dict = defaultdict(list)
    for a in moves:
        groups[root(a.desired.user if a.desired else held.get(a.entry_id, (a.user,))[0])].append(a)
    held_of: dict = defaultdict(dict)
    for tid, iv in held.items():
        if root(iv[0]) in groups:
            held_of[root(iv[0])][tid] = iv
    return [ordered_moves(group, held_of[key]) for key, group in sorted(groups.items(), key=lambda kv: str(kv[0]))]
