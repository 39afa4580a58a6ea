"""Record a run in Prefect, and execute the work at once in this process, side by side.

Prefect's runner and workers poll every 10 s and start a process per run: too slow for a
work-log edit to reach Kimai in well under a second. So for each accepted request:

- a placeholder flow run of the route's deployment is recorded, scheduled a little in the
  future (the grace time), and the HTTP answer is given once it is: a 2xx means the work is in
  Prefect's database, and the answer never waits for the work itself. While its work waits here
  or executes, the placeholder is a lease this process renews: its scheduled time is pushed
  forward every quarter of the grace time, so serve's runner or a worker never starts a second
  copy of a long run (a period sync over many work logs) or of one queued behind it. When this
  process dies, renewals stop and the placeholder comes due within the grace time;
- an executor thread here runs the flow, as a flow run tagged RECEIVER_TAG; async flows (the
  delta flow) on one event loop with one Prefect client for the process's lifetime
  (AsyncRunner), so a run's first line comes after Prefect's few API calls and nothing else;
- when the flow completes, the placeholder is deleted: the executed run is the record. If the
  flow fails, or this process dies first, the placeholder stays and `serve` (or a worker) runs
  it when it comes due, so nothing accepted is lost.

Runs execute one at a time, in order: two runs never race to create one work log's timesheet.
Work logs (keys) go into the delta run that is still waiting, if there is one: a burst of deltas
becomes a few runs, each reading the latest state when it starts. A key joining a waiting run is
written into that run's placeholder (one update for all the requests that arrived meanwhile)
before its request is answered. A waiting run takes at most MAX_KEYS keys (Prefect refuses large
parameters); a change naming more is recorded as several runs. Delta runs start at most every
SPACING seconds, so a burst gathers into a run per SPACING instead of a run per request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from deployments.journal import Journal

from kimaisync.settings import Settings

log = logging.getLogger("kimaisync.receiver")

DEFAULT_GRACE = Settings.model_fields["receiver_grace_seconds"].default  # RECEIVER_GRACE_SECONDS
RECEIVER_TAG = "receiver"  # on the flow runs executed here, at once (serve's recovery looks for them)
MAX_KEYS = 1000  # work-log IRIs per run: about 80 KB of parameters, well under Prefect's 512 KB
SPACING = {"delta": 1.0}  # seconds between the starts of two runs of these
RECORD_WAIT = 300.0  # a request waits at most this long for its run to be recorded
MAX_REFUSED = 100  # dropped parts named in one run's parameters (about 20 KB at most)


def route_tag(name: str) -> str:
    """The tag naming the receiver route (and deployment) a run executed here belongs to."""
    return f"route:{name}"


@dataclass(eq=False)  # compared and hashed by identity
class Job:
    name: str
    parameters: dict[str, Any]
    keys: dict[str, None] | None = None  # a keyed run (delta): its work logs, in arrival order
    refused: list[str] = field(default_factory=list)  # what the receiver dropped from its requests
    open: bool = True  # a keyed run takes more keys until it starts
    version: int = 1  # bumped whenever keys or refused change
    recorded_version: int = 0  # the version its placeholder holds
    recording: bool = False  # a record or update of it is under way
    failure: tuple[int, BaseException] | None = None  # the last version whose recording failed, and why
    record_closed: bool = False  # executed and tidied: its flow run is the record
    placeholder: Any = None  # the recorded flow run, once recorded
    journal_row: int | None = None  # its row in the journal, while it is there
    finished: threading.Event = field(default_factory=threading.Event)  # executed here, with `outcome`
    outcome: str = ""
    lease_lost: bool = False  # the placeholder was taken (started elsewhere) before this run finished

    refused_more: int = 0  # dropped parts past MAX_REFUSED, counted only

    def refuse(self, what) -> None:
        """Note what the receiver dropped from a request this run serves (a bounded list: a flood of
        poisoned deltas must not grow the run's parameters past what Prefect takes)."""
        for line in what:
            if line in self.refused:
                continue
            if len(self.refused) < MAX_REFUSED:
                self.refused.append(line)
            else:
                self.refused_more += 1
        self.version += 1

    def run_parameters(self) -> dict[str, Any]:
        if self.keys is None:
            return self.parameters
        refused = self.refused + ([f"and {self.refused_more} more"] if self.refused_more else [])
        extra = {"refused": refused} if refused else {}
        return {**self.parameters, "work_logs": sorted(self.keys), **extra}


class RunQueue:
    """`submit` enqueues and records (when deployments are known); one thread executes."""

    def __init__(self, flows: dict[str, Any], deployment_ids: dict[str, UUID] | None = None,
                 grace: float | None = None, journal: "Journal | None" = None):
        self.flows = flows
        self.journal = journal
        self.deployment_ids = deployment_ids or {}
        self.grace = DEFAULT_GRACE if grace is None else grace
        self._live: set[Job] = set()  # accepted, not yet executed: their placeholders are leases to renew
        self._stopping = threading.Event()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._waiting: dict[str, Job] = {}  # key (work log) -> the queued job that will sync it
        self._open: dict[str, Job] = {}  # flow name -> the queued keyed job that still takes keys
        self._last_start: dict[str, float] = {}
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._recording = threading.Condition()  # guards the recording fields of every job
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
        self._unrecorded: set[Job] = set()  # journalled, not yet (fully) recorded in Prefect
        self._journal_lock = threading.Lock()
        self._recorder_wake = threading.Event()
        self._recorder: threading.Thread | None = None
        if journal is not None:
            self._recorder = threading.Thread(target=self._record_journalled, name="run-queue-record", daemon=True)
            self._recorder.start()
            self._take_up(journal.pending())

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

    def _update(self, placeholder, parameters: dict) -> None:
        """Write a waiting run's grown parameters into its placeholder."""
        from prefect.exceptions import ObjectNotFound

        with self._api_lock:
            try:
                self._client().update_flow_run(placeholder.id, parameters=parameters)
            except ObjectNotFound:  # tidied away: its run completed, with these keys in it
                pass

    def _due(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.grace)

    def submit(self, name: str, parameters: dict, keys=frozenset(), refused=()) -> bool:
        """Accept a run; returns once it is recorded (raising what recording it raised).

        With `keys`: each key goes into the waiting run that already has it, else into the open
        run of this flow (a new one when there is none, or it is full). False when every key was
        already waiting. `refused` (what the receiver dropped from this request) goes into the
        run's report."""
        new: list[Job] = []
        added = False
        with self._lock:
            if not keys:
                job = Job(name, parameters)
                new.append(job)
                targets = {job: job.version}
            else:
                touched: list[Job] = []
                for key in keys:
                    job = self._waiting.get(key)
                    if job is None:
                        job = self._open.get(name)
                        if job is None or len(job.keys) >= MAX_KEYS:
                            job = Job(name, parameters, keys={})
                            self._open[name] = job
                            new.append(job)
                        job.keys[key] = None
                        job.version += 1
                        self._waiting[key] = job
                        added = True
                    if job not in touched:
                        touched.append(job)
                if refused:
                    touched[0].refuse(refused)
                targets = {job: job.version for job in touched}
            for job in new:
                self._live.add(job)
                self._busy += 1
        for job in new:
            self._queue.put(job)  # execution may start now
        if self.journal is None:
            for job, version in targets.items():
                self._ensure_recorded(job, version)
            return added or not keys
        for job in targets:  # on the disk before the answer; in Prefect right after
            self._journal(job)
        self._recorder_wake.set()
        return added or not keys

    def _journal(self, job: Job) -> None:
        with self._journal_lock:  # one row per job, however many requests write it at once
            with self._lock:
                name, parameters, row, version = job.name, job.run_parameters(), job.journal_row, job.version
                if row is None and job.record_closed:
                    return  # completed meanwhile: nothing left to keep
            row = self.journal.save(row, name, parameters, version)
            with self._lock:
                job.journal_row = row
                self._unrecorded.add(job)
                closed = job.record_closed
            if closed:  # completed while being written: forget it after all
                self.journal.forget(row)
                with self._lock:
                    self._unrecorded.discard(job)

    def _take_up(self, rows) -> None:
        """Accept again what a process that died left in the journal (it had answered 2xx for it);
        what Prefect already holds is Prefect's to run, when it comes due."""
        for row in self.journal.held_rows():
            self.journal.forget(row)
        for row, name, parameters in rows:
            if name not in self.flows:
                self.journal.forget(row)
                continue
            params = dict(parameters)
            keys = params.pop("work_logs", None) if name == "delta" else None
            refused = params.pop("refused", ()) if name == "delta" else ()
            log.warning("taking up %s accepted before a restart: %s", name,
                        f"{len(keys)} work logs" if keys is not None else params)
            if keys is not None and not keys:
                self.journal.forget(row)
                continue
            self.submit(name, params, keys or frozenset(), refused)
            self.journal.forget(row)

    def _record_journalled(self) -> None:
        """Record the journalled runs in Prefect; while Prefect is away, keep trying."""
        pause = 0.0
        while not self._stopping.is_set():
            if not self._recorder_wake.wait(1.0) and not self._unrecorded:
                continue
            self._recorder_wake.clear()
            if pause:
                self._stopping.wait(pause)
            with self._lock:
                jobs = sorted(self._unrecorded, key=lambda j: j.journal_row or 0)
            failed = False
            for job in jobs:
                try:
                    self._ensure_recorded(job, job.version)
                except Exception as exc:  # noqa: BLE001 - kept in the journal; tried again
                    if not failed and pause == 0.0:
                        log.warning("could not record the %s run in Prefect (kept on disk, retrying): %s",
                                    job.name, exc)
                    failed = True
                    with self._recording:
                        job.failure = None  # the next round tries again
                    continue
                if job.placeholder is not None:
                    self.journal.held(job.journal_row, job.recorded_version)
                with self._lock:
                    settled = job.record_closed or (not job.open and job.recorded_version >= job.version)
                    if job.recorded_version >= job.version or job.record_closed:
                        self._unrecorded.discard(job)
                    done = settled and job.finished.is_set()
                if done:  # its run failed and Prefect holds its retry, or it completed: the disk copy goes
                    self.journal.forget(job.journal_row)
            pause = min(5.0, max(0.5, pause * 2)) if failed else 0.0
            if failed:
                self._recorder_wake.set()

    def _ensure_recorded(self, job: Job, version: int) -> None:
        """Return once the job's placeholder holds `version` (or its executed run is the record).

        One request at a time records a job; the requests that arrive meanwhile are written by the
        next call, all at once."""
        deadline = time.monotonic() + RECORD_WAIT
        with self._recording:
            while True:
                if job.record_closed or job.recorded_version >= version:
                    return
                if job.failure is not None and job.failure[0] >= version:
                    raise job.failure[1]
                if not job.recording:
                    job.recording = True
                    break
                if not self._recording.wait(min(1.0, max(0.0, deadline - time.monotonic()))) \
                        and time.monotonic() > deadline:
                    raise TimeoutError(f"the {job.name} run was not recorded in {RECORD_WAIT:g} s")
        writing = version
        try:
            with self._lock:
                writing, parameters = job.version, job.run_parameters()
            if job.placeholder is None:
                job.placeholder = self._record(job.name, parameters)
            else:
                self._update(job.placeholder, parameters)
            with self._recording:
                job.recorded_version = max(job.recorded_version, writing)
        except BaseException as exc:
            with self._recording:
                job.failure = (writing, exc)
            raise
        finally:
            with self._recording:
                job.recording = False
                self._recording.notify_all()

    # ------------------------------------------------------------------ executing

    def _execute(self, job: Job, parameters: dict) -> str:
        from prefect import tags

        flow = self.flows[job.name]
        marks = (RECEIVER_TAG, route_tag(job.name))  # which route started it, on the runs list
        if getattr(flow, "isasync", False):  # the delta flow: on the long-lived loop and clients
            async def run():
                with tags(*marks):
                    return await flow(**parameters, return_state=True)
            state = self._async_runner().run(run)
        else:
            with tags(*marks):
                state = flow(**parameters, return_state=True)
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
            with self._recording:  # a recording under way finishes first (or its placeholder would stay)
                self._recording.wait_for(lambda: not job.recording, timeout=120)
                if outcome == "COMPLETED":
                    job.record_closed = True
            if self.journal is not None:
                with self._lock:
                    held = outcome == "COMPLETED" or job.recorded_version >= job.version
                    if outcome == "COMPLETED":
                        self._unrecorded.discard(job)
                if held:  # else the recorder forgets it once Prefect holds the run's retry
                    self.journal.forget(job.journal_row)
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

    def _take(self, job: Job) -> dict:
        """Close a job to new keys and give the parameters it runs with."""
        spacing = SPACING.get(job.name, 0.0)
        if spacing and job.keys is not None:  # meanwhile the job keeps taking keys
            wait = self._last_start.get(job.name, -spacing) + spacing - time.monotonic()
            if wait > 0:
                self._stopping.wait(wait)
            self._last_start[job.name] = time.monotonic()
        with self._lock:
            job.open = False
            if self._open.get(job.name) is job:
                del self._open[job.name]
            for key in job.keys or ():  # a change from now on needs a new run
                if self._waiting.get(key) is job:
                    del self._waiting[key]
            return job.run_parameters()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            parameters = self._take(job)
            if self.journal is not None:
                self._record_first(job)
            try:
                outcome = self._execute(job, parameters)
            except Exception as exc:  # noqa: BLE001 - a failed run must not stop the queue
                log.error("run %s failed: %s", job.name, exc)
                outcome = "CRASHED"
            self.executed.append((job.name, parameters, outcome))
            job.outcome = outcome
            with self._lock:
                self._live.discard(job)  # a failed run's placeholder now comes due: its retry
            job.finished.set()
            if outcome == "CRASHED":
                self._cleanup.put((job, outcome))

    def _record_first(self, job: Job) -> None:
        """Let the job's record into Prefect before its flow creates its run. A Prefect server on
        SQLite answers one of two overlapping writes with a 503, which its client retries after
        about 2 s (docs/receiver.md): side by side, the run's record and the run itself collide."""
        try:
            self._ensure_recorded(job, job.version)
        except Exception:  # noqa: BLE001 - the record stays on disk; the recorder keeps trying
            pass

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
        if self._recorder is not None:
            self._recorder_wake.set()
            self._recorder.join(timeout=30)
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
