"""One factory per tracker for the port's conformance suite (tests/unit/test_port_conformance.py).

Each factory starts that tracker's emulator (on 127.0.0.1, or in-process where the adapter's own
tests do so), seeded with a person, a project and an activity, opens the adapter as the registry
does, and yields a `Subject`: what the suite needs to drive the tracker through the port and to
look at its server from outside (writes it received, faults to seed, a refused credential).

A new tracker adds its factory to `FACTORIES` (docs/trackers.md, "How to add a tracker").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kimaisync.settings import Settings, load_settings
from kimaisync.trackers import factory
from kimaisync.trackers.port import Session, Tracker, TrackerUser

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NO_SLEEP = {"sleep": lambda _s: None}  # retries of seeded faults cost no time


@dataclass
class Subject:
    """A tracker behind the port, ready to use, and its emulator seen from outside.

    - `user`, `project`, `activity`: the seeded person and what they can book, as the tracker's ids.
    - `zone`: the person's zone, as the core would know it when the tracker does not say.
    - `day`: a day the emulator accepts entries on.
    - `writes()`: how many writing requests (or RPC calls) the emulator has received so far.
    - `again()`: the same tracker opened anew, as a later run opens it (a context manager).
    - `refused()`: the same tracker opened with a credential the emulator refuses (a context manager).
    - `fail(kind)`: make the emulator answer every entry request with `"server_error"` (a 5xx) or
      `"rate_limit"` (429), or (`"lost_create"`) carry out every create and drop its reply; None
      when there is no server to fail.
    - `secret`: a credential the adapter holds, which must never be shown.
    """

    tracker: Tracker
    user: Hashable
    project: Hashable
    activity: Hashable
    zone: str
    day: dt.date
    writes: Callable[[], int]
    again: Callable[[], contextlib.AbstractContextManager[Tracker]]
    refused: Callable[[], contextlib.AbstractContextManager[Tracker]]
    fail: Callable[[str], None] | None
    secret: str

    @property
    def session(self) -> Session:
        return self.tracker.session(self.user)


def _http_writes(state) -> Callable[[], int]:
    return lambda: sum(1 for r in list(state.requests) if r.method in WRITE_METHODS)


def _seeder(state, faults_type, creates: dict | None = None, **base) -> Callable[[str], None]:
    """`fail(kind)`: every matching request from now on gets that fault (the client's retries
    included); `creates`: the faults' fields that match a create alone."""
    def fail(kind: str) -> None:
        if kind == "lost_create":
            state.faults = faults_type(lost_response_rate=1.0, **{**base, **(creates or {"methods": {"POST"}})})
        elif kind == "server_error":
            state.faults = faults_type(error_rate=1.0, **base)
        elif kind == "rate_limit":
            state.faults = faults_type(rate_limit_every=1, rate_limit_burst=1_000_000, retry_after=0, **base)
        else:
            raise ValueError(kind)
    return fail


# ------------------------------------------------------------------------------ Kimai 2


@contextlib.contextmanager
def kimai2() -> Iterator[Subject]:
    from emulators.kimai2.faults import Faults
    from emulators.kimai2.server import EmulatorServer
    from emulators.kimai2.state import KimaiState

    token = "conformance-kimai2-token"
    state = KimaiState()
    state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=token, timezone="UTC")
    ann = state.add_user("ann", timezone="Europe/Brussels")
    project = state.add_project("Web", state.add_customer("Acme").id)
    activity = state.add_activity("Dev", project.id)
    with EmulatorServer(state) as srv:
        def opened(secret: str) -> Tracker:
            return factory("kimai")(load_settings(tracker="kimai", api_token=secret, kimai_endpoint=srv.url),
                                    **NO_SLEEP)

        with opened(token) as tracker:
            yield Subject(tracker, ann.id, project.id, activity.id, "Europe/Brussels", dt.date(2026, 3, 2),
                          _http_writes(state), lambda: opened(token), lambda: opened("refused-token"),
                          _seeder(state, Faults), token)


# ------------------------------------------------------------------------------ EGroupware


@contextlib.contextmanager
def egroupware() -> Iterator[Subject]:
    from emulators.egroupware.seeds import small_state
    from emulators.egroupware.server import EmulatorServer
    from emulators.egroupware.state import Faults

    state = small_state()
    with EmulatorServer(state) as srv:
        def opened(password: str) -> Tracker:
            settings = load_settings(tracker="egroupware", egroupware_url=srv.url, egroupware_user="sync",
                                     egroupware_password=password)
            return factory("egroupware")(settings, **NO_SLEEP)

        with opened("sync-password") as tracker:
            # EGroupware's references are names: the project text and the category
            yield Subject(tracker, "anna", "Alpha", "development", "Europe/Brussels", dt.date(2026, 3, 2),
                          _http_writes(state), lambda: opened("sync-password"), lambda: opened("refused-password"),
                          _seeder(state, Faults), "sync-password")


