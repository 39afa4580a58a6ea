"""Deterministic fault injection, in the shape of ``emulators.kimai2.faults``.

Every call goes to one URL, so faults match on the JSON-RPC method named in the body
(``rpc_methods``) instead of a path. Per matching call, in this order:

* ``after=N``: the first N matching calls pass untouched.
* ``key_expiry_every=N``: the N-th, 2N-th, ... matching call finds its key cleared (an admin
  resetting it): Kimai answers "Unknown user or no permissions." and the next ``authenticate``
  hands out a new key; ``key_expiry_limit`` caps how many times.
* ``rate_limit_every=N``: a burst of ``max(1, rate_limit_burst)`` 429s from the reverse proxy
  (Kimai 1 itself never rate-limits), with ``Retry-After: retry_after``.
* else one draw from ``random.Random(seed)``: ``timeout_rate`` -> a 504 after ``timeout_delay``
  (nothing done), ``error_rate`` -> 500 (PHP fatal error page) / 502 / 503 (proxy pages),
  nothing done, ``lost_response_rate`` -> the call is carried out, then half the reply is sent
  and the connection dropped.

``latency``: a matching call's reply leaves no sooner than this many seconds after it arrived.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
SERVER_ERROR = "server_error"
LOST_RESPONSE = "lost_response"
KEY_EXPIRED = "key_expired"

_SERVER_ERROR_STATUSES = (500, 502, 503)

TIMESHEET_METHODS = frozenset({"getTimesheet", "getTimesheetRecord", "setTimesheetRecord", "removeTimesheetRecord"})


class ResponseLost(Exception):
    """Raised after a half-sent reply so uvicorn drops the connection (see kimai2.faults)."""


@dataclass
class Faults:
    seed: int = 0
    latency: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_delay: float = 5.0
    lost_response_rate: float = 0.0
    rate_limit_every: int = 0
    rate_limit_burst: int = 0
    retry_after: int = 1
    key_expiry_every: int = 0
    key_expiry_limit: int = 0  # at most this many key resets (0: no limit)
    rpc_methods: frozenset[str] = TIMESHEET_METHODS
    after: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _matched: int = field(default=0, init=False, repr=False, compare=False)
    _burst_left: int = field(default=0, init=False, repr=False, compare=False)
    _expired: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.rpc_methods = frozenset(self.rpc_methods)

    def applies_to(self, rpc_method: str | None) -> bool:
        return rpc_method in self.rpc_methods

    @property
    def matched(self) -> int:
        return self._matched

    def passes_untouched(self) -> bool:
        self._matched += 1
        return self._matched <= self.after

    def decide(self) -> tuple[str, int | None] | None:
        """``(kind, status)`` for the next matching call, or None. Callers serialise calls."""
        n = self._matched - self.after
        if self.key_expiry_every and n % self.key_expiry_every == 0 and \
                (not self.key_expiry_limit or self._expired < self.key_expiry_limit):
            self._expired += 1
            return KEY_EXPIRED, None
        if self.rate_limit_every and n % self.rate_limit_every == 0:
            self._burst_left = max(1, self.rate_limit_burst)
        if self._burst_left:
            self._burst_left -= 1
            return RATE_LIMIT, 429
        draw = self._rng.random()
        if draw < self.timeout_rate:
            return TIMEOUT, 504
        draw -= self.timeout_rate
        if draw < self.error_rate:
            return SERVER_ERROR, self._rng.choice(_SERVER_ERROR_STATUSES)
        draw -= self.error_rate
        if draw < self.lost_response_rate:
            return LOST_RESPONSE, None
        return None
