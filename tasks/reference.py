"""Prefect tasks of the Kimai → Timekeeper syncs (reference data and accounts), one per batch.

A task is a bulk step (one Kimai listing, one store read, all writes), never a record: a task
run costs Prefect time of its own. The clients retry transient failures (kimaisync.retry);
a task is not retried again on top of that.
Big inputs are passed `quote`d so Prefect does not walk them; nothing is cached (inputs hold
clients and a token).
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from kimaisync.plan.reference import REFERENCE_TYPES, reference_predicates
from kimaisync.rdf.graphs import Graphs
from kimaisync.sparql.client import SparqlClient
from kimaisync.store.accounts import read_accounts, read_linked_accounts
from kimaisync.store.reference import Change, StoredResource, apply_changes, read_resources
from kimaisync.trackers.port import ReferenceData, Tracker, TrackerUser


_OPTS = dict(cache_policy=NO_CACHE)


@task(name="kimai-reference-lists", **_OPTS)
def fetch_reference_lists(tracker: Tracker) -> ReferenceData:
    """Customers, projects and activities, hidden ones included (Kimai 2: three requests)."""
    return tracker.reference_data()


@task(name="kimai-users", **_OPTS)
def fetch_users(tracker: Tracker) -> list[TrackerUser]:
    """All the tracker's users, disabled ones included (Kimai 2: one request, a super-admin API user)."""
    return tracker.users()


@task(name="store-reference-read", **_OPTS)
def read_reference_state(sparql: SparqlClient, ref_predicate: str) -> dict[str, StoredResource]:
    """Every customer and task in the store with the values the sync manages."""
    return read_resources(sparql, REFERENCE_TYPES, reference_predicates(ref_predicate))


@task(name="store-accounts-read", **_OPTS)
def read_account_state(sparql: SparqlClient) -> tuple[dict[str, StoredResource], set[str]]:
    """Every online account, and the accounts a person links to."""
    return read_accounts(sparql), read_linked_accounts(sparql)


@task(name="store-write", **_OPTS)
def write_changes(sparql: SparqlClient, changes: list[Change], graphs: Graphs) -> int:
    """All planned changes in batched updates into the Kimai graph (if set); returns requests sent."""
    return apply_changes(sparql, changes, graphs, graphs.kimai)
