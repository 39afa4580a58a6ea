"""Carrying out a work-log plan in the tracker: bounded parallel writes, one outcome per action.

Writes go through the tracker port, each with the session of the user it is for
(`Tracker.session`). Transient failures are retried by the one policy of kimaisync.retry
(sessions retry idempotent requests; creates are retried here, the same number of times with
the same waits). A create is never simply repeated: after a failure that may have committed
(`OutcomeUnknown`: a lost or unreadable reply, a 5xx), the entry is looked up by its marker first
and adopted when found, so one work log never gets two entries; the same look comes before giving
up, so a record that did land is never reported failed. Rejected records are not retried and keep
the tracker's message; locked records are reported as blocked. One failing record never stops the
others; only a refused credential stops the writes made with it (the batch, for a service
credential), since every other write would fail the same way.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Literal

from kimaisync import marker as markers
from kimaisync.errors import (
    EntryNotFound,
    OutcomeUnknown,
    RecordLocked,
    RecordRejected,
    TrackerAuthError,
    TrackerConfigError,
    TrackerError,
    is_retryable,
)
from kimaisync.plan.worklogs import Action, Desired, entry_order
from kimaisync.retry import retry_delay
from kimaisync.trackers.port import Entry, EntryWrite, Session, Tracker

Status = Literal["created", "updated", "deleted", "unchanged", "skipped", "blocked", "failed"]


@dataclass(slots=True)
class Outcome:
    action: Action
    status: Status
    entry_id: Any = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in ("failed",)


# the outcome of an action that writes nothing
_SETTLED: dict[str, Status] = {"unchanged": "unchanged", "skip": "skipped", "blocked": "blocked"}


def _desired(a: Action) -> Desired:
    # creates and updates are planned with the record they should leave in the tracker
    assert a.desired is not None, a
    return a.desired


def _write(a: Action) -> EntryWrite:
    d = _desired(a)
    return EntryWrite(d.user, d.project, d.activity, d.description, d.begin, d.end, d.date, d.minutes)


def _user_of(a: Action) -> Any:
    return a.desired.user if a.desired is not None else a.user


class Applier:
    """Runs a tracker's writes for plan actions with at most `concurrency` in flight."""

    def __init__(self, tracker: Tracker, *, concurrency: int = 4, attempts: int = 5,
                 sleep: Callable[[float], None] = time.sleep):
        self.tracker = tracker
        self.title = getattr(tracker, "title", "the tracker")
        self.per_person = tracker.capabilities.per_person
        self.concurrency = max(1, concurrency)
        self.attempts = attempts
        self.sleep = sleep
        self._fatal: BaseException | None = None
        self._refused: dict[Any, TrackerAuthError] = {}  # user -> the auth error of their own credential (per-person trackers)
        self._lock = threading.Lock()
        # One pool for every batch: batches may be handed in from several threads at once (so
        # one batch's slowest write does not hold up the next), and still at most `concurrency`
        # writes are in flight.
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="tracker-write")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "Applier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- per action
    # Reads, updates and deletes are idempotent: the client retries them itself. A create is
    # retried here, because between two attempts we must look for the first one's record.

    def _session(self, a: Action) -> Session:
        return self.tracker.session(_user_of(a))

    def _find_by_marker(self, a: Action) -> Entry | None:
        if not a.work_log_uuid:
            return None
        found = self._session(a).find_marked(a.work_log_uuid)
        mine = sorted((t for t in found if markers.marker_of(t.description) == a.work_log_uuid), key=entry_order)
        return mine[0] if mine else None

    def _create(self, a: Action) -> Outcome:
        attempt, uncertain = 0, False
        session = self._session(a)
        while True:
            attempt += 1
            try:
                ts = session.create(_write(a))
                return Outcome(a, "created", ts.id, a.reason if a.reason != "new" else "")
            except TrackerError as exc:
                again = is_retryable(exc) and attempt < self.attempts
                if again:
                    self.sleep(retry_delay(exc, attempt))
                # Did this POST commit after all? Asked before giving up too: a reply lost on the
                # last attempt, or a 2xx we could not read, leaves the record in Kimai. Once an
                # attempt was uncertain, every later failure asks again: a POST may land after the
                # search (a slow Kimai), and a refusal may be the overlap rule meeting that record.
                uncertain = uncertain or isinstance(exc, OutcomeUnknown)
                if uncertain:
                    found = self._find_by_marker(a) if again else self._last_look(a, exc)
                    if found is not None:
                        return Outcome(a, "created", found.id, "reply was lost; found by its marker, not created twice")
                if not again:
                    raise
                session.count_retry()

    def _last_look(self, a: Action, exc: TrackerError) -> Entry | None:
        """The marker search before giving up; if it fails too, the create's own error is the news
        (unless the credentials stopped working: that stops the run)."""
        try:
            return self._find_by_marker(a)
        except TrackerAuthError:
            raise
        except TrackerError:
            raise exc from None

    def _update(self, a: Action) -> Outcome:
        t = self.title
        try:
            ts = self._session(a).update(a.entry_id, dict(a.changes), zone=_desired(a).zone)
        except EntryNotFound:
            if a.step:  # the planned update that follows books it again
                return Outcome(a, "skipped", a.entry_id, f"gone from {t}")
            out = self._create(a)  # deleted in the tracker since we read it: book it again
            out.message = f"{self.tracker.entry_word} {a.entry_id} vanished from {t} during the run; created again"
            return out
        return Outcome(a, "updated", ts.id, a.reason)

    def _delete(self, a: Action) -> Outcome:
        session = self._session(a)
        try:
            if self.tracker.capabilities.can_delete:
                session.delete(a.entry_id)
            else:  # planned only where the tracker retires what it cannot delete
                session.retire(a.entry_id)
        except EntryNotFound:
            return Outcome(a, "deleted", a.entry_id, f"already gone from {self.title}")
        return Outcome(a, "deleted", a.entry_id, a.reason)

    def run_one(self, a: Action) -> Outcome:
        t = self.title
        if self._fatal is not None:
            return Outcome(a, "failed", a.entry_id, f"not tried: the run stopped ({self._fatal})")
        if a.kind in ("create", "update", "delete") and _user_of(a) in self._refused:
            return Outcome(a, "failed", a.entry_id, f"not tried: {t} refused this person's credential "
                                                    f"({self._refused[_user_of(a)]})")
        try:
            if a.kind == "create":
                return self._create(a)
            if a.kind == "update":
                return self._update(a)
            if a.kind == "delete":
                return self._delete(a)
            status = _SETTLED[a.kind]
            return Outcome(a, status, a.entry_id, a.reason)
        except TrackerAuthError as exc:
            with self._lock:
                if self.per_person:  # that person's credential only: the others go on
                    self._refused.setdefault(_user_of(a), exc)
                else:
                    self._fatal = self._fatal or exc
            return Outcome(a, "failed", a.entry_id, str(exc))
        except RecordLocked as exc:
            word = self.tracker.capabilities.locked_word
            return Outcome(a, "blocked", a.entry_id, f"{t} refused: {word} or in a locked period ({exc})")
        except RecordRejected as exc:
            return Outcome(a, "failed", a.entry_id, f"{t} refused the data: {exc.rejection()}")
        except TrackerConfigError as exc:
            return Outcome(a, "failed", a.entry_id, f"the API user lacks a {t} permission: {exc}")
        except TrackerError as exc:
            return Outcome(a, "failed", a.entry_id, f"gave up after retries: {exc}")

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
    futures: dict[int, Future[Outcome]]  # id() of an action -> its queued write

    def outcomes(self) -> list[Outcome]:
        """Wait for the batch; outcomes in the order of its actions."""
        return [self.futures[id(a)].result() if id(a) in self.futures else self.applier.run_one(a)
                for a in self.actions]
