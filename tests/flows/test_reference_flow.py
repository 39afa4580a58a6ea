"""Kimai customers/projects/activities into real stores (Oxigraph and Virtuoso), and the flow.

The store tests run the flow's steps as plain calls (read → plan → write), so they cost no
Prefect time; a few tests run the real flow against the emulator and the session Prefect server.
"""

from __future__ import annotations

import math
import time

import pytest
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH

from kimaisync.trackers.kimai2 import KimaiActivity, KimaiClient, KimaiCustomer, KimaiProject
from kimaisync.plan.reference import (ATTRIBUTED_TO, BROADER, COLOR, IDENTIFIER, IN_SCHEME, LABEL,
                                      REFERENCE_PREDICATES, REFERENCE_TYPES, TOP_CONCEPT_OF, UUID, plan_reference)
from kimaisync.rdf.graphs import Graphs
from kimaisync.rdf.vocab import KIMAI_ACTIVITY, ORGANIZATION, PROJECT, RDF_TYPE, TASK
from kimaisync.report import CREATED, UNCHANGED, UPDATED, WARNING
from kimaisync.settings import DEFAULT_RESOURCE_BASE_URI as BASE
from kimaisync.settings import DEFAULT_WORKSPACE_URI as WS
from kimaisync.sparql.client import Term
from kimaisync.store.reference import apply_changes, read_resources


def sync(store, customers=(), projects=(), activities=(), *, graphs: Graphs | None = None, **kw):
    """The flow's steps as plain calls, with a fresh client so its request counts are this run's."""
    client = store.client()
    stored = read_resources(client, REFERENCE_TYPES, REFERENCE_PREDICATES)
    plan = plan_reference(customers, projects, activities, stored, base_uri=BASE, workspace_uri=WS, **kw)
    graphs = graphs or store.graphs
    apply_changes(client, plan.changes, graphs, graphs.kimai)
    return plan, client


def subject_with(store, label: str) -> str:
    rows = store.client().select_terms(f'SELECT DISTINCT ?s WHERE {{ ?s rdfs:label ?l FILTER(STR(?l) = "{label}") }}')
    assert len(rows) == 1, (label, rows)
    return rows[0]["s"].value


def triples_of(store, subject: str) -> set[tuple[str, Term]]:
    rows = store.client().select_terms(f"SELECT DISTINCT ?p ?o WHERE {{ <{subject}> ?p ?o }}")
    return {(r["p"].value, r["o"]) for r in rows}


def U(v):  # noqa: N802
    return Term("uri", v)


def L(v):  # noqa: N802
    return Term("literal", v)


def no_duplicates(store) -> None:
    rows = store.client().select("SELECT ?t ?id (COUNT(DISTINCT ?s) AS ?n) WHERE { VALUES ?t { prov:Organization "
                                 "doap:Project ext:KimaiActivity } ?s a ?t ; dct:identifier ?id } GROUP BY ?t ?id "
                                 "HAVING (COUNT(DISTINCT ?s) > 1)")
    assert rows == []


def world():
    customers = [KimaiCustomer(id=31, name="Havenbedrijf", color="#0ea5e9"), KimaiCustomer(id=2, name="Stad")]
    projects = [KimaiProject(id=31, name="Publicatieplatform", customer=31),
                KimaiProject(id=2, name="Website", customer=2, color="#ff0000")]
    activities = [KimaiActivity(id=31, name="General", project=31),
                  KimaiActivity(id=2, name="Design", project=2),
                  KimaiActivity(id=3, name="Meeting", project=None)]
    return customers, projects, activities


# ------------------------------------------------------------------ the model, written exactly


