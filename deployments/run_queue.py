"""Record a run in Prefect, and execute the work at once in this process, side by side.

Prefect's runner and workers poll every 10 s and start a process per run: too slow for a
work-log edit to reach Kimai in well under a second. So for each accepted request:

- an executor thread here runs the flow straight away;
- a placeholder flow run of the route's deployment is recorded, scheduled a little in the
  future; the HTTP answer waits for it, so a 2xx means the work is in Prefect's database.
  A delta's run is given up to FIRST seconds: when it has completed by then, its own flow run
  is the record and no placeholder is made (recording one alongside doubled the run's time:
  both write to Prefect's database at once);
- when the flow completes, the placeholder is deleted: the executed run is the record. If the
  flow fails, or this process dies first, the placeholder stays and `serve` (or a worker) runs
  it when it comes due, so nothing accepted is lost.

Runs execute one at a time, in order: two runs never race to create one work log's timesheet.
Work logs already waiting in the queue are not queued again: the queued run reads the latest
state when it starts (coalescing the up-to-five POSTs one edit causes).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

log = logging.getLogger("kimaisync.receiver")

GRACE = dt.timedelta(seconds=60)  # how long a placeholder waits for us before serve/workers may take it
FIRST = {"delta": 2.0}  # seconds a run of these may take before its placeholder is recorded (see submit)


@dataclass
class Job:
    name: str
    parameters: dict[str, Any]
    keys: frozenset[str] = frozenset()
    placeholder: Any = None  # the recorded flow run, once recorded
    recorded: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)  # executed here, with `outcome`
    outcome: str = ""


class RunQueue:
    """`submit` enqueues and records (when deployments are known); one thread executes."""

    def __init__(self, flows: dict[str, Any], deployment_ids: dict[str, UUID] | None = None):
        self.flows = flows
        self.deployment_ids = deployment_ids or {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._cleanup: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="run-queue", daemon=True)
        self._thread.start()
        self._tidier = threading.Thread(target=self._tidy, name="run-queue-tidy", daemon=True)
        self._tidier.start()
        self.executed: list[tuple[str, dict, str]] = []  # (flow, parameters, final state) for reports and tests

    # ------------------------------------------------------------------ accepting

    def _record(self, name: str, parameters: dict):
        dep = self.deployment_ids.get(name)
        if dep is None:
            return None
        from prefect import get_client
        from prefect.states import Scheduled

        with get_client(sync_client=True) as client:
            return client.create_flow_run_from_deployment(
                dep, parameters=parameters,
                state=Scheduled(scheduled_time=dt.datetime.now(dt.timezone.utc) + GRACE))

    def submit(self, name: str, parameters: dict, keys: frozenset[str] = frozenset()) -> bool:
        """Accept a run; returns once it is recorded. False when every key is already waiting."""
        with self._lock:
            if keys and keys <= self._pending:
                return False
            new_keys = keys - self._pending
            self._pending |= new_keys
            self._busy += 1
        if keys:
            parameters = {**parameters, "work_logs": sorted(new_keys)}
        job = Job(name, parameters, frozenset(new_keys))
        self._queue.put(job)  # execution starts now
        # A delta's run usually completes in well under a second, and then that executed flow run
        # is the record: no placeholder is needed. Recording one meanwhile would only slow the run
        # down (both write to Prefect's database at once). A run still going after FIRST seconds,
        # or one that failed, gets its placeholder before the answer, as every other run does.
        first = FIRST.get(name, 0.0)
        if first and job.finished.wait(first) and job.outcome == "COMPLETED":
            job.recorded.set()
            return True
        try:
            job.placeholder = self._record(name, parameters)
        finally:
            job.recorded.set()
        return True

    # ------------------------------------------------------------------ executing

    def _execute(self, job: Job) -> str:
        state = self.flows[job.name](**job.parameters, return_state=True)
        if asyncio.iscoroutine(state):  # an async flow (the delta flow)
            state = asyncio.run(state)
        outcome = state.type.value
        self._cleanup.put((job, outcome))  # the next run need not wait for the record to be tidied
        return outcome

    def _tidy(self) -> None:
        """Delete the placeholder of each completed run; leave the others to be retried when due."""
        while True:
            item = self._cleanup.get()
            if item is None:
                return
            job, outcome = item
            job.recorded.wait(120)
            try:
                if job.placeholder is not None and outcome == "COMPLETED":
                    from prefect import get_client

                    with get_client(sync_client=True) as client:  # the executed run is the record now
                        client.delete_flow_run(job.placeholder.id)
                elif job.placeholder is not None:
                    log.warning("run %s ended %s; its recorded run %s will be retried when due", job.name,
                                outcome, job.placeholder.id)
            except Exception as exc:  # noqa: BLE001 - a placeholder left behind only means a harmless rerun
                log.warning("could not delete placeholder run of %s: %s", job.name, exc)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self._pending -= job.keys  # a change from now on needs a new run
            try:
                outcome = self._execute(job)
            except Exception as exc:  # noqa: BLE001 - a failed run must not stop the queue
                log.error("run %s failed: %s", job.name, exc)
                outcome = "CRASHED"
            self.executed.append((job.name, job.parameters, outcome))
            job.outcome = outcome
            job.finished.set()
            if outcome == "CRASHED":
                self._cleanup.put((job, outcome))

    def join(self, timeout: float = 60.0) -> bool:
        """Wait until every accepted run has executed (tests, the demo)."""
        with self._lock:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._cleanup.put(None)
        self._tidier.join(timeout=30)
