"""Accounts in the store: every `foaf:OnlineAccount` and which of them a person links to.

Login accounts are read too (their homepage tells them apart, in the plan); only the
predicates the sync manages are read, never passwords or salts. Writes go through
`kimaisync.store.reference.apply_changes` like every other Kimai-derived resource.
"""

from __future__ import annotations

from kimaisync.rdf.vocab import ONLINE_ACCOUNT, RDF_TYPE, iri
from kimaisync.sparql.client import SparqlClient
from kimaisync.store.reference import StoredResource, read_resources, select_all

ACCOUNT_PREDICATES = (
    RDF_TYPE,
    iri("mu:uuid"),
    iri("foaf:accountName"),
    iri("foaf:accountServiceHomepage"),
    iri("dct:identifier"),
)


def read_accounts(client: SparqlClient) -> dict[str, StoredResource]:
    return read_resources(client, [ONLINE_ACCOUNT], ACCOUNT_PREDICATES)


def read_linked_accounts(client: SparqlClient) -> set[str]:
    """IRIs of accounts that some subject links to with `foaf:account` (in practice a person)."""
    rows = select_all(client, "?account", "?holder foaf:account ?account .\n  ?account a foaf:OnlineAccount .")
    return {r["account"].value for r in rows if "account" in r and r["account"].type == "uri"}