def test_model_written_exactly_with_overlapping_ids_and_colours(store):
    plan, client = sync(store, *world())
    assert client.queries == 2 and client.updates == 1
    cust = subject_with(store, "Havenbedrijf")
    proj = subject_with(store, "Publicatieplatform")
    act = subject_with(store, "General")
    uuid = lambda s: L(s.rsplit("/", 1)[1])  # noqa: E731
    assert cust.startswith(BASE + "/customers/") and proj.startswith(BASE + "/tasks/")
    assert triples_of(store, cust) == {(RDF_TYPE, U(ORGANIZATION)), (UUID, uuid(cust)), (LABEL, L("Havenbedrijf")),
                                       (IDENTIFIER, L("31")), (COLOR, L("#0ea5e9"))}
    assert triples_of(store, proj) == {(RDF_TYPE, U(TASK)), (RDF_TYPE, U(PROJECT)), (UUID, uuid(proj)),
                                       (LABEL, L("Publicatieplatform")), (IDENTIFIER, L("31")),
                                       (TOP_CONCEPT_OF, U(WS)), (IN_SCHEME, U(WS)), (ATTRIBUTED_TO, U(cust)),
                                       (COLOR, L("#0ea5e9"))}  # the customer's colour
    assert triples_of(store, act) == {(RDF_TYPE, U(TASK)), (RDF_TYPE, U(KIMAI_ACTIVITY)), (UUID, uuid(act)),
                                      (LABEL, L("General")), (IDENTIFIER, L("31")), (IN_SCHEME, U(WS)),
                                      (BROADER, U(proj)), (COLOR, L("#0ea5e9"))}  # the project's (inherited)
    design = triples_of(store, subject_with(store, "Design"))
    assert (BROADER, U(subject_with(store, "Website"))) in design and (COLOR, L("#ff0000")) in design
    meeting = triples_of(store, subject_with(store, "Meeting"))
    assert not [o for p, o in meeting if p in (BROADER, COLOR)]
    assert any(r.key == "3 Meeting" and "global activity" in r.reason for r in plan.report.of(WARNING))
    # Everything sits in the Kimai graph.
    n = store.client().select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{KIMAI_GRAPH}> {{ ?s ?p ?o }} }}")[0]["n"]
    assert int(n) == plan.triples == 5 + 4 + 9 + 9 + 8 + 8 + 6
    no_duplicates(store)

    again, client = sync(store, *world())
    assert client.updates == 0 and again.changes == []
    assert again.report.counts()[UNCHANGED] == 7


def test_text_is_stored_exactly_and_renames_update_the_label(store):
    names = ['Quote " and \' apostrophe', "Back\\slash and \\n (not a newline)", "Two\nlines\r\twith tab",
             "Ελληνικά · 日本語 · emoji 🎉", "  spaces  "]
    customers = [KimaiCustomer(id=i, name=n) for i, n in enumerate(names, 1)]
    sync(store, customers)
    rows = store.client().select_terms("SELECT DISTINCT ?l WHERE { ?s a prov:Organization ; rdfs:label ?l }")
    assert sorted(r["l"].value for r in rows) == sorted(names)
    assert {(r["l"].datatype, r["l"].lang) for r in rows} == {(None, None)}
    assert sync(store, customers)[1].updates == 0

    customers[0] = KimaiCustomer(id=1, name="Renamed: «neu»")
    plan, client = sync(store, customers)
    assert [(r.key, r.outcome, r.reason) for r in plan.report.rows if r.outcome != UNCHANGED] == [
        ("1 Renamed: «neu»", UPDATED, "rdfs:label")]
    rows = store.client().select_terms("SELECT DISTINCT ?l WHERE { ?s dct:identifier \"1\" ; rdfs:label ?l }")
    assert [r["l"].value for r in rows] == ["Renamed: «neu»"]
    assert sync(store, customers)[1].updates == 0


def test_project_synced_before_its_customer_gets_the_link_on_the_next_run(store):
    customers, projects, activities = world()
    sync(store, customers, projects, activities, sync_customers=False)  # the old /sync-from-kimai/tasks first
    proj = subject_with(store, "Publicatieplatform")
    assert not [o for p, o in triples_of(store, proj) if p == ATTRIBUTED_TO]
    sync(store, customers, sync_tasks=False)  # then /customers
    plan, _ = sync(store, customers, projects, activities)
    assert (ATTRIBUTED_TO, U(subject_with(store, "Havenbedrijf"))) in triples_of(store, proj)
    assert {r.key for r in plan.report.of(UPDATED)} == {"31 Publicatieplatform", "2 Website"}
    assert sync(store, customers, projects, activities)[1].updates == 0
    no_duplicates(store)


