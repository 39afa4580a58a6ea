"""Work logs in the triplestore: bulk reads for a period or a set of days, and batched writes.

A handful of queries per run, whatever the number of work logs: the work logs of the period
(split into date windows only when a window nears the store's row cap), then the tasks and the
people they name (VALUES batches), then the ids left behind by deleted work logs.

Every link to the tracker goes through the tracker's `Links` (`trackers.port`): the predicate
holding a work log's entry id, the one holding a task's id, the type of a bookable activity and
the homepage of its accounts, so one tracker's ids are never read as another's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable, Iterator

from kimaisync.rdf.graphs import Graphs, any_graph, in_graph
from kimaisync.rdf.vocab import PROJECT, curie
from kimaisync.sparql import escape
from kimaisync.sparql.client import SparqlClient, chunked
from kimaisync.timekeeper import ActivityRef, TimekeeperSnapshot, WorkLog
from kimaisync.trackers.port import Links

ROW_CAP_MARGIN = 9000  # Virtuoso's stock ResultSetMaxRows is 10,000 and truncates silently
VALUES_BATCH = 500


def _work_log_rows(client: SparqlClient, where: str, links: Links) -> list[dict[str, str]]:
    return client.select(f"""
SELECT DISTINCT ?log ?uuid ?date ?duration ?task ?person ?kid WHERE {{
  ?log a cal:Vevent ; cal:dtstart ?date .
  {where}
  OPTIONAL {{ ?log mu:uuid ?uuid }}
  OPTIONAL {{ ?log cal:duration ?duration }}
  OPTIONAL {{ ?log dct:subject ?task }}
  OPTIONAL {{ ?log prov:wasAssociatedWith ?person }}
  OPTIONAL {{ ?log {_p(links.entry_predicate)} ?kid }}
}}""")


def _p(predicate: str) -> str:
    """A predicate as query text: its prefixed name when the prologue has the prefix."""
    name = curie(predicate)
    return name if not name.startswith("<") else escape.uri(predicate)


def _in_window(start: dt.date, end: dt.date) -> str:
    return f"FILTER(?date >= {escape.date(start)} && ?date <= {escape.date(end)})"


def _period_rows(client: SparqlClient, start: dt.date, end: dt.date, links: Links, *,
                 count: int | None = None) -> Iterator[dict[str, str]]:
    """Rows of the window's work logs, one date window after the other (each window's rows can go
    once folded); windows that could near the store's row cap are split first."""
    if count is None:
        found = client.select(f"SELECT (COUNT(DISTINCT ?log) AS ?n) WHERE {{ ?log a cal:Vevent ; cal:dtstart ?date . "
                              f"{_in_window(start, end)} }}")
        count = int(found[0]["n"]) if found else 0
    if count * 1.5 >= ROW_CAP_MARGIN and start < end:  # a row or two per log: split, never truncate
        mid = start + (end - start) // 2
        yield from _period_rows(client, start, mid, links, count=count // 2 + 1)
        yield from _period_rows(client, mid + dt.timedelta(days=1), end, links, count=count // 2 + 1)
        return
    rows = _work_log_rows(client, _in_window(start, end), links)
    if len(rows) >= ROW_CAP_MARGIN and start < end:  # the estimate was off: split after all
        n = len(rows)
        del rows  # not held while the halves are read
        yield from _period_rows(client, start, end, links, count=n)
        return
    yield from rows


_FIELDS = (("uuid", "mu:uuid"), ("date", "cal:dtstart"), ("duration", "cal:duration"),
           ("task", "dct:subject"), ("person", "prov:wasAssociatedWith"), ("kid", "the entry link"))
_REPEATED = frozenset({1, 2, 3, 4})  # date, duration, task, person: shared by many work logs


def _assemble(rows: Iterable[dict[str, str]], keep=lambda d: True) -> list[WorkLog]:
    """One WorkLog per IRI; a field with several values is kept (lowest) and reported as a problem.

    Rows are folded as they arrive. A field holds its one value, and becomes a set only when a
    second value shows up; values many work logs repeat (dates, durations, tasks, people) share
    one string: a period holds tens of thousands of work logs, and most of their values repeat.
    """
    values: dict[str, list] = {}
    shared: dict[str, str] = {}
    share = shared.setdefault
    for r in rows:
        v = values.get(r["log"])
        if v is None:
            v = values[r["log"]] = [None] * len(_FIELDS)
        for i, (key, _) in enumerate(_FIELDS):
            x = r.get(key)
            if x is None:
                continue
            cur = v[i]
            if cur is None:
                v[i] = share(x, x) if i in _REPEATED else x
            elif type(cur) is set:
                cur.add(x)
            elif cur != x:
                v[i] = {cur, x}
    logs = []
    for iri, v in values.items():
        one = [min(x) if type(x) is set else x for x in v[:5]]
        problems = [f"{len(x)} values for {pred}" for x, (_, pred) in zip(v[:5], _FIELDS) if type(x) is set]
        kids = v[5]
        log = WorkLog(iri, one[0], one[1], one[2], one[3], one[4],
                      tuple(sorted(kids)) if type(kids) is set else (kids,) if kids is not None else (),
                      ("work log has " + ", ".join(problems)) if problems else None)
        if keep(log):
            logs.append(log)
    logs.sort(key=lambda l: (l.key, l.uri))
    return logs


def read_work_logs_period(client: SparqlClient, start: dt.date, end: dt.date, links: Links) -> list[WorkLog]:
    """Every work log dated in [start, end] (dates checked again here: Virtuoso compares leniently)."""
    return _assemble(_period_rows(client, start, end, links), keep=lambda l: l.date is None or start <= l.date <= end)


def read_work_logs_by_iri(client: SparqlClient, iris: Iterable[str], links: Links) -> list[WorkLog]:
    rows: list[dict[str, str]] = []
    for batch in chunked(sorted(set(iris)), VALUES_BATCH):
        rows += _work_log_rows(client, "VALUES ?log { " + " ".join(escape.uri(i) for i in batch) + " }", links)
    return _assemble(rows)


def read_work_logs_of_days(client: SparqlClient, days: Iterable[tuple[str, dt.date]], links: Links) -> list[WorkLog]:
    """The work logs of the given (person, date) pairs: what a delta's day layouts touch."""
    pairs = sorted(set(days))
    rows: list[dict[str, str]] = []
    for batch in chunked(pairs, VALUES_BATCH):
        # Persons in VALUES, dates as a window, the exact pairs kept below: Virtuoso fails on a
        # VALUES row that fixes a typed date (SP031 "ssg_print_rvr_fixed_val(): no SPART_VARR_FIXED").
        persons = " ".join(escape.uri(p) for p in sorted({p for p, _ in batch}))
        first, last = min(d for _, d in batch), max(d for _, d in batch)
        rows += _work_log_rows(client, f"?log prov:wasAssociatedWith ?p . VALUES ?p {{ {persons} }} "
                                       f"{_in_window(first, last)}", links)
    wanted = set(pairs)
    return _assemble(rows, keep=lambda l: (l.person, l.date) in wanted)


def read_resolution(client: SparqlClient, logs: list[WorkLog], snap: TimekeeperSnapshot,
                    homepage: str, links: Links) -> None:
    """Fill in the activities and tracker accounts the work logs name (VALUES batches)."""
    t, ref = links.title, _p(links.ref_predicate)
    tasks = sorted({l.task for l in logs if l.task})
    for batch in chunked(tasks, VALUES_BATCH):
        rows = client.select(f"""
SELECT DISTINCT ?task ?type ?aid ?project ?pid ?label WHERE {{
  VALUES ?task {{ {" ".join(escape.uri(t) for t in batch)} }}
  ?task a ?type .
  OPTIONAL {{ ?task {ref} ?aid }}
  OPTIONAL {{ ?task rdfs:label ?label }}
  OPTIONAL {{ ?task skos:broader ?project . ?project a doap:Project ; {ref} ?pid . }}
}}""")
        info: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        for r in rows:
            for k in ("type", "aid", "project", "pid", "label"):
                if k in r:
                    info[r["task"]][k].add(r[k])
        for task, v in info.items():
            aids = {parsed for a in v["aid"] if (parsed := links.parse_id(a)) is not None}
            if links.activity_type not in v["type"]:
                kind = (f"a {t} project, not an activity" if PROJECT in v["type"]
                        else f"not a {t} activity ({curie(links.activity_type)})")
                snap.non_activity_tasks[task] = f"task <{task}> is {kind}"
            elif len(aids) != 1:
                snap.non_activity_tasks[task] = (f"activity <{task}> has {len(aids) or 'no'} {t} ids "
                                                 f"({curie(links.ref_predicate)})")
            else:
                pids = {parsed for p in v["pid"] if (parsed := links.parse_id(p)) is not None}
                pid = next(iter(pids)) if len(pids) == 1 else None
                if len(pids) > 1:
                    snap.non_activity_tasks[task] = f"activity <{task}> has {len(pids)} {t} projects"
                    continue
                snap.activities[task] = ActivityRef(task, next(iter(aids)), pid, min(v["label"], default=None))
        for task in batch:
            if task not in info:
                snap.non_activity_tasks[task] = f"task <{task}> does not exist in the triplestore"
    people = sorted({l.person for l in logs if l.person})
    for batch in chunked(people, VALUES_BATCH):
        rows = client.select(f"""
SELECT DISTINCT ?person ?name ?uid WHERE {{
  VALUES ?person {{ {" ".join(escape.uri(p) for p in batch)} }}
  OPTIONAL {{ ?person foaf:name ?name }}
  OPTIONAL {{ ?person foaf:account ?acc .
             ?acc a foaf:OnlineAccount ; foaf:accountServiceHomepage {escape.uri(homepage)} ;
                  {_p(links.account_id_predicate)} ?uid . }}
}}""")
        for r in rows:
            ids = snap.accounts.setdefault(r["person"], [])
            uid = links.parse_user_id(r.get("uid", ""))
            if uid is not None and uid not in ids:
                ids.append(uid)
            if r.get("name"):
                snap.person_names[r["person"]] = r["name"]


def read_dangling(client: SparqlClient, resource_base: str, links: Links) -> dict[str, list[str]]:
    """Entry ids left on deleted work logs (the resource is gone, its entry link stayed)."""
    prefix = resource_base.rstrip("/") + "/work-logs/"
    rows = client.select(f"""
SELECT DISTINCT ?s ?kid WHERE {{
  ?s {_p(links.entry_predicate)} ?kid .
  FILTER(STRSTARTS(STR(?s), {escape.string(prefix)}))
  FILTER NOT EXISTS {{ ?s a ?type }}
}}""")
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        out[r["s"]].append(r["kid"])
    return dict(out)


def read_snapshot(client: SparqlClient, start: dt.date, end: dt.date, *, homepage: str,
                  resource_base: str, links: Links) -> TimekeeperSnapshot:
    snap = TimekeeperSnapshot(work_logs=read_work_logs_period(client, start, end, links))
    read_resolution(client, snap.work_logs, snap, homepage, links)
    snap.dangling = read_dangling(client, resource_base, links)
    return snap


def claimed_by_live_work_logs(client: SparqlClient, ids: Iterable, uuids: Iterable[str],
                              links: Links) -> tuple[set, set[str]]:
    """Which of these entry ids / marker uuids belong to a work log that still exists (anywhere)."""
    found_ids: set = set()
    found_uuids: set[str] = set()
    for batch in chunked(sorted(set(ids)), VALUES_BATCH):
        rows = client.select("SELECT DISTINCT ?kid WHERE { VALUES ?kid { "
                             + " ".join(escape.string(str(i)) for i in batch)
                             + f" }} ?log a cal:Vevent ; {_p(links.entry_predicate)} ?kid . }}")
        found_ids |= {parsed for r in rows if (parsed := links.parse_id(r["kid"])) is not None}
    for batch in chunked(sorted(set(uuids)), VALUES_BATCH):
        rows = client.select("SELECT DISTINCT ?uuid WHERE { VALUES ?uuid { "
                             + " ".join(escape.string(u) for u in batch)
                             + " } ?log a cal:Vevent ; mu:uuid ?uuid . }")
        found_uuids |= {r["uuid"] for r in rows}
    return found_ids, found_uuids


# ---------------------------------------------------------------------------- writes


def write_entry_ids(client: SparqlClient, ids: dict[str, object], graphs: Graphs, links: Links,
                    batch: int = 500) -> int:
    """Set each work log's entry link to its entry's id (replacing any other); idempotent."""
    n = 0
    pred = _p(links.entry_predicate)
    for chunk in chunked(sorted(ids.items(), key=lambda kv: kv[0]), batch):
        values = " ".join(escape.uri(iri) for iri, _ in chunk)
        triples = "\n".join(f"{escape.uri(iri)} {pred} {escape.string(str(kid))} ." for iri, kid in chunk)
        client.update(
            f"DELETE {{ {any_graph(f'?log {pred} ?old .', graphs)} }}\n"
            f"WHERE {{ VALUES ?log {{ {values} }} {any_graph(f'?log {pred} ?old .', graphs)} }} ;\n"
            f"INSERT DATA {{ {in_graph(triples, graphs.timekeeper)} }}")
        n += len(chunk)
    return n


def clear_entry_ids(client: SparqlClient, iris: Iterable[str], graphs: Graphs, links: Links, batch: int = 500) -> int:
    """Remove the entry link from these (deleted) work logs once their entry is gone."""
    n = 0
    pred = _p(links.entry_predicate)
    for chunk in chunked(sorted(set(iris)), batch):
        values = " ".join(escape.uri(i) for i in chunk)
        client.update(f"DELETE {{ {any_graph(f'?s {pred} ?kid .', graphs)} }}\n"
                      f"WHERE {{ VALUES ?s {{ {values} }} {any_graph(f'?s {pred} ?kid .', graphs)} }}")
        n += len(chunk)
    return n


def read_deleted(client: SparqlClient, iris: Iterable[str], links: Links) -> dict[str, list[str]]:
    """Of these IRIs, the ones that are no longer work logs but still hold an entry link."""
    out: dict[str, list[str]] = defaultdict(list)
    for batch in chunked(sorted(set(iris)), VALUES_BATCH):
        rows = client.select("SELECT DISTINCT ?s ?kid WHERE { VALUES ?s { " + " ".join(escape.uri(i) for i in batch)
                             + f" }} ?s {_p(links.entry_predicate)} ?kid . FILTER NOT EXISTS {{ ?s a cal:Vevent }} }}")
        for r in rows:
            out[r["s"]].append(r["kid"])
    return dict(out)


def persons_of_accounts(client: SparqlClient, user_ids: Iterable, homepage: str, links: Links) -> dict:
    """Tracker user id → the people whose linked account (under `homepage`) has that id."""
    out: dict = defaultdict(set)
    for batch in chunked(sorted(set(user_ids)), VALUES_BATCH):
        rows = client.select(f"""
SELECT DISTINCT ?person ?uid WHERE {{
  VALUES ?uid {{ {" ".join(escape.string(str(u)) for u in batch)} }}
  ?person foaf:account ?acc . ?acc a foaf:OnlineAccount ; foaf:accountServiceHomepage {escape.uri(homepage)} ;
       {_p(links.account_id_predicate)} ?uid .
}}""")
        for r in rows:
            uid = links.parse_user_id(r["uid"])
            if uid is not None:
                out[uid].add(r["person"])
    return dict(out)
