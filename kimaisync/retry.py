"""The one retry loop. What is worth retrying and how long to wait is decided in
:mod:`kimaisync.errors` (`is_retryable`, `retry_delay`: a 429 waits its Retry-After); this only
runs the attempts.

Only idempotent operations belong in here: a retried POST whose first reply was lost may create
the record twice.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from kimaisync.errors import is_retryable, retry_delay

T = TypeVar("T")

OnRetry = Callable[[BaseException, int, float], None]
"""Called before each wait with (the error, the number of the attempt that failed, seconds to wait)."""


def call_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: OnRetry | None = None,
) -> T:
    """Call `fn` up to `attempts` times in all; re-raise the last error, or at once a non-retryable one."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if attempt >= attempts or not is_retryable(exc):
                raise
            delay = retry_delay(exc, attempt)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
            attempt += 1
