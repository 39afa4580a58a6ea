"""Carrying out a work-log plan in Kimai: bounded parallel writes, one outcome per action.

Transient failures are retried by the one policy of kimaisync.retry (the client retries idempotent
requests; creates are retried here, the same number of times with the same waits). A create is
never simply repeated: after a failure that may have committed
(a lost or unreadable reply, a 5xx), the timesheet is looked up by its marker first and adopted
when found, so one work log never gets two timesheets; the same look comes before giving up, so
a record that did land is never reported failed. Validation errors are not retried and keep Kimai's
message; exported or locked records are reported as blocked. One failing record never stops
the others; only an authentication failure stops the batch, since every other write would
fail the same way.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from kimaisync import marker as markers
from kimaisync.errors import (
    KimaiAuthError,
    KimaiError,
    KimaiLockedError,
    KimaiNotFoundError,
    KimaiPermissionError,
    KimaiProtocolError,
    KimaiServerError,
    KimaiTransportError,
    KimaiValidationError,
    is_retryable,
)
from kimaisync.trackers.kimai2.models import TimesheetWrite
from kimaisync.plan.worklogs import Action
from kimaisync.retry import retry_delay

Status = Literal["created", "updated", "deleted", "unchanged", "skipped", "blocked", "failed"]


@dataclass(slots=True)
class Outcome:
    action: Action
    status: Status
    timesheet_id: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("failed",)


def _may_have_committed(exc: KimaiError) -> bool:
    """A failed POST that Kimai may have carried out: no reply or a 5xx (a proxy times out while
    Kimai goes on), or a 2xx whose body we could not read. A 429 is refused before any work."""
    return isinstance(exc, (KimaiServerError, KimaiTransportError, KimaiProtocolError))


def _write(a: Action) -> TimesheetWrite:
    d = a.desired
    return TimesheetWrite(begin=d.begin, end=d.end, project=d.project, activity=d.activity, user=d.user,
                          description=d.description)


class Applier:
    """Runs Kimai writes for plan actions with at most `concurrency` in flight."""

    def __init__(self, client, *, concurrency: int = 4, attempts: int = 5, sleep: Callable = time.sleep):
        self.client = client
        self.concurrency = max(1, concurrency)
        self.attempts = attempts
        self.sleep = sleep
        self._fatal: BaseException | None = None
        self._lock = threading.Lock()
        # One pool for every batch: batches may be handed in from several threads at once (so
        # one batch's slowest write does not hold up the next), and still at most `concurrency`
        # writes are in flight.
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kimai-write")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "Applier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- per action
    # Reads, updates and deletes are idempotent: the client retries them itself. A create is
    # retried here, because between two attempts we must look for the first one's record.

    def _find_by_marker(self, a: Action):
        if not a.work_log_uuid:
            return None
        found = self.client.timesheets(None, None, term=a.work_log_uuid)
        mine = sorted((t for t in found if markers.marker_of(t.description) == a.work_log_uuid), key=lambda t: t.id)
        return mine[0] if mine else None

    def _create(self, a: Action) -> Outcome:
        attempt, uncertain = 0, False
        while True:
            attempt += 1
            try:
                ts = self.client.create_timesheet(_write(a))
                return Outcome(a, "created", ts.id, a.reason if a.reason != "new" else "")
            except KimaiError as exc:
                again = is_retryable(exc) and attempt < self.attempts
                if again:
                    self.sleep(retry_delay(exc, attempt))
                # Did this POST commit after all? Asked before giving up too: a reply lost on the
                # last attempt, or a 2xx we could not read, leaves the record in Kimai. Once an
                # attempt was uncertain, every later failure asks again: a POST may land after the
                # search (a slow Kimai), and a refusal may be the overlap rule meeting that record.
                uncertain = uncertain or _may_have_committed(exc)
                if uncertain:
                    found = self._find_by_marker(a) if again else self._last_look(a, exc)
                    if found is not None:
                        return Outcome(a, "created", found.id, "reply was lost; found by its marker, not created twice")
                if not again:
                    raise
                if hasattr(self.client, "count_retry"):
                    self.client.count_retry()

    def _last_look(self, a: Action, exc: KimaiError):
        """The marker search before giving up; if it fails too, the create's own error is the news
        (unless the credentials stopped working: that stops the run)."""
        try:
            return self._find_by_marker(a)
        except KimaiAuthError:
            raise
        except KimaiError:
            raise exc from None

    def _update(self, a: Action) -> Outcome:
        try:
            ts = self.client.update_timesheet(a.timesheet_id, dict(a.changes), zone=ZoneInfo(a.desired.zone))
        except KimaiNotFoundError:
            if a.step:  # the planned update that follows books it again
                return Outcome(a, "skipped", a.timesheet_id, "gone from Kimai")
            out = self._create(a)  # deleted in Kimai since we read it: book it again
            out.message = f"timesheet {a.timesheet_id} vanished from Kimai during the run; created again"
            return out
        return Outcome(a, "updated", ts.id, a.reason)

    def _delete(self, a: Action) -> Outcome:
        try:
            self.client.delete_timesheet(a.timesheet_id)
        except KimaiNotFoundError:
            return Outcome(a, "deleted", a.timesheet_id, "already gone from Kimai")
        return Outcome(a, "deleted", a.timesheet_id, a.reason)

    def run_one(self, a: Action) -> Outcome:
        if self._fatal is not None:
            return Outcome(a, "failed", a.timesheet_id, f"not tried: the run stopped ({self._fatal})")
        try:
            if a.kind == "create":
                return self._create(a)
            if a.kind == "update":
                return self._update(a)
            if a.kind == "delete":
                return self._delete(a)
            status = {"unchanged": "unchanged", "skip": "skipped", "blocked": "blocked"}[a.kind]
            return Outcome(a, status, a.timesheet_id, a.reason)
        except KimaiAuthError as exc:
            with self._lock:
                self._fatal = self._fatal or exc
            return Outcome(a, "failed", a.timesheet_id, str(exc))
        except KimaiLockedError as exc:
            return Outcome(a, "blocked", a.timesheet_id, f"Kimai refused: exported or in a locked period ({exc})")
        except KimaiValidationError as exc:
            return Outcome(a, "failed", a.timesheet_id, f"Kimai refused the data: {exc.details.summary()}")
        except KimaiPermissionError as exc:
            return Outcome(a, "failed", a.timesheet_id, f"the API user lacks a Kimai permission: {exc}")
        except KimaiError as exc:
            return Outcome(a, "failed", a.timesheet_id, f"gave up after retries: {exc}")

    # -------------------------------------------------------------- a batch

    def run(self, actions: list[Action]) -> list[Outcome]:
        """Outcomes in the order of `actions`. After an authentication failure the rest are not tried
        and `fatal` holds the error: the caller records what did complete, then raises it."""
        return self.start(actions).outcomes()

    def start(self, actions: list[Action]) -> "Started":
        """Queue the writes of `actions` now and return at once. The pool takes work first come,
        first served: batches started one after the other complete in that order, so each batch's
        ids can be recorded while the next batch's writes go on."""
        writes = [a for a in actions if a.kind in ("create", "update", "delete")]
        return Started(self, actions, {id(a): self._pool.submit(self.run_one, a) for a in writes})

    def run_lanes(self, lanes: list[list[Action]]) -> list[Outcome]:
        """Each lane in its order, one after the other; lanes side by side (still `concurrency` at most).

        An intermediate step (`Action.step`) has an outcome of its own only when it failed."""
        results = list(self._pool.map(lambda lane: [self.run_one(a) for a in lane], lanes))
        out = []
        for o in (o for lane in results for o in lane):
            if o.action.step and o.ok:
                continue
            if o.action.step:
                o.message = f"while it was {o.action.step}: {o.message}"
            out.append(o)
        return out

    @property
    def fatal(self) -> BaseException | None:
        return self._fatal


@dataclass
class Started:
    """A batch whose writes are queued in an Applier's pool."""

    applier: Applier
    actions: list[Action]
    futures: dict

    def outcomes(self) -> list[Outcome]:
        """Wait for the batch; outcomes in the order of its actions."""
        return [self.futures[id(a)].result() if id(a) in self.futures else self.applier.run_one(a)
                for a in self.actions]
