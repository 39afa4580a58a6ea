"""Per-user order of Kimai changes: never a moment of overlap when a day's layout shifts."""

from __future__ import annotations

import datetime as dt

from kimaisync.apply.order import lanes, ordered_moves
from kimaisync.plan.worklogs import Action, Desired

T0 = dt.datetime(2025, 3, 12, 9, tzinfo=dt.timezone.utc)


def h(n):
    return T0 + dt.timedelta(hours=n)


def upd(tid, old, new, user=14):
    return Action("update", timesheet_id=tid, current=(h(old[0]), h(old[1])), user=user,
                  desired=Desired(user, 1, 1, h(new[0]), h(new[1]), "", "UTC"))


def test_a_growing_first_log_moves_the_later_ones_out_of_the_way_first():
    a, b, c = upd(1, (0, 2), (0, 3)), upd(2, (2, 3), (3, 4)), upd(3, (3, 4), (4, 5))
    assert [x.timesheet_id for x in ordered_moves([a, b, c])] == [3, 2, 1]


def test_a_shrinking_first_log_lets_the_later_ones_move_earlier_in_order():
    a, b, c = upd(1, (0, 3), (0, 2)), upd(2, (3, 4), (2, 3)), upd(3, (4, 5), (3, 4))
    assert [x.timesheet_id for x in ordered_moves([c, b, a])] == [1, 2, 3]


def test_deletions_come_first_and_users_are_separate_lanes():
    d = Action("delete", timesheet_id=9, user=14)
    moves = lanes([upd(1, (0, 2), (0, 3)), d, upd(5, (0, 1), (0, 2), user=15)])
    assert [[x.timesheet_id for x in lane] for lane in moves] == [[9, 1], [5]]


def test_every_step_is_overlap_free():
    # Insert 1 h at the start of a 5-log day: each log moves 1 h later.
    moves = [upd(i, (i, i + 1), (i + 1, i + 2)) for i in range(5)]
    now = {a.timesheet_id: a.current for a in moves}
    for a in ordered_moves(moves):
        target = (a.desired.begin, a.desired.end)
        assert not any(target[0] < iv[1] and iv[0] < target[1] for tid, iv in now.items() if tid != a.timesheet_id)
        now[a.timesheet_id] = target
