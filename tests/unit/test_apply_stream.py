"""Creation batches stream through the writer pool: a few are queued at a time, not all at once."""

from __future__ import annotations

import datetime as dt
import threading

from kimaisync.apply.timesheets import Applier
from kimaisync.plan.worklogs import Action, Desired, Plan
from kimaisync.rdf.graphs import Graphs
from kimaisync.trackers.kimai2.adapter import CAPABILITIES as KIMAI2
from kimaisync.trackers.kimai2.adapter import LINKS
from tasks.worklogs import sync_work_logs

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.timezone.utc)


class Kimai:
    """A tracker with one session (itself) whose creates always succeed."""

    retries = 0
    title, entry_word, capabilities, links = "Kimai", "timesheet", KIMAI2, LINKS

    def session(self, user=None):
        return self

    def create(self, w):
        return self.create_timesheet(w)

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = 0

    def create_timesheet(self, w):
        with self.lock:
            self.posts += 1
            return type("T", (), {"id": 1000 + self.posts})()


class Store:
    def __init__(self, started):
        self.started = started
        self.batches_started_at_each_record: list[int] = []

    def update(self, query):
        self.batches_started_at_each_record.append(len(self.started))


def _create(i: int) -> Action:
    begin = T0 + dt.timedelta(minutes=i)
    return Action("create", work_log=f"http://ex.org/work-logs/{i}", work_log_uuid=f"wl-{i}",
                  desired=Desired(1, 1, 1, begin, begin + dt.timedelta(minutes=1), f"[tk:wl-{i}]", "UTC"))


def test_creation_batches_are_queued_a_few_at_a_time(monkeypatch):
    started: list[int] = []
    original = Applier.start

    def start(self, actions):
        started.append(len(actions))
        return original(self, actions)

    monkeypatch.setattr(Applier, "start", start)
    kimai, store = Kimai(), Store(started)
    outcomes = sync_work_logs(Plan([_create(i) for i in range(100)]), kimai, store, Graphs(),
                              concurrency=2, batch=10, plain=True)
    assert [o.status for o in outcomes] == ["created"] * 100 and kimai.posts == 100
    assert started == [10] * 10
    # When a batch's ids are recorded, at most the two after it have been handed to the pool.
    assert store.batches_started_at_each_record == [min(n + 3, 10) for n in range(10)]
