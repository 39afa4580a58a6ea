"""The one retry policy: whether to try again, how long to wait, and the loop that does it.

Whether an error is worth another attempt is its type (:class:`kimaisync.errors.Transient`,
like httpx's TransportError); how long to wait is :func:`retry_delay` (a 429 waits its
Retry-After, everything else doubles from 0.5 s up to 30 s). The Kimai client, the SPARQL client
and the create loop of :mod:`kimaisync.apply.timesheets` all retry through here, once each:
callers above them (Prefect tasks, flows) do not retry again.

Only idempotent operations belong in :func:`call_with_retry`: a retried POST whose first reply
was lost may create the record twice.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, TypeVar

from kimaisync.errors import Transient, is_retryable

T = TypeVar("T")

BASE_DELAY = 0.5
MAX_DELAY = 30.0

OnRetry = Callable[[BaseException, int, float], None]
"""Called before each wait with (the error, the number of the attempt that failed, seconds to wait)."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header as seconds (any HTTP tracker): either a number of seconds or an HTTP date; None if absent/unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def retry_delay(exc: BaseException, attempt: int, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before retry number `attempt` (1-based): Retry-After if given, else backoff."""
    after = exc.retry_after if isinstance(exc, Transient) else None
    if after is not None:
        return min(max(after, 0.0), cap)
    return min(base * 2.0 ** (attempt - 1), cap)


def call_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: OnRetry | None = None,
    base: float = BASE_DELAY,
) -> T:
    """Call `fn` up to `attempts` times in all; re-raise the last error, or at once a non-retryable one.

    `base` is the first wait of the backoff (a caller on a local API that clears in milliseconds
    gives a shorter one)."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
            delay = retry_delay(exc, attempt, base=base)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
            attempt += 1
