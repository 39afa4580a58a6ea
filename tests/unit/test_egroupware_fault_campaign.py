"""A short fault campaign of the EGroupware adapter against its emulator: 5 seeds of 5xx, 429
bursts, timeouts and replies lost after the commit, over creates, updates and deletes.

Creates follow the core's rule (kimaisync/apply/timesheets.py, over the port): a create is retried
only after looking for its record by the marker, once an attempt may have committed. The bar:
every work log has exactly one timesheet with the wanted values, deleted ones none."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest

from emulators.egroupware.seeds import ALL_USERS_TOKEN, small_state
from emulators.egroupware.server import EmulatorServer
from emulators.egroupware.state import Faults
from kimaisync.errors import OutcomeUnknown, is_retryable
from kimaisync.retry import retry_delay
from kimaisync.settings import load_settings
from kimaisync.trackers.egroupware.adapter import create
from kimaisync.trackers.port import EntryWrite

DAY = datetime(2026, 4, 1, 7, 0, tzinfo=timezone.utc)
PEOPLE = ("ralf", "anna", "piet")
N = 60


def create_once(session, write: EntryWrite, marker: str, attempts: int = 8):
    """The core's create: retry transient failures, but look for the marker first once an attempt
    may have landed, and once more before giving up."""
    uncertain = False
    for attempt in range(1, attempts + 1):
        try:
            return session.create(write)
        except Exception as exc:  # noqa: BLE001 (the port's families decide below)
            uncertain = uncertain or isinstance(exc, OutcomeUnknown)
            if uncertain:
                found = [e for e in _look(session, marker) if e.description == write.description]
                if found:
                    return min(found, key=lambda e: e.id)
            if not is_retryable(exc) or attempt == attempts:
                raise
            time.sleep(min(retry_delay(exc, attempt), 0.05))


def _look(session, marker):
    for _ in range(20):  # the look itself may meet a fault: it is a read, retried by the client
        try:
            return session.find_marked(marker)
        except Exception as exc:  # noqa: BLE001
            if not is_retryable(exc):
                raise
    raise AssertionError("the marker search never got through")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_duplicates_and_nothing_missing_under_faults(seed):
    state = small_state()
    with EmulatorServer(state) as srv:
        settings = load_settings(tracker="egroupware", egroupware_url=srv.url, egroupware_user="sync",
                                 egroupware_password=ALL_USERS_TOKEN, kimai_retries=8, kimai_timeout=0.5)
        with create(settings, sleep=lambda s: time.sleep(min(s, 0.02))) as tracker:  # a short clock
            state.faults = Faults(seed=seed, error_rate=0.08, lost_response_rate=0.08, timeout_rate=0.01,
                                  timeout_delay=1.0, rate_limit_every=23, rate_limit_burst=2, retry_after=0)
            wanted = {}

            def book(i):
                person = PEOPLE[i % len(PEOPLE)]
                marker = f"[tk:s{seed}-w{i}]"
                w = EntryWrite(user=person, project="Alpha", activity="development", description=marker,
                               begin=DAY + timedelta(days=i % 20), end=DAY + timedelta(days=i % 20, minutes=30 + i))
                e = create_once(tracker.session(person), w, marker)
                wanted[marker] = (person, e.id, 30 + i)

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(book, range(N)))

            def edit(marker):
                person, tid, minutes = wanted[marker]
                s = tracker.session(person)
                if int(marker.split("w")[1].rstrip("]")) % 3 == 0:
                    s.delete(tid, missing_ok=True)
                    wanted[marker] = None
                else:
                    s.update(tid, {"minutes": minutes + 15})
                    wanted[marker] = (person, tid, minutes + 15)

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(edit, list(wanted)))
            faults = len(state.fault_log)
            state.faults = Faults()

            live = {}
            for person in PEOPLE:
                for e in tracker.session(person).entries(date(2026, 3, 1), date(2026, 5, 1)):
                    live.setdefault(e.description, []).append(e)
    duplicates = sum(len(v) - 1 for v in live.values())
    missing = [m for m, w in wanted.items() if w is not None and m not in live]
    resurrected = [m for m, w in wanted.items() if w is None and m in live]
    wrong = [m for m, w in wanted.items() if w is not None and m in live and live[m][0].minutes != w[2]]
    assert faults > 10  # the campaign did hit it
    assert (duplicates, missing, resurrected, wrong) == (0, [], [], [])
