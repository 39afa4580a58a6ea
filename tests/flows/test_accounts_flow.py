"""Kimai users into accounts in real stores (Oxigraph and Virtuoso), and `kimai-sync from-kimai`."""

from __future__ import annotations

import pytest
from testbed import KIMAI_GRAPH, USERS_GRAPH
from test_reference_flow import L, U, triples_of

from kimaisync.trackers.port import TrackerUser
from kimaisync.plan.accounts import ACCOUNT_NAME, HOMEPAGE, UNLINKED, plan_accounts
from kimaisync.plan.reference import IDENTIFIER, UUID
from kimaisync.rdf.vocab import ONLINE_ACCOUNT, RDF_TYPE
from kimaisync.report import CREATED, UNCHANGED, UPDATED, WARNING
from kimaisync.settings import DEFAULT_KIMAI_ACCOUNT_SERVICE_HOMEPAGE as KIMAI_HOME
from kimaisync.settings import DEFAULT_RESOURCE_BASE_URI as BASE
from kimaisync.store.accounts import read_accounts, read_linked_accounts
from kimaisync.store.reference import apply_changes

PERSON = f"{BASE}/persons/075ebea0-c4b7-46ff-8a83-de10ff9f5e6e"
USERS = f"""
<{PERSON}> a foaf:Person ; foaf:name "Lotte Verhaegen" ;
    foaf:account <{BASE}/accounts/login-lotte>, <{BASE}/accounts/legacy-lotte> .
<{BASE}/accounts/login-lotte> a foaf:OnlineAccount ; foaf:accountName "lverhaegen" ;
    foaf:accountServiceHomepage <http://timekeeper.redpencil.io> .
"""
KIMAI = f"""
<{BASE}/accounts/legacy-lotte> a foaf:OnlineAccount ; mu:uuid "legacy-lotte" ; foaf:accountName "lverhaegen" ;
    foaf:accountServiceHomepage <{KIMAI_HOME}> .
<{BASE}/accounts/jan> a foaf:OnlineAccount ; mu:uuid "jan" ; foaf:accountName "jan.old" ; dct:identifier "3" ;
    foaf:accountServiceHomepage <{KIMAI_HOME}> .
"""


def sync(store, users):
    client = store.client()
    plan = plan_accounts(users, read_accounts(client), read_linked_accounts(client), base_uri=BASE, homepage=KIMAI_HOME)
    apply_changes(client, plan.changes, store.graphs, store.graphs.kimai)
    return plan, client


def test_accounts_created_updated_adopted_and_unlinked_reported(store):
    store.load(USERS, graph=USERS_GRAPH)
    store.load(KIMAI, graph=KIMAI_GRAPH)
    users = [TrackerUser(14, "lverhaegen"), TrackerUser(3, "jan"), TrackerUser(5, "new")]
    plan, client = sync(store, users)
    assert (client.queries, client.updates) == (4, 1)
    rows = {r.key: (r.outcome, r.reason) for r in plan.report.rows if r.outcome != WARNING}
    assert rows["14 lverhaegen"][0] == UPDATED and rows["14 lverhaegen"][1].startswith("legacy account")
    assert rows["3 jan"] == (UPDATED, "foaf:accountName")
    assert rows["5 new"][0] == CREATED
    assert (IDENTIFIER, L("14")) in triples_of(store, f"{BASE}/accounts/legacy-lotte")
    assert (ACCOUNT_NAME, L("jan")) in triples_of(store, f"{BASE}/accounts/jan")
    new = rows["5 new"][1]
    assert new.startswith(BASE + "/accounts/")
    assert triples_of(store, new) == {(RDF_TYPE, U(ONLINE_ACCOUNT)), (UUID, L(new.rsplit("/", 1)[1])),
                                      (ACCOUNT_NAME, L("new")), (HOMEPAGE, U(KIMAI_HOME)), (IDENTIFIER, L("5"))}
    assert {r.key for r in plan.report.of(WARNING) if r.reason == UNLINKED} == {"3 jan", "5 new"}
    login = triples_of(store, f"{BASE}/accounts/login-lotte")
    assert not [o for p, o in login if p == IDENTIFIER]  # the login account is not Kimai's

    again, client = sync(store, users)
    assert client.updates == 0 and again.report.counts()[UNCHANGED] == 3


@pytest.mark.prefect
def test_cli_from_kimai_dry_run_then_real_run_with_one_bad_record(sync_env, kimai_state, store, prefect_server,
                                                                    capsys, monkeypatch):
    import logging

    from prefect.artifacts import Artifact

    from kimaisync.cli import main

    # main() calls logging.basicConfig, whose handler would keep capsys's stream after this test.
    monkeypatch.setattr(logging.root, "handlers", list(logging.root.handlers))
    kimai_state.add_user("lverhaegen", timezone="Europe/Brussels")
    c = kimai_state.add_customer("Havenbedrijf", color="#0ea5e9")
    p = kimai_state.add_project("Publicatieplatform", customer=c.id)
    kimai_state.add_activity("General", project=p.id)
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{KIMAI_GRAPH}> {{ ?s ?p ?o }} }}"

    assert main(["from-kimai", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[1/2] accounts (dry run)" in out and "[2/2] customers, projects and activities (dry run)" in out
    assert "would be created account" in out and "would be created project" in out
    assert int(store.client().select(count)[0]["n"]) == 0

    kimai_state.add_project("bad\x00name", customer=c.id)  # cannot be stored: fails alone
    assert main(["from-kimai"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err and "NUL" in captured.out
    kinds = store.client().select("SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE { VALUES ?t { foaf:OnlineAccount "
                                  "prov:Organization doap:Project ext:KimaiActivity } ?s a ?t } GROUP BY ?t")
    assert {r["t"].rsplit("/", 1)[-1].rsplit("#", 1)[-1]: int(r["n"]) for r in kinds} == {
        "OnlineAccount": 2, "Organization": 1, "Project": 1, "KimaiActivity": 1}
    accounts = Artifact.get("kimai-accounts-summary")
    assert accounts is not None and "2 created" in accounts.data

    del kimai_state.projects[max(kimai_state.projects)]
    assert main(["from-kimai", "--only", "accounts"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] accounts" in out and "2 unchanged" in out and "sparql updates: 0" in out
