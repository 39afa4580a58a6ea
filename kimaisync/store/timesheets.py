"""Monthly timesheets in the triplestore: read a month's, and lock one in a single update.

A lock is one SPARQL operation (one DELETE/INSERT), never several joined by `;`: Virtuoso does
not run a multi-operation request atomically, and a crash must never leave half a lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kimaisync.rdf.graphs import Graphs, any_graph, in_graph
from kimaisync.rdf.vocab import TimesheetStatus
from kimaisync.sparql import escape
from kimaisync.sparql.client import SparqlClient


@dataclass(frozen=True)
class MonthSheet:
    uri: str
    status: str | None
    person: str | None
    person_name: str | None
    members: frozenset[str] = frozenset()


def read_month(client: SparqlClient, first_day: dt.date) -> list[MonthSheet]:
    """Every timesheet whose time:hasBeginning is exactly the month's first day (as the old service)."""
    rows = client.select(f"""
SELECT DISTINCT ?sheet ?status ?person ?name ?member WHERE {{
  ?sheet a skos:Collection ; time:hasBeginning {escape.date(first_day)} .
  OPTIONAL {{ ?sheet adms:status ?status }}
  OPTIONAL {{ ?sheet prov:wasAssociatedWith ?person . OPTIONAL {{ ?person foaf:name ?name }} }}
  OPTIONAL {{ ?sheet skos:member ?member }}
}}""")
    sheets: dict[str, dict] = {}
    for r in rows:
        s = sheets.setdefault(r["sheet"], {"status": set(), "person": set(), "name": set(), "member": set()})
        for k in ("status", "person", "name", "member"):
            if k in r:
                s[k].add(r[k])
    out = []
    for uri, s in sorted(sheets.items()):
        out.append(MonthSheet(uri, min(s["status"], default=None), min(s["person"], default=None),
                              min(s["name"], default=None), frozenset(s["member"])))
    return out


def lock_update(sheet: str, work_logs: list[str], graphs: Graphs) -> str:
    """One operation: each work log leaves its earlier timesheet, joins this one; status EXPORTED."""
    s = escape.uri(sheet)
    exported = escape.uri(TimesheetStatus.EXPORTED)
    if not work_logs:
        return (f"DELETE {{ {any_graph(f'{s} adms:status ?st .', graphs)} }}\n"
                f"INSERT {{ {in_graph(f'{s} adms:status {exported} .', graphs.timekeeper)} }}\n"
                f"WHERE {{ OPTIONAL {{ {any_graph(f'{s} adms:status ?st .', graphs)} }} }}")
    values = " ".join(escape.uri(w) for w in sorted(set(work_logs)))
    member = any_graph("?old skos:member ?log .", graphs).replace("?g", "?g1")
    status = any_graph(f"{s} adms:status ?st .", graphs).replace("?g", "?g2")
    return (f"DELETE {{ {member}\n {status} }}\n"
            f"INSERT {{ {in_graph(f'{s} skos:member ?log . {s} adms:status {exported} .', graphs.timekeeper)} }}\n"
            f"WHERE {{ VALUES ?log {{ {values} }}\n OPTIONAL {{ {member} }}\n OPTIONAL {{ {status} }} }}")


def lock(client: SparqlClient, sheet: str, work_logs: list[str], graphs: Graphs) -> None:
    client.update(lock_update(sheet, work_logs, graphs))
