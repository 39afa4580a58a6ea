"""The receiver's journal: an answer waits for the local disk, not for Prefect; what a dead process
accepted is taken up again; Prefect away only delays the record."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from deployments.journal import Journal
from deployments.receiver import create_app
from deployments.run_queue import RunQueue
from receiver_stubs import LOG, StubFlow, delta_body






class Placeholders:
    """Stands in for the Prefect API: records, updates and deletions of placeholder runs."""

    def __init__(self, up: bool = True):
        self.up = threading.Event()
        if up:
            self.up.set()
        self.made, self.deleted = {}, []

    def record(self, name, parameters):
        if not self.up.is_set():
            raise ConnectionError("the Prefect API is away")
        run = type("Run", (), {"id": f"run-{len(self.made)}"})()
        self.made[run.id] = parameters
        return run

    def update(self, placeholder, parameters):
        if not self.up.is_set():
            raise ConnectionError("the Prefect API is away")
        self.made[placeholder.id] = parameters


def queue(flows, journal, api: Placeholders) -> RunQueue:
    runs = RunQueue.__new__(RunQueue)  # attach the stand-in API before the queue starts taking up work
    runs._record, runs._update = api.record, api.update
    runs._client = lambda: type("Api", (), {"delete_flow_run": api.deleted.append})()
    RunQueue.__init__(runs, flows, {name: "a-deployment" for name in flows}, journal=journal)
    return runs


def test_an_answer_waits_for_the_disk_not_for_prefect_and_the_record_follows(tmp_path):
    api, flow = Placeholders(up=False), StubFlow(outcome="FAILED")
    journal = Journal(tmp_path / "journal.sqlite3")
    runs = queue({"delta": flow}, journal, api)
    try:
        r = TestClient(create_app(runs, None)).post("/delta", json=delta_body(LOG))
        assert r.status_code == 204  # recorded on disk while Prefect is away
        assert runs.join(10) and flow.calls == [{"work_logs": [LOG]}]
        assert [p for _, _, p in journal.pending()] == [{"work_logs": [LOG]}]  # failed, Prefect away: kept
        api.up.set()
        deadline = threading.Event()
        for _ in range(100):  # the recorder retries with a backoff of at most 5 s
            if not journal.pending():
                break
            deadline.wait(0.2)
        assert list(api.made.values()) == [{"work_logs": [LOG]}]  # the failed run's retry is in Prefect
        assert journal.pending() == [] and journal.held_rows() == []
    finally:
        runs.stop()


def test_a_completed_run_leaves_nothing_in_the_journal_or_in_prefect(tmp_path):
    api, flow = Placeholders(), StubFlow()
    journal = Journal(tmp_path / "journal.sqlite3")
    runs = queue({"delta": flow}, journal, api)
    try:
        assert TestClient(create_app(runs, None)).post("/delta", json=delta_body(LOG)).status_code == 204
        assert runs.join(10)
    finally:
        runs.stop()
    assert flow.calls == [{"work_logs": [LOG]}]
    assert journal.pending() == []
    assert sorted(api.deleted) == sorted(api.made)  # every placeholder made was deleted


def test_what_a_dead_process_accepted_is_taken_up_at_start_unless_prefect_holds_it(tmp_path):
    path = tmp_path / "journal.sqlite3"
    left = Journal(path)  # as a process that answered 2xx and died before Prefect held it
    left.save(None, "delta", {"work_logs": [LOG], "refused": ["subject '_:b0' no scheme"]})
    left.save(None, "lock", {"month": 3, "year": 2025})
    held = left.save(None, "lock", {"month": 4, "year": 2025}, version=2)
    left.held(held, 2)  # Prefect holds this one: its runner or a worker runs it when it comes due
    left.close()
    api, delta, lock = Placeholders(), StubFlow(), StubFlow()
    journal = Journal(path)
    runs = queue({"delta": delta, "lock": lock}, journal, api)
    try:
        assert runs.join(10)
    finally:
        runs.stop()
    assert delta.calls == [{"work_logs": [LOG], "refused": ["subject '_:b0' no scheme"]}]
    assert lock.calls == [{"month": 3, "year": 2025}]
    assert journal.pending() == [] and journal.held_rows() == []
