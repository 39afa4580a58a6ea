"""Fault campaign on the Kimai 1 adapter: 5 seeds of 5xx, 429 and replies lost after
the write, over creates, updates and deletes of three people, each with their own key.

The create loop is the port's contract for a create (kimaisync/trackers/port.py, Session): it is
not idempotent, so after a failure that may have committed (`OutcomeUnknown`) the record is
looked for by its marker before another try. Updates and deletes are idempotent and retried by
the client. At the end Kimai 1 holds each work log once (0 duplicates), none is missing, every
update landed and every delete took.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from emulators.kimai1.app import create_app
from emulators.kimai1.faults import Faults
from emulators.kimai1.seeds import small_state
from emulators.kimai1.transport import InProcessTransport
from kimaisync.errors import OutcomeUnknown, is_retryable
from kimaisync.trackers.kimai1.adapter import Kimai1Tracker
from kimaisync.trackers.kimai1.client import Kimai1Client
from kimaisync.trackers.port import EntryWrite

BRUSSELS = ZoneInfo("Europe/Brussels")
PEOPLE = {2: "ann", 3: "bob", 1: "admin"}


def create_once(session, write: EntryWrite, attempts: int = 8):
    """Create; after an uncertain failure, adopt the record the marker finds instead of retrying."""
    uncertain = False
    for _attempt in range(attempts):
        try:
            return session.create(write)
        except Exception as exc:
            uncertain = uncertain or isinstance(exc, OutcomeUnknown)
            if uncertain:
                found = [e for e in _marked(session, write.description)]
                if found:
                    return found[0]
            if not is_retryable(exc):
                raise
    raise AssertionError(f"{write.description} not created after {attempts} attempts")


def _marked(session, marker: str, attempts: int = 8):
    for _attempt in range(attempts):
        try:
            return session.find_marked(marker)
        except Exception as exc:
            if not is_retryable(exc):
                raise
    raise AssertionError("marker search kept failing")


@pytest.mark.parametrize("seed", range(5))
def test_no_duplicates_no_missing_under_faults(seed):
    state = small_state()
    state.entries.clear()
    for user in state.users.values():
        user.active, user.password = True, f"{user.name}-pw"
    client = Kimai1Client("http://kimai1.test/core/json.php", user="admin", password="admin-pw",
                          credentials={name: f"{name}-pw" for name in PEOPLE.values()}, timeout=0.3, retries=8,
                          transport=InProcessTransport(create_app(state)), sleep=lambda s: None)
    tracker = Kimai1Tracker(client)
    tracker.users()
    for uid in PEOPLE:
        tracker.session(uid).k1.key()
    state.faults = Faults(seed=seed, error_rate=0.08, lost_response_rate=0.08,
                          rate_limit_every=23)
    made = {}
    for n in range(36):
        uid = list(PEOPLE)[n % 3]
        begin = dt.datetime(2026, 6, 1 + n // 3 % 20, 9, 0, tzinfo=BRUSSELS) + dt.timedelta(hours=n // 36)
        write = EntryWrite(uid, 1, "1-1", f"[tk:wl-{n}]", begin, begin + dt.timedelta(minutes=45))
        made[n] = create_once(tracker.session(uid), write)
    for n in range(0, 36, 2):
        e = made[n]
        tracker.session(e.user).update(e.id, {"description": f"[tk:wl-{n}] edited"}, zone="Europe/Brussels")
    for n in range(1, 36, 4):
        e = made[n]
        tracker.session(e.user).delete(e.id, missing_ok=True)
    faults_seen = Counter(kind for _m, kind in state.fault_log)
    state.faults = Faults()

    rows = list(state.entries.values())
    markers = Counter(r.description.split()[0] for r in rows)
    assert [m for m, c in markers.items() if c > 1] == [], "duplicates"
    deleted = {f"[tk:wl-{n}]" for n in range(1, 36, 4)}
    assert set(markers) == {f"[tk:wl-{n}]" for n in range(36)} - deleted, "missing or undeleted records"
    for r in rows:
        n = int(r.description.split()[0][7:-1])
        assert r.description.endswith("edited") == (n % 2 == 0)
        assert r.user == list(PEOPLE)[n % 3], "written as its person"
    assert faults_seen["lost_response"] > 0 and faults_seen["server_error"] > 0
