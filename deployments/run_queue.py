"""Record a run in Prefect, and execute the work at once in this process, side by side.

Prefect's runner and workers poll every 10 s and start a process per run: too slow for a
work-log edit to reach Kimai in well under a second. So for each accepted request:

- an executor thread here runs the flow straight away, as a flow run tagged RECEIVER_TAG;
  async flows (the delta flow) on one event loop with one Prefect client for the process's
  lifetime (AsyncRunner), so a run's first line comes after Prefect's few API calls and
  nothing else;
- a placeholder flow run of the route's deployment is recorded, scheduled a little in the
  future (the grace time); the HTTP answer waits for it, so a 2xx means the work is in
  Prefect's database. While its work waits here or executes, the placeholder is a lease this
  process renews: its scheduled time is pushed forward every quarter of the grace time, so
  serve's runner or a worker never starts a second copy of a long run (a period sync over
  many work logs) or of one queued behind it. When this process dies, renewals stop and the
  placeholder comes due within the grace time;
  A delta's run is given up to FIRST seconds: when it has completed by then, its own flow run
  is the record and no placeholder is made (recording one alongside doubled the run's time:
  both write to Prefect's database at once);
- when the flow completes, the placeholder is deleted: the executed run is the record. If the
  flow fails, or this process dies first, the placeholder stays and `serve` (or a worker) runs
  it when it comes due, so nothing accepted is lost.

Runs execute one at a time, in order: two runs never race to create one work log's timesheet.
Work logs already waiting in the queue are not queued again: the queued run reads the latest
state when it starts (coalescing the up-to-five POSTs one edit causes); such a request is
answered once the run it joined is recorded, like the request that queued it.
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

from kimaisync.settings import Settings

log = logging.getLogger("kimaisync.receiver")

DEFAULT_GRACE = Settings.model_fields["receiver_grace_seconds"].default  # RECEIVER_GRACE_SECONDS
RECEIVER_TAG = "receiver"  # on the flow runs executed here, at once (serve's recovery looks for them)
FIRST = {"delta": 2.0}  # seconds a run of these may take before its placeholder is recorded (see submit)


def route_tag(name: str) -> str:
    """The tag naming the receiver route (and deployment) a run executed here belongs to."""
    return f"route:{name}"


@dataclass(eq=False)  # compared and hashed by identity
class Job:
    name: str
    parameters: dict[str, Any]
    keys: frozenset[str] = frozenset()
    placeholder: Any = None  # the recorded flow run, once recorded
    recorded: threading.Event = field(default_factory=threading.Event)  # recorded, or `record_error`
    record_error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)  # executed here, with `outcome`
    outcome: str = ""
    lease_lost: bool = False  # the placeholder was taken (started elsewhere) before this run finished


class RunQueue:
    """`submit` enqueues and records (when deployments are known); one thread executes."""

    def __init__(self, flows: dict[str, Any], deployment_ids: dict[str, UUID] | None = None,
                 grace: float | None = None):
        self.flows = flows
        self.deployment_ids = deployment_ids or {}
        self.grace = DEFAULT_GRACE if grace is None else grace
        self._live: set[Job] = set()  # accepted, not yet executed: their placeholders are leases to renew
        self._stopping = threading.Event()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._waiting: dict[str, Job] = {}  # key (work log) -> the queued job that will sync it
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._cleanup: queue.Queue = queue.Queue()
        self._runner: AsyncRunner | None = None
        self._api: Any = None  # one Prefect client for recording and tidying (see _client)
        self._api_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="run-queue", daemon=True)
        self._thread.start()
        self._tidier = threading.Thread(target=self._tidy, name="run-queue-tidy", daemon=True)
        self._tidier.start()
        self._renewer = threading.Thread(target=self._renew, name="run-queue-lease", daemon=True)
        self._renewer.start()
        self.executed: list[tuple[str, dict, str]] = []  # (flow, parameters, final state) for reports and tests

    # ------------------------------------------------------------------ accepting

    def _client(self):
        """A sync Prefect client kept for the queue's lifetime (a new one per call costs a TLS
        context and a CSRF round trip); callers hold `_api_lock`."""
        if self._api is None:
            from prefect import get_client

            client = get_client(sync_client=True)
            client.__enter__()
            self._api = client
        return self._api

    def _record(self, name: str, parameters: dict):
        dep = self.deployment_ids.get(name)
        if dep is None:
            return None
        from prefect.states import Scheduled

        with self._api_lock:
            return self._client().create_flow_run_from_deployment(
                dep, parameters=parameters,
                state=Scheduled(scheduled_time=self._due()))

    def _due(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.grace)

    def submit(self, name: str, parameters: dict, keys: frozenset[str] = frozenset()) -> bool:
        """Accept a run; returns once it is recorded. False when every key is already waiting in
        a queued run: then it returns once that run is recorded (raising what recording it raised)."""
        with self._lock:
            joined = {self._waiting[k] for k in keys if k in self._waiting}
            new_keys = frozenset(k for k in keys if k not in self._waiting)
            job = None
            if new_keys or not keys:
                job = Job(name, {**parameters, "work_logs": sorted(new_keys)} if keys else parameters, new_keys)
                self._waiting.update(dict.fromkeys(new_keys, job))
                self._live.add(job)
                self._busy += 1
        if job is not None:
            self._queue.put(job)  # execution starts now
            self._record_job(job)
        for other in joined:  # a coalesced request is answered once the run that will do its work is recorded
            if not other.recorded.wait(300):
                raise TimeoutError(f"the queued {other.name} run was not recorded in 300 s")
            if other.record_error is not None:
                raise other.record_error
        return job is not None

    def _record_job(self, job: Job) -> None:
        # A delta's run usually completes in well under a second, and then that executed flow run
        # is the record: no placeholder is needed. Recording one meanwhile would only slow the run
        # down (both write to Prefect's database at once). A run still going after FIRST seconds,
        # or one that failed, gets its placeholder before the answer, as every other run does.
        first = FIRST.get(job.name, 0.0)
        try:
            if first and job.finished.wait(first) and job.outcome == "COMPLETED":
                return
            job.placeholder = self._record(job.name, job.parameters)
        except BaseException as exc:
            job.record_error = exc
            raise
        finally:
            job.recorded.set()

    # ------------------------------------------------------------------ executing

    def _execute(self, job: Job) -> str:
        from prefect import tags

        flow = self.flows[job.name]
        marks = (RECEIVER_TAG, route_tag(job.name))  # which route started it, on the runs list
        if getattr(flow, "isasync", False):  # the delta flow: on the long-lived loop and clients
            async def run():
                with tags(*marks):
                    return await flow(**job.parameters, return_state=True)
            state = self._async_runner().run(run)
        else:
            with tags(*marks):
                state = flow(**job.parameters, return_state=True)
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
                if job.placeholder is not None and outcome == "COMPLETED" and not job.lease_lost:
                    with self._api_lock:  # the executed run is the record now
                        self._client().delete_flow_run(job.placeholder.id)
                elif job.placeholder is not None and not job.lease_lost:
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
                for key in job.keys:  # a change from now on needs a new run
                    if self._waiting.get(key) is job:
                        del self._waiting[key]
            try:
                outcome = self._execute(job)
            except Exception as exc:  # noqa: BLE001 - a failed run must not stop the queue
                log.error("run %s failed: %s", job.name, exc)
                outcome = "CRASHED"
            self.executed.append((job.name, job.parameters, outcome))
            job.outcome = outcome
            with self._lock:
                self._live.discard(job)  # a failed run's placeholder now comes due: its retry
            job.finished.set()
            if outcome == "CRASHED":
                self._cleanup.put((job, outcome))

    # ------------------------------------------------------------------ leases

    def _renew(self) -> None:
        """Push the placeholders of runs still waiting here or executing a grace time ahead,
        every quarter of it (so they stay three quarters ahead: out of every runner's reach)."""
        while not self._stopping.wait(self.grace / 4):
            with self._lock:
                live = [j for j in self._live if j.placeholder is not None and not j.lease_lost]
            for job in live:
                try:
                    self._extend(job)
                except Exception as exc:  # noqa: BLE001 - the next round tries again; the lease has slack
                    log.warning("could not renew the recorded run of %s: %s", job.name, exc)

    def _extend(self, job: Job) -> None:
        from prefect.client.schemas.objects import StateType
        from prefect.exceptions import ObjectNotFound
        from prefect.states import Scheduled

        with self._api_lock:
            if job.finished.is_set():
                return
            try:
                state = self._client().read_flow_run(job.placeholder.id).state
            except ObjectNotFound:
                return  # tidied away: the run completed meanwhile
            if state is None or state.type != StateType.SCHEDULED:
                # Renewals failed for most of the grace time (the Prefect API was away) and a
                # runner started it: the copy there reads the latest state and its creates look
                # for their markers first; say so, and let it be.
                job.lease_lost = True
                log.warning("the recorded run %s of %s was started elsewhere (%s) while it was %s here",
                            job.placeholder.id, job.name, state.type.value if state else "no state",
                            "executing or queued")
                return
            self._client().set_flow_run_state(job.placeholder.id, Scheduled(scheduled_time=self._due()),
                                              force=True)

    def join(self, timeout: float = 60.0) -> bool:
        """Wait until every accepted run has executed (tests, the demo)."""
        with self._lock:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def _async_runner(self) -> "AsyncRunner":
        if self._runner is None or not self._runner.alive:  # made on first use (a queue of plain
            self._runner = AsyncRunner()                       # callables never talks to Prefect)
        return self._runner

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._cleanup.put(None)
        self._tidier.join(timeout=30)
        self._renewer.join(timeout=30)
        if self._runner is not None:
            self._runner.stop()
        with self._api_lock:
            if self._api is not None:
                self._api.__exit__(None, None, None)
                self._api = None


class AsyncRunner:
    """One event loop in its own thread, with one Prefect client (async and sync) for its lifetime.

    Every async flow run the queue executes runs here. A new loop per run (`asyncio.run`) would
    mean new Prefect clients for each run: each a fresh TLS context (loading the CA bundle, even
    for an http:// API), a CSRF token request and a new connection, twice per run (the engine's
    async client, and a sync one it makes to read the server's result storage), all before the
    flow's first line.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._jobs: asyncio.Queue | None = None
        self._failed: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),),
                                        name="run-queue-async", daemon=True)
        self._thread.start()
        self._ready.wait(60)

    async def _main(self) -> None:
        from prefect.context import AsyncClientContext, SyncClientContext

        try:
            async with AsyncClientContext.get_or_create():  # the engine reuses these (same loop and thread)
                with SyncClientContext.get_or_create():
                    self._jobs = asyncio.Queue()
                    self._ready.set()
                    while (item := await self._jobs.get()) is not None:
                        make, done = item
                        try:
                            done.set_result(await make())
                        except BaseException as exc:  # noqa: BLE001 - handed to the caller
                            done.set_exception(exc)
        except BaseException as exc:  # noqa: BLE001 - e.g. the Prefect API unreachable: said by run()
            self._failed = exc
        finally:
            self._jobs = None
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self._jobs is not None and self._thread.is_alive()

    def run(self, make):
        """Run the coroutine `make()` returns on the loop; its result (or exception)."""
        import concurrent.futures

        if self._jobs is None:
            raise RuntimeError(f"the run queue's event loop is not running: {self._failed!r}")
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._jobs.put_nowait, (make, done))
        return done.result()

    def stop(self) -> None:
        if self._jobs is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._jobs.put_nowait, None)
            self._thread.join(timeout=30)
