"""Timekeeper data shaped as the real application writes it, for the demo and the tests.

People and their `foaf:account` links live in the users graph, Kimai accounts and tasks in the
kimai graph, work logs and monthly timesheets in the shared timesheet graph. Work-log ids are
24 upper-case hex characters as mu-cl-resources mints them; durations are plain strings
(`PT7H30M`), dates `xsd:date`, Kimai ids plain strings.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid as _uuid
from dataclasses import dataclass, field

from kimaisync.rdf.vocab import TimesheetStatus
from kimaisync.settings import DEFAULT_KIMAI_ACCOUNT_SERVICE_HOMEPAGE, DEFAULT_RESOURCE_BASE_URI, DEFAULT_WORKSPACE_URI
from kimaisync.sparql import escape
from kimaisync.sparql.client import SparqlClient

USERS_GRAPH = "http://mu.semte.ch/graphs/users"
KIMAI_GRAPH = "http://mu.semte.ch/graphs/kimai"
TIMESHEET_GRAPH = "http://mu.semte.ch/graphs/redpencil"


def _s(v: str) -> str:
    return escape.string(v)


@dataclass
class TimekeeperData:
    base: str = DEFAULT_RESOURCE_BASE_URI
    homepage: str = DEFAULT_KIMAI_ACCOUNT_SERVICE_HOMEPAGE
    workspace: str = DEFAULT_WORKSPACE_URI
    triples: dict[str, list[str]] = field(default_factory=lambda: {USERS_GRAPH: [], KIMAI_GRAPH: [], TIMESHEET_GRAPH: []})
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _oid(self) -> str:
        """A mu-cl-resources style id: 24 upper-case hex characters, increasing."""
        return f"67CF165DA3B8E1000A{next(self._counter):06X}"

    def _add(self, graph: str, *lines: str) -> None:
        self.triples[graph].extend(lines)

    def person(self, name: str, kimai_user_id: int | None = None) -> str:
        pid = str(_uuid.uuid4())
        iri = f"{self.base}/persons/{pid}"
        self._add(USERS_GRAPH, f"<{iri}> a foaf:Person ; mu:uuid {_s(pid)} ; foaf:name {_s(name)} .")
        if kimai_user_id is not None:
            self.link_account(iri, self.account(kimai_user_id, name.lower().replace(" ", ".")))
        return iri

    def account(self, kimai_user_id: int, username: str) -> str:
        aid = str(_uuid.uuid1())
        iri = f"{self.base}/accounts/{aid}"
        self._add(KIMAI_GRAPH, f"<{iri}> a foaf:OnlineAccount ; mu:uuid {_s(aid)} ; "
                               f"dct:identifier {_s(str(kimai_user_id))} ; foaf:accountName {_s(username)} ; "
                               f"foaf:accountServiceHomepage <{self.homepage}> .")
        return iri

    def link_account(self, person: str, account: str) -> None:
        self._add(USERS_GRAPH, f"<{person}> foaf:account <{account}> .")

    def project(self, kimai_id: int, name: str) -> str:
        tid = str(_uuid.uuid1())
        iri = f"{self.base}/tasks/{tid}"
        self._add(KIMAI_GRAPH, f"<{iri}> a wf:Task, doap:Project ; mu:uuid {_s(tid)} ; rdfs:label {_s(name)} ; "
                               f"dct:identifier {_s(str(kimai_id))} ; skos:topConceptOf <{self.workspace}> ; "
                               f"skos:inScheme <{self.workspace}> .")
        return iri

    def activity(self, kimai_id: int, project: str | None, name: str) -> str:
        tid = str(_uuid.uuid1())
        iri = f"{self.base}/tasks/{tid}"
        broader = f" ; skos:broader <{project}>" if project else ""
        self._add(KIMAI_GRAPH, f"<{iri}> a wf:Task, ext:KimaiActivity ; mu:uuid {_s(tid)} ; rdfs:label {_s(name)} ; "
                               f"dct:identifier {_s(str(kimai_id))} ; skos:inScheme <{self.workspace}>{broader} .")
        return iri

    def work_log(self, person: str | None, task: str | None, day: dt.date | str, duration: str | None,
                 *, kimai_id: int | None = None, uid: str | None = None) -> str:
        uid = uid or self._oid()
        iri = f"{self.base}/work-logs/{uid}"
        date = day if isinstance(day, str) else day.isoformat()
        parts = [f"<{iri}> a cal:Vevent ; mu:uuid {_s(uid)} ; cal:dtstart {_s(date)}^^xsd:date"]
        if duration is not None:
            parts.append(f"cal:duration {_s(duration)}")
        if task:
            parts.append(f"dct:subject <{task}>")
        if person:
            parts.append(f"prov:wasAssociatedWith <{person}>")
        if kimai_id is not None:
            parts.append(f"dct:identifier {_s(str(kimai_id))}")
        self._add(TIMESHEET_GRAPH, " ; ".join(parts) + " .")
        return iri

    def timesheet(self, person: str, month: dt.date, status: str = TimesheetStatus.SUBMITTED) -> str:
        uid = self._oid()
        iri = f"{self.base}/timesheets/{uid}"
        first = month.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        self._add(TIMESHEET_GRAPH, f"<{iri}> a skos:Collection ; mu:uuid {_s(uid)} ; "
                                   f"time:hasBeginning {escape.date(first)} ; time:hasEnd {escape.date(last)} ; "
                                   f"adms:status <{status}> ; prov:wasAssociatedWith <{person}> .")
        return iri

    def load(self, client: SparqlClient, *, graphs: bool = True) -> None:
        """INSERT DATA everything (in the app's graphs, or the default graph when `graphs` is False)."""
        for graph, lines in self.triples.items():
            if lines:
                client.insert_data(lines, graph=graph if graphs else None, batch=500)
            lines.clear()
