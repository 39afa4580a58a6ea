"""Shared fixtures: real triplestores (Oxigraph and Virtuoso) and the Kimai emulator.

Servers bind 127.0.0.1 on free ports, start once per session and are stopped by PID at the
end. Tests whose behaviour depends on the store take the `store` fixture and run on both;
Virtuoso tests skip with a one-line reason where it is not installed.
"""

from __future__ import annotations

import os

import pytest

from kimaisync.rdf.graphs import Graphs
from kimaisync.sparql.client import SparqlClient
from kimaisync.triplestores import OxigraphServer, VirtuosoServer, virtuoso_available

# Keep an accidental Prefect API call from silently starting a server in unit tests.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

KIMAI_GRAPH = "http://mu.semte.ch/graphs/kimai"
TIMEKEEPER_GRAPH = "http://mu.semte.ch/graphs/redpencil"
USERS_GRAPH = "http://mu.semte.ch/graphs/users"
TEST_GRAPHS = (KIMAI_GRAPH, TIMEKEEPER_GRAPH, USERS_GRAPH, "http://mu.semte.ch/graphs/public")


class Store:
    """A running store plus a client, cleaned between tests."""

    def __init__(self, name: str, server):
        self.name = name
        self.server = server
        self.query_url = server.query_url
        self.update_url = server.update_url
        self.graphs = Graphs(KIMAI_GRAPH, TIMEKEEPER_GRAPH)

    def client(self, **kw) -> SparqlClient:
        return SparqlClient(self.query_url, self.update_url, timeout=kw.pop("timeout", 30), **kw)

    def clear(self) -> None:
        c = self.client()
        c.update(" ;\n".join(f"CLEAR SILENT GRAPH <{g}>" for g in TEST_GRAPHS))
        if self.name == "oxigraph":
            c.update("CLEAR SILENT DEFAULT")

    def load(self, triples: str, graph: str = TIMEKEEPER_GRAPH) -> None:
        """INSERT DATA the given triple text (prefixes of the common prologue may be used)."""
        self.client().update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{triples}\n}} }}")


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
