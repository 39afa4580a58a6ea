"""Errors a caller can act on, and the one place that decides which are worth retrying.

Every failure talking to Kimai or the triplestore becomes one of these types. Messages say
what went wrong and what to check; they never contain a secret (the API token is never part
of a URL, header dump or body we quote).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SyncError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(SyncError):
    """Settings are missing or invalid; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


# --------------------------------------------------------------------------- Kimai


class KimaiError(SyncError):
    """A Kimai request failed. `status` is the HTTP status, or None for transport failures."""

    status: int | None = None

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None):
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = f"{method} {path}".strip()
        super().__init__(f"{where}: {message}" if where else message)


class KimaiAuthError(KimaiError):
    """401, or 403 on a read that any authorised API user may do: the credentials are wrong."""


class KimaiPermissionError(KimaiError):
    """403: authenticated, but the API user lacks a Kimai permission for this action."""


class KimaiLockedError(KimaiPermissionError):
    """403 on editing or deleting a timesheet: it is exported or in a locked period."""


@dataclass
class ValidationDetails:
    """Kimai's 400 body, kept whole: global messages and per-field messages."""

    global_errors: list[str] = field(default_factory=list)
    field_errors: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = list(self.global_errors)
        parts += [f"{name}: {'; '.join(msgs)}" for name, msgs in sorted(self.field_errors.items())]
        return " | ".join(parts) if parts else "no details given"


class KimaiValidationError(KimaiError):
    """400: Kimai refused the data. Retrying the same request cannot help."""

    status = 400

    def __init__(self, message: str, details: ValidationDetails | None = None, **kw):
        self.details = details or ValidationDetails()
        super().__init__(f"{message}: {self.details.summary()}", status=400, **kw)


class KimaiNotFoundError(KimaiError):
    """404: the record (or page) does not exist."""

    status = 404


class KimaiRateLimitedError(KimaiError):
    """429: too many requests; `retry_after` is Kimai's (or the proxy's) advice in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class KimaiServerError(KimaiError):
    """5xx: Kimai (or a proxy in front of it) failed."""


class KimaiTransportError(KimaiError):
    """No usable answer: refused, timed out, connection dropped, or a reply that is not JSON."""


class KimaiProtocolError(KimaiError):
    """Kimai answered 2xx with a body we cannot read (HTML, truncated JSON, wrong shape)."""


# --------------------------------------------------------------------------- other trackers
# Tracker-neutral types, for the clients of trackers added behind the tracker port (Timi first).
# Each client maps its tracker's answers onto them once, at its edge; what a caller may do next
# follows from the type alone.


class TrackerError(SyncError):
    """A tracker request failed. `tracker` names the tracker, `status` is the HTTP status or None."""

    status: int | None = None

    def __init__(self, message: str, *, tracker: str = "", method: str = "", path: str = "",
                 status: int | None = None):
        self.tracker = tracker
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = " ".join(p for p in (tracker, method, path) if p)
        super().__init__(f"{where}: {message}" if where else message)


class TrackerTransientError(TrackerError):
    """No usable answer, or a 5xx, to a request that is safe to repeat: a later try may succeed."""


class TrackerRateLimitedError(TrackerTransientError):
    """429: the tracker's request budget is spent; `retry_after` is its advice in seconds, if any."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class TrackerConfigError(TrackerError):
    """401/403: the credential is wrong or lacks a right. A person must fix the settings; retrying
    cannot help. With personal credentials it stops that person's work, not the others'."""


class TrackerRecordRejected(TrackerError):
    """400/422: the tracker refused this record's data; `details` keeps its messages whole."""

    def __init__(self, message: str, details: ValidationDetails | None = None, **kw):
        self.details = details or ValidationDetails()
        super().__init__(f"{message}: {self.details.summary()}", **kw)


class TrackerNotFoundError(TrackerError):
    """404: the record does not exist (or is not visible to this credential)."""

    status = 404


class TrackerProtocolError(TrackerError):
    """A 2xx whose body we cannot read (HTML, truncated JSON, wrong shape)."""


class TrackerOutcomeUnknown(TrackerError):
    """A create was sent and no trustworthy answer came back: it may have been applied. Never
    repeat it blindly; find out by reading (the sync looks for its marker)."""


# --------------------------------------------------------------------------- SPARQL


class SparqlError(SyncError):
    """A triplestore request failed."""


class SparqlUnavailableError(SparqlError):
    """The store cannot be reached, timed out, or answered 5xx."""


class SparqlQueryError(SparqlError):
    """The store rejected the query (4xx): a bug in the query or a permission problem."""


# --------------------------------------------------------------------------- writer lock


class WriterLockUnavailable(SyncError):
    """The database holding the work-log writer lock cannot be reached: the run writes nothing."""


# --------------------------------------------------------------------------- retry policy


def is_retryable(exc: BaseException) -> bool:
    """The single retry decision: transient failures only.

    Rate limits, 5xx, transport failures and an unavailable store may succeed on a later try.
    Authentication, permission, validation, not-found and protocol errors will not.
    """
    if isinstance(exc, (KimaiRateLimitedError, KimaiServerError, KimaiTransportError, TrackerTransientError)):
        return True
    if isinstance(exc, (SparqlUnavailableError, WriterLockUnavailable)):
        return True
    return False


def retry_delay(exc: BaseException, attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait before retry number `attempt` (1-based): Retry-After if given, else backoff."""
    if isinstance(exc, (KimaiRateLimitedError, TrackerRateLimitedError)) and exc.retry_after is not None:
        return min(max(exc.retry_after, 0.0), cap)
    return min(base * (2 ** (attempt - 1)), cap)


def is_fatal(exc: BaseException) -> bool:
    """Failures that make the rest of a run pointless: stop at once with a clear message."""
    return isinstance(exc, (KimaiAuthError, SparqlQueryError, ConfigurationError)) or (
        isinstance(exc, SparqlUnavailableError)
    )