# ------------------------------------------------------------------------------ Timi


def _credentials_file(directory: Path, name: str, content: dict) -> str:
    path = directory / name
    path.write_text(json.dumps(content))
    os.chmod(path, 0o600)
    return str(path)


@contextlib.contextmanager
def timi(tmp: Path) -> Iterator[Subject]:
    from emulators.timi.seeds import small_state
    from emulators.timi.server import TimiServer
    from emulators.timi.state import Faults

    from timi_helpers import TODAY

    state = small_state()
    with TimiServer(state, today=lambda: TODAY) as srv:
        def opened(token: str) -> Tracker:
            creds = _credentials_file(tmp, f"timi-{token}.json", {"ann@example.org": token})
            settings = load_settings(tracker="timi", timi_endpoint=srv.url, timi_credentials_file=creds)
            return factory("timi")(settings, **NO_SLEEP)

        with opened("ann-token") as tracker:
            # an activity is a (project, service) pair: project 47 "Timi", service 1 "Development"
            yield Subject(tracker, "ann@example.org", 47, "47/1", "Europe/Brussels", dt.date(2016, 3, 1),
                          _http_writes(state), lambda: opened("ann-token"), lambda: opened("refused-token"),
                          _seeder(state, Faults, paths_prefix="/api/v1/time_entries"), "ann-token")


# ------------------------------------------------------------------------------ Kimai 1


@contextlib.contextmanager
def kimai1(tmp: Path) -> Iterator[Subject]:
    from emulators.kimai1.app import create_app
    from emulators.kimai1.faults import Faults
    from emulators.kimai1.seeds import small_state
    from emulators.kimai1.transport import InProcessTransport

    state = small_state()

    def opened(ann_password: str) -> Tracker:
        creds = _credentials_file(tmp, f"kimai1-{ann_password}.json", {"ann": ann_password, "admin": "admin-pw"})
        settings = Settings(tracker="kimai1", kimai1_endpoint="https://kimai1.test/core/json.php", kimai1_user="admin",
                            kimai1_password="admin-pw", kimai1_credentials_file=creds)
        return factory("kimai1")(settings, transport=InProcessTransport(create_app(state)), **NO_SLEEP)

    def writes() -> int:
        return len(state.calls_of("setTimesheetRecord")) + len(state.calls_of("removeTimesheetRecord"))

    with opened("ann-pw") as tracker:
        # ann (user 2, Brussels); project 1 Website offers task 1 Development: activity "1-1"
        yield Subject(tracker, 2, 1, "1-1", "Europe/Brussels", dt.date(2026, 6, 10), writes,
                      lambda: opened("ann-pw"), lambda: opened("refused-pw"), _seeder(state, Faults, creates={"rpc_methods": {"setTimesheetRecord"}}), "ann-pw")


# ------------------------------------------------------------------------------ the fake tracker


@contextlib.contextmanager
def fake() -> Iterator[Subject]:
    """tests/fake_tracker.py: in memory, so no faults to seed; its `calls` are its request log, and a
    later run is the same object (its entries live in it)."""
    from fake_tracker import FakeTracker

    users = [TrackerUser(14, "lotte", True, "Europe/Brussels")]

    def writes() -> int:
        return sum(1 for c in tracker.calls if c[0] in ("create", "update"))

    tracker = FakeTracker({14: "lotte-secret"}, users)
    with tracker:
        yield Subject(tracker, 14, 7, 8, "Europe/Brussels", dt.date(2025, 3, 12), writes,
                      lambda: contextlib.nullcontext(tracker),
                      lambda: contextlib.nullcontext(FakeTracker({14: "lotte-secret"}, users, refused={14})),
                      None, "lotte-secret")


# name -> factory(tmp_path); the names are the TRACKER values (the fake tracker's is "fake")
FACTORIES: dict[str, Callable[[Path], contextlib.AbstractContextManager[Subject]]] = {
    "kimai": lambda tmp: kimai2(),
    "egroupware": lambda tmp: egroupware(),
    "timi": timi,
    "kimai1": kimai1,
    "fake": lambda tmp: fake(),
}


def open_subject(name: str, tmp: Path) -> contextlib.AbstractContextManager[Subject]:
    return FACTORIES[name](tmp)


__all__ = ["FACTORIES", "Subject", "open_subject"]
