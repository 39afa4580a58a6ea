"""Errors a caller can act on; whether one is worth retrying is its type.

Every failure talking to Kimai or the triplestore becomes one of these types. Those that a
later attempt may cure also derive from :class:`Transient` (as httpx's TransportError marks its
own); :mod:`kimaisync.retry` retries those and nothing else. Messages say
what went wrong and what to check; they never contain a secret (the API token is never part
of a URL, header dump or body we quote).
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SyncError(Exception):
    """Base of every error this project raises on purpose."""


class Transient(SyncError):
    """A failure a later attempt of the same request may not meet: rate limits, 5xx, timeouts,
    dropped connections, an unreachable store or lock database."""


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


class KimaiRateLimitedError(KimaiError, Transient):
    """429: too many requests; `retry_after` is Kimai's (or the proxy's) advice in seconds."""

    status = 429

    def __init__(self, message: str, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, status=429, **kw)


class KimaiServerError(KimaiError, Transient):
    """5xx: Kimai (or a proxy in front of it) failed."""


class KimaiTransportError(KimaiError, Transient):
    """No usable answer: refused, timed out, connection dropped, or a reply that is not JSON."""


class KimaiProtocolError(KimaiError):
    """Kimai answered 2xx with a body we cannot read (HTML, truncated JSON, wrong shape)."""


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
    """Whether another attempt may succeed: the error is :class:`Transient`."""
    return isinstance(exc, Transient)