LEGACY = f"""
<{BASE}/customers/c9> a prov:Organization ; mu:uuid "c9" ; rdfs:label "Old name"^^xsd:string ; dct:identifier "9" .
<{BASE}/tasks/p7> a wf:Task ; mu:uuid "p7" ; rdfs:label "P7" ; dct:identifier "7" ;
    skos:topConceptOf <{WS}> ; skos:inScheme <{WS}> ; prov:wasAttributedTo <{BASE}/customers/c9> .
<{BASE}/tasks/a7> a wf:Task ; mu:uuid "a7" ; rdfs:label "A7" ; dct:identifier "7" ; skos:inScheme <{WS}> ;
    skos:broader <{BASE}/tasks/p7> .
<{BASE}/tasks/x8> a wf:Task ; mu:uuid "x8" ; rdfs:label "X8" ; dct:identifier "8" ; skos:inScheme <{WS}> .
"""


def test_legacy_data_is_adopted_not_duplicated(store):
    store.load(LEGACY, graph=TIMEKEEPER_GRAPH)  # legacy sits in another graph than the one we write
    customers = [KimaiCustomer(id=9, name="New name")]
    projects = [KimaiProject(id=7, name="P7", customer=9), KimaiProject(id=8, name="P8", customer=9)]
    activities = [KimaiActivity(id=7, name="A7", project=7), KimaiActivity(id=8, name="A8", project=7)]
    plan, _ = sync(store, customers, projects, activities)
    assert triples_of(store, f"{BASE}/tasks/p7") >= {(RDF_TYPE, U(PROJECT)), (RDF_TYPE, U(TASK))}
    assert (RDF_TYPE, U(KIMAI_ACTIVITY)) in triples_of(store, f"{BASE}/tasks/a7")
    labels = [o for p, o in triples_of(store, f"{BASE}/customers/c9") if p == LABEL]
    assert labels == [L("New name")]  # the xsd:string-typed old label is gone on Virtuoso too
    # x8 could be project 8 or activity 8: neither is created, it is reported.
    assert not [c for c in plan.changes if c.uri.startswith(BASE + "/tasks/") and "/tasks/x8" not in c.uri
                and c.uri not in (f"{BASE}/tasks/p7", f"{BASE}/tasks/a7")]
    assert {"8 P8", "8 A8", f"{BASE}/tasks/x8"} <= {r.key for r in plan.report.of(WARNING)}
    assert sync(store, customers, projects, activities)[1].updates == 0
    no_duplicates(store)


def test_no_graph_clause_without_kimai_graph(oxigraph):
    """Through mu-authorization (KIMAI_GRAPH unset) writes name no graph; Oxigraph puts them in the default graph."""
    plan, client = sync(oxigraph, *world(), graphs=Graphs())
    written = " ".join(f"<{c.uri}>" for c in plan.changes)
    in_default = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?s {{ {written} }} ?s ?p ?o }}"
    in_named = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?s {{ {written} }} GRAPH ?g {{ ?s ?p ?o }} }}"
    assert int(oxigraph.client().select(in_default)[0]["n"]) == plan.triples
    assert int(oxigraph.client().select(in_named)[0]["n"]) == 0 and client.updates == 1
    assert sync(oxigraph, *world(), graphs=Graphs())[1].updates == 0


# ------------------------------------------------------------------ volume: bounded round trips


def test_2000_projects_and_10000_activities_with_bounded_requests(store, kimai_state, kimai):
    for c in range(1, 21):
        kimai_state.add_customer(f"Customer {c}", color=f"#{c:06x}")
    for p in range(1, 2001):
        kimai_state.add_project(f"Project {p}", customer=(p % 20) + 1)
    for a in range(1, 10001):
        kimai_state.add_activity(f"Activity {a}", project=(a % 2000) + 1)
    t0 = time.perf_counter()
    with KimaiClient(kimai.url, API_TOKEN) as client:
        customers, projects, activities = client.customers(), client.projects(), client.activities()
        assert client.requests_made == 3
    t1 = time.perf_counter()
    plan, sparql = sync(store, customers, projects, activities)
    t2 = time.perf_counter()
    assert plan.report.counts()[CREATED] == 20 + 2000 + 10000
    bound = math.ceil(plan.triples / 990)  # whole resources per request, at most 1,000 triples each
    assert sparql.queries == 2 and sparql.updates <= bound and sparql.updates < 120
    again, sparql2 = sync(store, customers, projects, activities)
    t3 = time.perf_counter()
    assert again.changes == [] and (sparql2.queries, sparql2.updates) == (2, 0)
    print(f"\n[{store.name}] {plan.triples} triples: first run {sparql.queries} queries + {sparql.updates} updates "
          f"in {t2 - t1:.1f}s (Kimai lists {t1 - t0:.1f}s); rerun {sparql2.queries} queries, 0 updates, "
          f"{t3 - t2:.1f}s")
    no_duplicates(store)


