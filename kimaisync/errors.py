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


# --------------------------------------------------------------------------- Timi


class TimiError(SyncError):
    """A Timi request failed. `status` is the HTTP status, or None when no answer came."""

    status: int | None = None

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int | None = None):
        self.method = method
        self.path = path
        if status is not None:
            self.status = status
        where = f"Timi {method} {path}".strip() if method or path else "Timi"
        super().__init__(f"{where}: {message}")


class TimiAuthError(TimiError):
    """401/403: the person's e-mail + token are refused. Fix the credentials file; retrying
    cannot help. Credentials are personal: it stops that person's work, not the others'."""


class TimiRateLimitedError(TimiError):
    """429 {"message":"rate limit exceeded"}: the account's budget per minute is spent."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class TimiUnavailableError(TimiError):
    """No usable answer, or a 5xx, to a request that is safe to repeat (a read, a PATCH, or a
    POST that never left): a later try may succeed."""


class TimiValidationError(TimiError):
    """422/400 {"errors": {...}}: Timi refused this record's data; `details` keeps it per field."""

    def __init__(self, message: str, details: ValidationDetails | None = None, **kw):
        self.details = details or ValidationDetails()
        super().__init__(f"{message}: {self.details.summary()}", **kw)


class TimiNotFoundError(TimiError):
    """404: no such record for this person's token (another person's entry is not there for it)."""

    status = 404


class TimiProtocolError(TimiError):
    """A 2xx whose body we cannot read (HTML, truncated JSON, wrong shape)."""


class TimiOutcomeUnknownError(TimiError):
    """A create was sent and no trustworthy answer came back (lost reply, 5xx): it may have been
    applied. Never repeat it blindly; look for the sync's marker by reading."""


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
    if isinstance(exc, (KimaiRateLimitedError, KimaiServerError, KimaiTransportError)):
        return True
    if isinstance(exc, (TimiRateLimitedError, TimiUnavailableError)):
        return True
    if isinstance(exc, (SparqlUnavailableError, WriterLockUnavailable)):
        return True
    return False


def retry_delay(exc: BaseException, attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait before retry number `attempt` (1-based): Retry-After if given, else backoff."""
    if isinstance(exc, (KimaiRateLimitedError, TimiRateLimitedError)) and exc.retry_after is not None:
        return min(max(exc.retry_after, 0.0), cap)
    return min(base * (2 ** (attempt - 1)), cap)


def is_fatal(exc: BaseException) -> bool:
    """Failures that make the rest of a run pointless: stop at once with a clear message."""
    return isinstance(exc, (KimaiAuthError, SparqlQueryError, ConfigurationError)) or (
        isinstance(exc, SparqlUnavailableError)
    )
