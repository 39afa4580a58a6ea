"""Shared fixtures: real triplestores (Oxigraph and Virtuoso) and the Kimai emulator.

Servers bind 127.0.0.1 on free ports, start once per session and are stopped by PID at the
end. Tests whose behaviour depends on the store take the `store` fixture and run on both;
Virtuoso tests skip with a one-line reason where it is not installed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from kimaisync.triplestores import OxigraphServer, VirtuosoServer, virtuoso_available
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH, Store

# Each pytest-xdist worker inherits the values the controller set below: a worker takes its own.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("PREFECT_HOME", "PREFECT_SERVER_API_PORT"):
        os.environ.pop(_name, None)
# Prefect writes into PREFECT_HOME: keep the tests' runs, results and logs out of the user's home.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="kimaisync-test-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
# The CLI verbs use a Prefect server that answers on this machine's PREFECT_SERVER_API_PORT (4200 by
# default): a port nothing listens on keeps the tests off a server someone runs here.
if "PREFECT_SERVER_API_PORT" not in os.environ:
    from kimaisync.triplestores import free_port as _free_port

    os.environ["PREFECT_SERVER_API_PORT"] = str(_free_port())

@pytest.fixture(scope="session")
def oxigraph_server():
    with OxigraphServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def virtuoso_server():
    reason = virtuoso_available()
    if reason:
        pytest.skip(reason)
    with VirtuosoServer() as srv:
        yield srv


@pytest.fixture(params=["oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso)])
def store(request) -> Store:
    server = request.getfixturevalue(f"{request.param}_server")
    s = Store(request.param, server)
    s.clear()
    return s


@pytest.fixture
def oxigraph(oxigraph_server) -> Store:
    s = Store("oxigraph", oxigraph_server)
    s.clear()
    return s


@pytest.fixture(scope="session")
def prefect_server():
    """One Prefect test server for the session (about 12 s to start); flows called directly use it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL cluster on 127.0.0.1 (user and database `prefect`, no password); `.url`."""
    from pathlib import Path

    from scale_out_helpers import PostgresCluster, postgres_unavailable

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="kimaisync-test-pg-"))
    cluster = PostgresCluster(root / "pg")
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        import shutil
        shutil.rmtree(root, ignore_errors=True)




@pytest.fixture
def kimai_state():
    """An empty emulator state with a super-admin API user whose token is API_TOKEN."""
    from emulators.kimai2.state import KimaiState

    state = KimaiState()
    state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=API_TOKEN, timezone="Europe/Brussels")
    return state


@pytest.fixture
def kimai(kimai_state):
    """The emulator serving `kimai_state` on 127.0.0.1; `.url` ends with /api."""
    from emulators.kimai2.server import EmulatorServer

    with EmulatorServer(kimai_state) as srv:
        yield srv


@pytest.fixture
def sync_env(monkeypatch, kimai, store):
    """Environment pointing the sync at the emulator and the store (with named graphs)."""
    values = {
        "API_TOKEN": API_TOKEN,
        "KIMAI_ENDPOINT": kimai.url,
        "MU_SPARQL_ENDPOINT": store.query_url,
        "MU_SPARQL_UPDATE_ENDPOINT": store.update_url,
        "KIMAI_GRAPH": KIMAI_GRAPH,
        "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH,
        "TIMEZONE": "Europe/Brussels",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


# Markers follow from what a test uses, so `-m "not slow"` is a true fast subset (see `make check`):
# a fixture that starts a server, or a folder whose tests all start one, marks the test.
FIXTURE_MARKERS = {
    "prefect_server": ("prefect", "slow"),
    "virtuoso_server": ("virtuoso", "slow"),
    "oxigraph_server": ("slow",),
    "postgres": ("postgres", "slow"),
}
SLOW_FOLDERS = ("store", "flows", "service")
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(item.fixturenames)
        marks: set[str] = set()
        for fixture, implied in FIXTURE_MARKERS.items():
            if fixture in names:
                marks.update(implied)
        if "store" in names:  # parametrized over both stores; the Virtuoso case carries its own mark
            marks.add("slow")
        folder = Path(str(item.fspath)).relative_to(TESTS).parts[0]
        if folder in SLOW_FOLDERS:
            marks.add("slow")
        for mark in sorted(marks):
            item.add_marker(mark)
        if item.get_closest_marker("scale_out") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(900))
