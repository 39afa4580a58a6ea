"""Kimai-derived resources in the store: read them all in one go, write planned changes in batches.

Reads return one row per (subject, predicate, object) for the resources of the given types,
so a resource with two labels or a mistyped identifier is seen as it is (no OPTIONAL cross
products, no guessing). They never name a graph: Virtuoso and mu-authorization read the union.
Before trusting the rows a count is asked for, because Virtuoso silently truncates results at
`ResultSetMaxRows`; a truncated read would make the sync create duplicates.

Writes are `Change`s planned elsewhere, as typed terms (`Term`); the SPARQL text is written
here and only here. Each request holds whole resources only: first the
predicates to clear (matched in any graph, whatever their datatype), then the new triples, so
sending a request twice gives the same state (Virtuoso does not run multi-operation updates
atomically). Requests stay below about 1,000 triples and 1,000 cleared predicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from kimaisync.errors import SparqlQueryError
from kimaisync.rdf.graphs import Graphs, any_graph, in_graph
from kimaisync.rdf.vocab import RDF_TYPE
from kimaisync.sparql.client import DEFAULT_BATCH_TRIPLES, SparqlClient, Term
from kimaisync.sparql.escape import string, uri


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One subject with the values of the predicates that were read (full IRIs as keys)."""

    uri: str
    values: Mapping[str, frozenset[Term]] = field(default_factory=dict)

    def get(self, predicate: str) -> frozenset[Term]:
        return self.values.get(predicate, frozenset())

    def texts(self, predicate: str) -> set[str]:
        """The lexical values, whatever their term type or datatype."""
        return {t.value for t in self.get(predicate)}

    @property
    def types(self) -> set[str]:
        return {t.value for t in self.get(RDF_TYPE) if t.type == "uri"}


@dataclass(frozen=True, slots=True)
class Change:
    """What to write for one resource: predicates whose values go first, then (predicate, object)
    pairs to add, objects as typed terms."""

    uri: str
    insert: tuple[tuple[str, Term], ...] = ()
    clear: frozenset[str] = frozenset()


def render_term(term: Term) -> str:
    """A stored term as SPARQL text, exactly (datatype and language kept); raises on a bad IRI."""
    if term.type == "uri":
        return uri(term.value)
    if term.type == "bnode":
        return f"_:{term.value}"
    text = string(term.value)
    if term.lang:
        return f"{text}@{term.lang}"
    if term.datatype:
        return f"{text}^^{uri(term.datatype)}"
    return text


def writable(term: Term) -> Term:
    """`term` itself, once it is known to be writable (ValueError / TypeError otherwise: a NUL in a
    text, an IRI with a space), so a planner can fail that one record before anything is sent."""
    render_term(term)
    return term


def triple(subject: str, predicate: str, obj: Term) -> str:
    """One triple line of SPARQL text."""
    return f"{uri(subject)} {uri(predicate)} {render_term(obj)} ."


# ---------------------------------------------------------------------------------- reads


def _values(name: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{name} {{ {' '.join(uri(i) for i in sorted(set(iris)))} }}"


def read_resources(client: SparqlClient, types: Iterable[str], predicates: Iterable[str]) -> dict[str, StoredResource]:
    """Every subject typed one of `types`, with all its values for `predicates`: two requests."""
    where = (f"{_values('type', types)}\n  ?s a ?type .\n  {_values('p', predicates)}\n  ?s ?p ?o .\n"
             "  FILTER(isIRI(?s))")
    rows = select_all(client, "?s ?p ?o", where)
    found: dict[str, dict[str, set[Term]]] = {}
    for row in rows:
        s, p, o = row.get("s"), row.get("p"), row.get("o")
        if s is None or p is None or o is None:
            continue
        found.setdefault(s.value, {}).setdefault(p.value, set()).add(o)
    return {s: StoredResource(s, {p: frozenset(v) for p, v in preds.items()}) for s, preds in found.items()}


def select_all(client: SparqlClient, projection: str, where: str) -> list[dict[str, Term]]:
    """`SELECT DISTINCT projection WHERE {where}`, refusing a result the store cut short."""
    counted = client.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT {projection} WHERE {{\n  {where}\n}} }}")
    expected = int(counted[0]["n"]) if counted and counted[0].get("n", "").isdigit() else None
    rows = client.select_terms(f"SELECT DISTINCT {projection} WHERE {{\n  {where}\n}}")
    if expected is not None and len(rows) < expected:
        raise SparqlQueryError(
            f"the triplestore returned {len(rows)} of {expected} rows: it caps result sets "
            "(Virtuoso: raise ResultSetMaxRows in virtuoso.ini); refusing to sync from a partial read")
    return rows


# ---------------------------------------------------------------------------------- writes


def batches(changes: Iterable[Change], limit: int = DEFAULT_BATCH_TRIPLES) -> Iterator[list[Change]]:
    """Group whole changes so no request exceeds `limit` inserted triples or cleared predicates."""
    batch: list[Change] = []
    ins = clr = 0
    for ch in changes:
        if not ch.insert and not ch.clear:
            continue
        if batch and (ins + len(ch.insert) > limit or clr + len(ch.clear) > limit):
            yield batch
            batch, ins, clr = [], 0, 0
        batch.append(ch)
        ins += len(ch.insert)
        clr += len(ch.clear)
    if batch:
        yield batch


def update_text(batch: list[Change], graphs: Graphs, graph: str | None) -> str:
    """One update request for a batch: clear the listed predicates (any graph), then INSERT DATA."""
    ops = []
    pairs = sorted({(ch.uri, p) for ch in batch for p in ch.clear})
    if pairs:
        pattern = any_graph("?s ?p ?o .", graphs)
        values = "\n    ".join(f"({uri(s)} {uri(p)})" for s, p in pairs)
        ops.append(f"DELETE {{\n{pattern}\n}}\nWHERE {{\n  VALUES (?s ?p) {{\n    {values}\n  }}\n{pattern}\n}}")
    lines = [triple(ch.uri, p, o) for ch in batch for p, o in ch.insert]
    if lines:
        ops.append(f"INSERT DATA {{\n{in_graph(chr(10).join(lines), graph)}\n}}")
    return " ;\n".join(ops)


def apply_changes(client: SparqlClient, changes: Iterable[Change], graphs: Graphs, graph: str | None,
                  *, limit: int = DEFAULT_BATCH_TRIPLES) -> int:
    """Write the changes in batched requests; returns the number of requests sent."""
    sent = 0
    for batch in batches(changes, limit):
        client.update(update_text(batch, graphs, graph))
        sent += 1
    return sent
