"""EGroupware's failures, as subclasses of the tracker port's error families (kimaisync.errors).

The client maps statuses once (``client._error``); whether a failure is retried is decided by the
family alone (``errors.is_retryable``: a ``Transient``):

| status / failure | class | family |
|---|---|---|
| 401 | ``EGroupwareAuthError`` | ``TrackerAuthError`` |
| 403 | ``EGroupwarePermissionError`` | ``TrackerConfigError`` (a missing grant or app right) |
| 404 | ``EGroupwareNotFound`` | ``EntryNotFound`` |
| 400, 422 | ``EGroupwareRejected`` | ``RecordRejected`` (EGroupware's message kept) |
| 412 | ``EGroupwareConflict`` | ``RecordRejected``: changed in EGroupware since read, not overwritten |
| 429 | ``EGroupwareRateLimited`` | ``TrackerTransient`` (``retry_after``) |
| 5xx | ``EGroupwareServerError`` | ``TrackerTransient`` + ``OutcomeUnknown`` |
| timeout, refused, dropped | ``EGroupwareTransportError`` | ``TrackerTransient`` + ``OutcomeUnknown`` |
| a 2xx we cannot read | ``UnexpectedAnswer`` | ``OutcomeUnknown`` |
| a refused sync-token | ``SyncTokenRejected`` | (handled inside the client: a full read) |
"""

from __future__ import annotations

from typing import Any

from kimaisync.errors import (
    EntryNotFound,
    OutcomeUnknown,
    RecordRejected,
    TrackerAuthError,
    TrackerConfigError,
    TrackerError,
    TrackerTransient,
)


class EGroupwareError(TrackerError):
    """An EGroupware request failed; `status` is the HTTP status (None: no answer)."""

    status: int | None = None

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None) -> None:
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = f"{method} {path}".strip()
        super().__init__(f"{where}: {message}" if where else message)


class EGroupwareAuthError(EGroupwareError, TrackerAuthError):
    status = 401


class EGroupwarePermissionError(EGroupwareError, TrackerConfigError):
    status = 403


class EGroupwareNotFound(EGroupwareError, EntryNotFound):
    status = 404


class EGroupwareRejected(EGroupwareError, RecordRejected):
    """400/422: EGroupware refused the data; `message` is its own explanation."""


class EGroupwareConflict(EGroupwareError, RecordRejected):
    """412: the record changed since we read it (someone edited it in EGroupware). Never retried
    as is: the caller re-reads and re-plans. ``current``: the record as EGroupware has it now,
    when it sent it along (``Prefer: return=representation``)."""

    status = 412

    def __init__(self, message: str, current: Any = None, **kw: Any) -> None:
        self.current = current
        super().__init__(message, status=412, **kw)


class EGroupwareRateLimited(EGroupwareError, TrackerTransient):
    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class EGroupwareServerError(EGroupwareError, TrackerTransient, OutcomeUnknown):
    """5xx from EGroupware or a proxy: a write may have landed."""


class EGroupwareTransportError(EGroupwareError, TrackerTransient, OutcomeUnknown):
    """No answer: refused, timed out, or the connection dropped (a write may have landed)."""


class UnexpectedAnswer(EGroupwareError, OutcomeUnknown):
    """A 2xx whose body or headers we cannot use (HTML, broken JSON, no Location after a create)."""


class SyncTokenRejected(EGroupwareError):
    """The server no longer accepts a sync-token (purged history, another server, garbage)."""
