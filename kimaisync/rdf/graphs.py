"""Where writes go: named graphs for a store used directly, none through mu-authorization.

Through mu-authorization (the production path) a write names no graph: the authorization
layer dispatches each triple to the graphs its configuration says. A store used directly
(Virtuoso refuses INSERT DATA without a graph) gets the graphs from `KIMAI_GRAPH` and
`TIMEKEEPER_GRAPH`; deletes then match the triple in whatever graph it sits (`GRAPH ?g`),
so legacy data in another graph is cleaned up too.
"""

from __future__ import annotations

from dataclasses import dataclass

from kimaisync.sparql.escape import uri


@dataclass(frozen=True)
class Graphs:
    kimai: str | None = None
    timekeeper: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "Graphs":
        return cls(settings.kimai_graph, settings.timekeeper_graph)

    @property
    def direct(self) -> bool:
        return bool(self.kimai or self.timekeeper)


def in_graph(body: str, graph: str | None) -> str:
    """Wrap triples for INSERT DATA / INSERT {...}: `GRAPH <g> { body }` or the body itself."""
    return f"GRAPH {uri(graph)} {{\n{body}\n}}" if graph else body


def any_graph(body: str, graphs: Graphs) -> str:
    """Wrap a DELETE template or its WHERE pattern so it matches in any graph (direct stores only)."""
    return f"GRAPH ?g {{\n{body}\n}}" if graphs.direct else body
