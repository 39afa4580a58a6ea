"""Flow: every Kimai user has a Kimai account resource in Timekeeper, with the right username.

Read Kimai's users and the store's accounts (and which ones persons link to) in bulk → plan in
plain code → write in batched updates → report, listing accounts no person links to (their
work logs can never sync). Entry point of `kimai-sync from-kimai` (first step) and of the old
route `POST /sync-from-kimai/accounts`.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from kimaisync.plan.accounts import plan_accounts
from kimaisync.rdf.graphs import Graphs
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.trackers import open_tracker
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report
from tasks.run_state import finish
from tasks.reference import fetch_users, read_account_state, write_changes


@flow(name="kimai-accounts", flow_run_name="accounts from Kimai")
def sync_accounts(dry_run: bool = False) -> dict:
    """Create and update the Kimai accounts (`foaf:OnlineAccount`) from Kimai's users.

    Args:
        dry_run: Plan and report only: write nothing to the triplestore.
    """
    log = get_run_logger()
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    with open_tracker(settings) as tracker:
        users = fetch_users(tracker)
        requests = tracker.requests_made
    log.info("%s: %d users", tracker.title, len(users))
    accounts, linked = read_account_state(sparql)
    report = RunReport(f"{tracker.title} → Timekeeper: accounts", dry_run=dry_run)
    plan = plan_accounts(users, accounts, linked, base_uri=settings.resource_base_uri,
                         homepage=tracker.links.homepage(settings), report=report)
    log.info("plan: %s; %d accounts to write%s", report.summary_line(), len(plan.changes),
             " (dry run: nothing written)" if dry_run else "")
    if plan.changes and not dry_run:
        write_changes(sparql, quote(plan.changes), graphs)
    report.stats.update({f"{tracker.name}_requests": requests}, sparql_queries=sparql.queries, sparql_updates=sparql.updates)
    publish_report(report, key="kimai-accounts")
    for row in report.of("failed"):
        log.error("%s %s failed: %s", row.kind, row.key, row.reason)
    return finish("kimai-accounts", report.summary(), verdict(report))
