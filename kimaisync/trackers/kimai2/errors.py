"""Kimai 2's errors: each is one of the tracker port's families (`kimaisync.errors`), so the core
acts on them without knowing Kimai; the client raises them, translated once from HTTP statuses."""

from __future__ import annotations

from kimaisync.errors import (
    EntryNotFound,
    OutcomeUnknown,
    RecordLocked,
    RecordRejected,
    TrackerAuthError,
    TrackerConfigError,
    TrackerError,
    TrackerTransient,
    ValidationDetails,
)

class KimaiError(TrackerError):
    """A Kimai request failed. `status` is the HTTP status, or None for transport failures."""

    status: int | None = None

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None):
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = f"{method} {path}".strip()
        super().__init__(f"{where}: {message}" if where else message)


class KimaiAuthError(KimaiError, TrackerAuthError):
    """401, or 403 on a read that any authorised API user may do: the credentials are wrong."""


class KimaiPermissionError(KimaiError, TrackerConfigError):
    """403: authenticated, but the API user lacks a Kimai permission for this action."""


class KimaiLockedError(KimaiPermissionError, RecordLocked):
    """403 on editing or deleting a timesheet: it is exported or in a locked period."""


class KimaiValidationError(KimaiError, RecordRejected):
    """400: Kimai refused the data. Retrying the same request cannot help."""

    status = 400

    def __init__(self, message: str, details: ValidationDetails | None = None, **kw):
        self.details = details or ValidationDetails()
        super().__init__(f"{message}: {self.details.summary()}", status=400, **kw)

    def rejection(self) -> str:
        return self.details.summary()


class KimaiNotFoundError(KimaiError, EntryNotFound):
    """404: the record (or page) does not exist."""

    status = 404


class KimaiRateLimitedError(KimaiError, TrackerTransient):
    """429: too many requests; `retry_after` is Kimai's (or the proxy's) advice in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class KimaiServerError(KimaiError, TrackerTransient, OutcomeUnknown):
    """5xx: Kimai (or a proxy in front of it) failed."""


class KimaiTransportError(KimaiError, TrackerTransient, OutcomeUnknown):
    """No usable answer: refused, timed out, connection dropped, or a reply that is not JSON."""


class KimaiProtocolError(KimaiError, OutcomeUnknown):
    """Kimai answered 2xx with a body we cannot read (HTML, truncated JSON, wrong shape)."""
