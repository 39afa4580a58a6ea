"""What the tests share besides fixtures: the test graphs, the emulator's API token, a running store."""

from __future__ import annotations

from kimaisync.rdf.graphs import Graphs
from kimaisync.sparql.client import SparqlClient

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


API_TOKEN = "test-token-0123456789abcdef"
