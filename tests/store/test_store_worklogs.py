"""Reading work logs by (person, day), as the delta flow does, on both stores."""

from __future__ import annotations

import datetime as dt

from kimaisync.fixtures import TimekeeperData
from kimaisync.store.worklogs import read_work_logs_of_days
from kimaisync.trackers.kimai2.adapter import LINKS


def test_the_work_logs_of_given_people_and_days_and_no_others(store):
    tk = TimekeeperData()
    task = tk.activity(7, tk.project(3, "P"), "General")
    ann, bob = tk.person("Ann", 14), tk.person("Bob", 15)
    d1, d2, d3 = dt.date(2025, 3, 10), dt.date(2025, 3, 11), dt.date(2025, 3, 12)
    wanted = {tk.work_log(ann, task, d1, "PT1H"), tk.work_log(ann, task, d1, "PT2H"), tk.work_log(bob, task, d3, "PT1H")}
    others = {tk.work_log(ann, task, d2, "PT1H"),  # Ann, but a day between the two asked for
              tk.work_log(bob, task, d1, "PT1H"),  # Bob, on Ann's day
              tk.work_log(ann, task, d3, "PT1H")}  # Ann, on Bob's day
    tk.load(store.client())
    found = read_work_logs_of_days(store.client(), [(ann, d1), (bob, d3)], LINKS)
    assert {l.uri for l in found} == wanted and not {l.uri for l in found} & others
    assert {(l.person, l.date) for l in found} == {(ann, d1), (bob, d3)}


def test_one_person_and_day(store):
    """A delta touching one day: on Virtuoso a one-row VALUES fixing the date failed to compile."""
    tk = TimekeeperData()
    task = tk.activity(7, tk.project(3, "P"), "General")
    ann = tk.person("Ann", 14)
    day = dt.date(2025, 3, 12)
    mine = tk.work_log(ann, task, day, "PT2H")
    tk.work_log(ann, task, day + dt.timedelta(days=1), "PT1H")
    tk.load(store.client())
    assert [l.uri for l in read_work_logs_of_days(store.client(), [(ann, day)], LINKS)] == [mine]
