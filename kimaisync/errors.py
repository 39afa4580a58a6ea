"""Errors a caller can act on; whether one is worth retrying is its type.

Every failure talking to a tracker or the triplestore becomes one of these types. Messages say
what went wrong and what to check; they never contain a secret (the API token is never part
of a URL, header dump or body we quote).

Whether an error is retried is said by its type: a `Transient` may succeed on a later try,
nothing else is retried. The tracker port's families (`TrackerError` and below) are what the
core catches; each tracker's client raises subclasses of them (Kimai 2: `KimaiError` and below).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SyncError(Exception):
    """Base of every error this project raises on purpose."""


class Transient(SyncError):
    """A failure a later attempt of the same request may not meet: rate limits, 5xx, timeouts,
    dropped connections, an unreachable store or lock database. The one retry policy
    (:mod:`kimaisync.retry`) retries these and nothing else."""

    retry_after: float | None = None  # the server's advice in seconds, when it gave one


class ConfigurationError(SyncError):
    """Settings are missing or invalid; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


# --------------------------------------------------------------------------- the tracker port


class TrackerError(SyncError):
    """A tracker refused or failed a request. Adapters raise subclasses of the families below."""


class TrackerTransient(TrackerError, Transient):
    """No usable answer, or one saying "try later": retried with backoff."""


class TrackerConfigError(TrackerError):
    """A person must fix something before a retry can help: a credential, a permission, a mapping."""


class TrackerAuthError(TrackerConfigError):
    """The credential is refused: nothing more can be done with it (the run, or that person, stops)."""


class RecordRejected(TrackerError):
    """The tracker refused this one record's data; the others go on. Retrying cannot help."""

    def rejection(self) -> str:
        """What the tracker said was wrong, for the report."""
        return str(self)


class RecordLocked(RecordRejected):
    """The record is exported, approved or in a locked period: it may not be changed or deleted."""


class EntryNotFound(TrackerError):
    """The entry (or page) does not exist."""


class OutcomeUnknown(TrackerError):
    """Marker family: a write may have been carried out although no good answer came back (a lost
    reply, a 5xx behind a proxy, a 2xx we cannot read). Never repeat a create blindly: look for its
    record first (the core searches by the sync's marker)."""


# --------------------------------------------------------------------------- Kimai


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


@dataclass
class ValidationDetails:
    """Kimai's 400 body, kept whole: global messages and per-field messages."""

    global_errors: list[str] = field(default_factory=list)
    field_errors: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = list(self.global_errors)
        parts += [f"{name}: {'; '.join(msgs)}" for name, msgs in sorted(self.field_errors.items())]
        return " | ".join(parts) if parts else "no details given"


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


# --------------------------------------------------------------------------- Timi


class TimiError(TrackerError):
    """A Timi request failed. `status` is the HTTP status, or None when no answer came."""

    status: int | None = None

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None):
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = f"Timi {method} {path}".strip() if method or path else "Timi"
        super().__init__(f"{where}: {message}")


class TimiAuthError(TimiError, TrackerAuthError):
    """401/403: the person's e-mail + token are refused. Fix the credentials file; retrying
    cannot help. Credentials are personal: it stops that person's work, not the others'."""


class TimiRateLimitedError(TimiError, TrackerTransient):
    """429 {"message":"rate limit exceeded"}: the account's budget per minute is spent."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class TimiUnavailableError(TimiError, TrackerTransient, OutcomeUnknown):
    """No usable answer, or a 5xx: a later try may succeed. For a create it may also have been
    applied, so the create loop looks for the sync's marker before it tries again."""


class TimiValidationError(TimiError, RecordRejected):
    """422/400 {"errors": {...}}: Timi refused this record's data; `details` keeps it per field."""

    def __init__(self, message: str, details: ValidationDetails | None = None, **kw):
        self.details = details or ValidationDetails()
        super().__init__(f"{message}: {self.details.summary()}", **kw)

    def rejection(self) -> str:
        return self.details.summary()


class TimiNotFoundError(TimiError, EntryNotFound):
    """404: no such record for this person's token (another person's entry is not there for it)."""

    status = 404


class TimiProtocolError(TimiError, OutcomeUnknown):
    """A 2xx whose body we cannot read (HTML, truncated JSON, wrong shape): after a create, it may
    have been applied."""


# --------------------------------------------------------------------------- SPARQL


class SparqlError(SyncError):
    """A triplestore request failed."""


class SparqlUnavailableError(SparqlError, Transient):
    """The store cannot be reached, timed out, or answered 5xx."""


class SparqlQueryError(SparqlError):
    """The store rejected the query (4xx): a bug in the query or a permission problem."""


# --------------------------------------------------------------------------- writer lock


class WriterLockUnavailable(Transient):
    """The database holding the work-log writer lock cannot be reached: the run writes nothing."""


# --------------------------------------------------------------------------- by type


def is_retryable(exc: BaseException) -> bool:
    """The single retry decision, by type: transient failures only.

    Rate limits, 5xx, transport failures and an unavailable store may succeed on a later try.
    Authentication, permission, validation, not-found and protocol errors will not.
    """
    return isinstance(exc, Transient)


def is_fatal(exc: BaseException) -> bool:
    """Failures that make the rest of a run pointless: stop at once with a clear message."""
    return isinstance(exc, (TrackerAuthError, SparqlQueryError, ConfigurationError, SparqlUnavailableError))
