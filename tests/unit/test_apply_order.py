"""Per-user order of Kimai changes: never a moment of overlap when a day's layout shifts."""

from __future__ import annotations

import datetime as dt

from kimaisync.apply.order import lanes, ordered_moves
from kimaisync.plan.worklogs import Action, Desired

T0 = dt.datetime(2025, 3, 12, 9, tzinfo=dt.timezone.utc)


def h(n):
    return T0 + dt.timedelta(hours=n)


def upd(tid, old, new, user=14):
    return Action("update", entry_id=tid, current=(h(old[0]), h(old[1])), user=user,
                  desired=Desired(user, 1, 1, h(new[0]), h(new[1]), "", "UTC"))


def test_a_growing_first_log_moves_the_later_ones_out_of_the_way_first():
    a, b, c = upd(1, (0, 2), (0, 3)), upd(2, (2, 3), (3, 4)), upd(3, (3, 4), (4, 5))
    assert [x.entry_id for x in ordered_moves([a, b, c])] == [3, 2, 1]


def test_a_shrinking_first_log_lets_the_later_ones_move_earlier_in_order():
    a, b, c = upd(1, (0, 3), (0, 2)), upd(2, (3, 4), (2, 3)), upd(3, (4, 5), (3, 4))
    assert [x.entry_id for x in ordered_moves([c, b, a])] == [1, 2, 3]


def test_deletions_come_first_and_users_are_separate_lanes():
    d = Action("delete", entry_id=9, user=14)
    moves = lanes([upd(1, (0, 2), (0, 3)), d, upd(5, (0, 1), (0, 2), user=15)])
    assert [[x.entry_id for x in lane] for lane in moves] == [[9, 1], [5]]


def test_every_step_is_overlap_free():
    # Insert 1 h at the start of a 5-log day: each log moves 1 h later.
    moves = [upd(i, (i, i + 1), (i + 1, i + 2)) for i in range(5)]
    now = {a.entry_id: a.current for a in moves}
    for a in ordered_moves(moves):
        target = (a.desired.begin, a.desired.end)
        assert not any(target[0] < iv[1] and iv[0] < target[1] for tid, iv in now.items() if tid != a.entry_id)
        now[a.entry_id] = target


def replay(moves, held):
    """Apply the moves to `held` one by one, asserting no step overlaps another record of its user."""
    now = dict(held)
    for a in moves:
        if a.kind == "delete":
            now.pop(a.entry_id, None)
            continue
        user, span = a.desired.user, (a.desired.begin, a.desired.end)
        clash = [tid for tid, (u, b, e) in now.items() if u == user and tid != a.entry_id
                 and span[0] < e and b < span[1]]
        assert not clash, f"moving {a.entry_id} to {span} overlaps {clash}"
        now[a.entry_id] = (user, *span)
    return now


def test_two_records_swapping_places_park_one_aside_first():
    # Work log 1 moves to the next day's 09:00 while that day's record 2 moves back to 1's place.
    a = upd(1, (0, 2), (24, 26))
    b = upd(2, (24, 26), (0, 2))
    held = {1: (14, h(0), h(2)), 2: (14, h(24), h(26)), 3: (14, h(2), h(3))}  # 3 stays
    moves = ordered_moves([a, b], held)
    first, second = moves[0].entry_id, 3 - moves[0].entry_id
    assert [m.entry_id for m in moves] == [first, second, first] and moves[0].step and not moves[1].step
    final = replay(moves, held)
    assert final[1][1:] == (h(24), h(26)) and final[2][1:] == (h(0), h(2)) and final[3][1:] == (h(2), h(3))


def test_a_record_that_stays_blocks_a_target_until_parked_around():
    # Record 9 stays where it is (unchanged); the shifted day must step around it, never through it.
    moves = [upd(i, (i, i + 1), (i + 1, i + 2)) for i in range(3)]
    held = {i: (14, h(i), h(i + 1)) for i in range(3)} | {9: (14, h(5), h(6))}
    replay(ordered_moves(moves, held), held)


def test_a_record_moving_to_another_person_shares_a_lane_with_both():
    move = upd(1, (0, 1), (0, 1), user=15)  # 14's record becomes 15's, same hours
    other = upd(2, (0, 1), (1, 2), user=15)  # 15's record at that hour makes room
    later = upd(3, (1, 2), (0, 1))  # and 14's next record moves into the freed hour
    held = {1: (14, h(0), h(1)), 2: (15, h(0), h(1)), 3: (14, h(1), h(2))}
    groups = lanes([later, move, other], held)
    assert len(groups) == 1
    assert [m.entry_id for m in groups[0]] == [2, 1, 3]
    replay(groups[0], held)


def test_parking_steps_are_reported_only_when_they_fail():
    from kimaisync.apply.timesheets import Applier

    from kimaisync.trackers.kimai2.adapter import CAPABILITIES

    class Kimai:  # a tracker with one session: itself
        title, entry_word, capabilities = "Kimai", "timesheet", CAPABILITIES

        def __init__(self, fail):
            self.fail, self.patched = fail, []

        def session(self, user=None):
            return self

        def update(self, tid, changes, zone):
            from kimaisync.errors import KimaiValidationError
            self.patched.append(tid)
            if self.fail and len(self.patched) == 1:
                raise KimaiValidationError("You already have an entry for this time.")
            return type("T", (), {"id": tid})()

    held = {1: (14, h(0), h(2)), 2: (14, h(24), h(26))}
    for fail, rows in ((False, 2), (True, 3)):
        kimai = Kimai(fail)
        with Applier(kimai, concurrency=2) as applier:
            outcomes = applier.run_lanes([ordered_moves([upd(1, (0, 2), (24, 26)), upd(2, (24, 26), (0, 2))], held)])
        assert len(kimai.patched) == 3 and kimai.patched[0] == kimai.patched[2] != kimai.patched[1]
        assert len(outcomes) == rows
        assert ("moved out of the way" in outcomes[0].message) == fail


def test_a_parked_record_whose_begin_does_not_change_is_put_back_whole():
    """A parked record's planned PATCH names only what differs from where it was before the park;
    a begin that did not change must still be sent, or the record keeps the park's begin. Found by
    `bench/fault_campaign.py --edits`: a work log ended at 11:30 as planned but began at 08:15."""
    def planned(tid, old, new):
        a = upd(tid, old, new)
        a.changes = {k: v for k, v, was in (("begin", h(new[0]), h(old[0])), ("end", h(new[1]), h(old[1])))
                     if v != was}
        return a
    # A grows at its end into B's slot; B and C trade places: A waits on B, which waits on C and C on B.
    a = planned(1, (0, 1), (0, 1.5))
    b = planned(2, (1, 2), (2, 3))
    c = planned(3, (2, 3), (1.5, 2))
    moves = ordered_moves([a, b, c], {1: (14, h(0), h(1)), 2: (14, h(1), h(2)), 3: (14, h(2), h(3))})
    assert any(m.step for m in moves)  # the cycle made a park
    now = {1: (h(0), h(1)), 2: (h(1), h(2)), 3: (h(2), h(3))}
    for m in moves:  # as Kimai applies a PATCH: only the fields sent change
        b0, e0 = now[m.entry_id]
        now[m.entry_id] = (m.changes.get("begin", b0), m.changes.get("end", e0))
    assert now == {1: (h(0), h(1.5)), 2: (h(2), h(3)), 3: (h(1.5), h(2))}
