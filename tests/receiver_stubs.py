"""What the receiver tests run it against: flows that record their calls and a store that knows one
work log, so the routes, the run queue and the journal are tested without Prefect or a triplestore."""

from __future__ import annotations

import threading

LOG = "http://timekeeper.redpencil.io/work-logs/67D184E2A3B8E1000A000077"
CAL = "http://www.w3.org/2002/12/cal/ical#"
ROUTES = ("delta", "orphan", "customers", "tasks", "accounts", "period", "lock")


def delta_body(*subjects: str, predicate: str = CAL + "duration") -> list[dict]:
    """A v0.0.1 delta inserting a duration for each subject."""
    return [{"inserts": [{"subject": {"type": "uri", "value": s}, "predicate": {"type": "uri", "value": predicate},
                          "object": {"type": "literal", "value": "PT1H"}} for s in subjects], "deletes": []}]


class StubFlow:
    """Records calls and ends in `outcome`; with `hold`, the first call waits until `release` is set."""

    def __init__(self, hold: bool = False, outcome: str = "COMPLETED"):
        self.calls: list[dict] = []
        self.release, self.started = threading.Event(), threading.Event()
        self.hold, self.outcome = hold, outcome
        self._lock = threading.Lock()

    def __call__(self, return_state=False, **params):
        with self._lock:
            self.calls.append(params)
            first = len(self.calls) == 1
        self.started.set()
        if self.hold and first:
            self.release.wait(10)
        return type("S", (), {"type": type("T", (), {"value": self.outcome})()})()


class StubStore:
    def select(self, query):
        return [{"log": LOG}] if "67D184E2A3B8E1000A000077" in query else []


def stub_flows(routes=ROUTES) -> dict[str, StubFlow]:
    return {name: StubFlow() for name in routes}
