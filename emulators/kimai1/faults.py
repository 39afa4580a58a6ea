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

from dataclasses import dataclass, field

from emulators.common.faults import ResponseLost, SeededFaults

__all__ = ["KEY_EXPIRED", "TIMESHEET_METHODS", "Faults", "ResponseLost"]

KEY_EXPIRED = "key_expired"

TIMESHEET_METHODS = frozenset({"getTimesheet", "getTimesheetRecord", "setTimesheetRecord", "removeTimesheetRecord"})


@dataclass
class Faults(SeededFaults):
    """The shared seeded faults, matched on the JSON-RPC method, plus Kimai 1's key expiry."""

    key_expiry_every: int = 0
    key_expiry_limit: int = 0  # at most this many key resets (0: no limit)
    rpc_methods: frozenset[str] = TIMESHEET_METHODS
    _expired: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.rpc_methods = frozenset(self.rpc_methods)

    def applies_to(self, rpc_method: str | None) -> bool:
        return rpc_method in self.rpc_methods

    def decide(self) -> tuple[str, int | None] | None:
        """``(kind, status)`` for the next matching call, or None. Callers serialise calls."""
        n = self._matched - self.after
        if self.key_expiry_every and n % self.key_expiry_every == 0 and \
                (not self.key_expiry_limit or self._expired < self.key_expiry_limit):
            self._expired += 1
            return KEY_EXPIRED, None
        return super().decide()
