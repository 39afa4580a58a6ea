"""In which order one person's Kimai changes can be made without a moment of overlap.

Kimai, when its overlap rule is on, refuses a write that would overlap another stopped record
of the same user, also for a moment: when a day's layout shifts, the PATCH that moves a work
log later must wait until the one after it has moved out of the way. So per user: deletions
first (they only free time), then each update whose target slot is free at that point, then
creations (the final layout has room for them). A cycle (two records swapping places) cannot
be ordered; it is applied as planned and Kimai's refusal is reported, for the next run to heal.
"""

from __future__ import annotations

from collections import defaultdict

from kimaisync.plan.worklogs import Action


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def ordered_moves(actions: list[Action]) -> list[Action]:
    """Deletions, then updates in a safe order, of one user."""
    deletes = [a for a in actions if a.kind == "delete"]
    pending = sorted((a for a in actions if a.kind == "update"), key=lambda a: (a.desired.begin, a.timesheet_id))
    now = {a.timesheet_id: a.current for a in pending if a.current}
    order = []
    while pending:
        pick = next((a for a in pending if not any(
            _overlap((a.desired.begin, a.desired.end), iv) for tid, iv in now.items() if tid != a.timesheet_id)),
            pending[0])
        pending.remove(pick)
        now[pick.timesheet_id] = (pick.desired.begin, pick.desired.end)
        order.append(pick)
    return deletes + order


def lanes(actions: list[Action]) -> list[list[Action]]:
    """Deletions and updates grouped per Kimai user, each group in its safe order."""
    by_user: dict = defaultdict(list)
    for a in actions:
        if a.kind in ("delete", "update"):
            by_user[a.desired.user if a.desired else a.user].append(a)
    return [ordered_moves(group) for _, group in sorted(by_user.items(), key=lambda kv: str(kv[0]))]