# ------------------------------------------------------------------ the flow (Prefect)


def test_report_publishing_is_a_no_op_outside_a_run():
    from kimaisync.report import RunReport
    from tasks.artifacts import artifact_key, publish_report

    report = RunReport("Kimai → Timekeeper: customers")
    report.add("customer", "1 C", CREATED)
    report.add("customer", "2 D", UNCHANGED)
    assert publish_report(report, key="kimai-customers") is False
    assert artifact_key("Kimai Reference_Data!") == "kimai-reference-data"
    assert report.table() == [{"kind": "customer", "key": "1 C", "outcome": CREATED, "reason": ""},
                              {"kind": "customer", "key": "1 record", "outcome": UNCHANGED, "reason": ""}]
    assert "customer: 1 created, 1 unchanged." in report.markdown()


def test_a_long_table_artifact_is_capped_and_says_how_many_rows_it_left_out():
    from tasks.artifacts import capped

    rows = [{"person": f"P{i}", "status": "ok"} for i in range(5)]
    assert capped(rows, 5) == rows
    assert capped(rows, 3) == rows[:3] + [{"person": "... 2 more rows not shown", "status": ""}]


@pytest.mark.prefect
def test_flow_end_to_end_with_emulator_rerun_and_dry_run(sync_env, kimai_state, store, prefect_server):
    from prefect.artifacts import Artifact

    from flows.reference_data import sync_reference_data

    c = kimai_state.add_customer("Havenbedrijf", color="#0ea5e9")
    hidden_c = kimai_state.add_customer("Hidden customer", visible=False)
    p = kimai_state.add_project("Publicatieplatform", customer=c.id)
    kimai_state.add_project("Not shown", customer=hidden_c.id)
    kimai_state.add_activity("General", project=p.id)
    kimai_state.add_activity("Meeting")
    first = sync_reference_data()
    assert first["counts"]["created"] == 4 and not first["failed"]
    assert first["stats"]["sparql_queries"] == 2 and first["stats"]["sparql_updates"] == 1
    assert first["stats"]["kimai_requests"] == 3
    table = Artifact.get("kimai-reference-data")
    summary = Artifact.get("kimai-reference-data-summary")
    assert table is not None and summary is not None
    assert "project: 1 created" in summary.data and API_TOKEN not in summary.data + str(table.data)

    second = sync_reference_data()
    assert second["stats"]["sparql_updates"] == 0 and second["counts"]["unchanged"] == 4

    kimai_state.projects[p.id].name = "Renamed"
    dry = sync_reference_data(dry_run=True)
    assert dry["dry_run"] and dry["stats"]["sparql_updates"] == 0
    assert [(r["key"], r["outcome"]) for r in dry["rows"] if r["outcome"] == "updated"] == [(f"{p.id} Renamed", "updated")]
    assert subject_with(store, "Publicatieplatform")
    only_tasks = sync_reference_data(customers=False)
    assert only_tasks["stats"]["sparql_updates"] == 1 and "customer" not in only_tasks["by_kind"]
    assert subject_with(store, "Renamed")


@pytest.mark.prefect
def test_flow_fails_at_once_on_a_bad_token_or_an_unreachable_store(oxigraph, kimai, monkeypatch, prefect_server):
    from flows.reference_data import sync_reference_data
    from kimaisync.errors import KimaiAuthError, SparqlUnavailableError
    from kimaisync.triplestores import free_port

    env = {"API_TOKEN": "wrong-token", "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
           "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    t0 = time.perf_counter()
    with pytest.raises(KimaiAuthError, match="401"):
        sync_reference_data()
    assert time.perf_counter() - t0 < 10
    assert len([r for r in kimai.state.requests if r.status == 401]) == 1  # not retried

    monkeypatch.setenv("API_TOKEN", API_TOKEN)
    monkeypatch.setenv("MU_SPARQL_ENDPOINT", f"http://127.0.0.1:{free_port()}/sparql")
    monkeypatch.delenv("MU_SPARQL_UPDATE_ENDPOINT")
    t0 = time.perf_counter()
    with pytest.raises(SparqlUnavailableError, match="cannot reach the triplestore"):
        sync_reference_data()
    assert time.perf_counter() - t0 < 15  # the client's own short retries only, no task retries on top
