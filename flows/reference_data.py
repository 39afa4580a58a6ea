"""Flow: Timekeeper's customers, projects and activities follow Kimai's.

Read Kimai's three lists and the store's customers and tasks in bulk → plan in plain code →
write in batched updates → report. Entry point of `kimai-sync from-kimai` (with the accounts
flow) and, through its switches, of the old routes: `POST /sync-from-kimai/customers` is
`customers=True, tasks=False`, `POST /sync-from-kimai/tasks` is `customers=False, tasks=True`.
Customers are planned before tasks in the same run, so projects link to customers created by it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote

from kimaisync.plan.reference import plan_reference
from kimaisync.rdf.graphs import Graphs
from kimaisync.report import RunReport
from kimaisync.settings import load_settings
from kimaisync.sparql.client import SparqlClient
from kimaisync.trackers import open_tracker
from kimaisync.verdict import verdict
from tasks.artifacts import publish_report
from tasks.run_state import finish
from tasks.reference import fetch_reference_lists, read_reference_state, write_changes


@flow(name="kimai-reference-data", flow_run_name="customers, projects, activities from Kimai")
def sync_reference_data(dry_run: bool = False, customers: bool = True, tasks: bool = True) -> dict:
    """Sync Kimai customers (`customers`) and projects + activities (`tasks`) into the store.

    Args:
        dry_run: Plan and report only: write nothing to the triplestore.
        customers: Sync Kimai's customers.
        tasks: Sync Kimai's projects and activities (the tasks work logs are booked on).
    """
    return _run(dry_run=dry_run, customers=customers, tasks=tasks, flow_name="kimai-reference-data")


@flow(name="kimai-customers", flow_run_name="customers from Kimai")
def sync_customers(dry_run: bool = False) -> dict:
    """Customers only (the old `POST /sync-from-kimai/customers`).

    Args:
        dry_run: Plan and report only: write nothing to the triplestore.
    """
    return _run(dry_run=dry_run, customers=True, tasks=False, flow_name="kimai-customers")


@flow(name="kimai-tasks", flow_run_name="projects, activities from Kimai")
def sync_tasks(dry_run: bool = False) -> dict:
    """Projects and activities only (the old `POST /sync-from-kimai/tasks`).

    Args:
        dry_run: Plan and report only: write nothing to the triplestore.
    """
    return _run(dry_run=dry_run, customers=False, tasks=True, flow_name="kimai-tasks")


def _run(*, dry_run: bool, customers: bool, tasks: bool, flow_name: str = "") -> dict:
    """The body shared by the three flows (runs inside whichever of them was called)."""
    log = get_run_logger()
    settings = load_settings()
    graphs = Graphs.from_settings(settings)
    sparql = SparqlClient.from_settings(settings)
    what = ", ".join(w for w, on in (("customers", customers), ("projects", tasks), ("activities", tasks)) if on)
    with open_tracker(settings) as tracker:
        lists = fetch_reference_lists(tracker)
        requests = tracker.requests_made
    links = tracker.links
    log.info("%s: %d customers, %d projects, %d activities", tracker.title, len(lists.customers),
             len(lists.projects), len(lists.activities))
    stored = read_reference_state(sparql, links.ref_predicate)
    report = RunReport(f"{tracker.title} → Timekeeper: {what or 'nothing'}", dry_run=dry_run)
    if not (lists.customers or lists.projects or lists.activities):
        # A tracker without reference lists (EGroupware's API has none): nothing to compare, and
        # every Timekeeper task is not "gone from the tracker". Kept as it is, said once.
        report.add("tracker", "reference data", "warning", f"{tracker.title} lists no customers, projects or "
                   "activities: nothing to pull; Timekeeper's are kept as they are")
        report.stats.update({f"{tracker.name}_requests": requests}, sparql_queries=sparql.queries,
                            sparql_updates=sparql.updates)
        publish_report(report, key="kimai-" + ("reference-data" if customers and tasks else "customers" if customers
                                              else "tasks"))
        return finish(flow_name, report.summary(), verdict(report))
    plan = plan_reference(lists.customers, lists.projects, lists.activities, stored,
                          base_uri=settings.resource_base_uri, workspace_uri=settings.workspace_uri,
                          sync_customers=customers, sync_tasks=tasks, report=report,
                          ref_predicate=links.ref_predicate, activity_type=links.activity_type, tracker=tracker.title)
    log.info("plan: %s; %d resources to write (%d triples)%s", report.summary_line(), len(plan.changes),
             plan.triples, " (dry run: nothing written)" if dry_run else "")
    if plan.changes and not dry_run:
        write_changes(sparql, quote(plan.changes), graphs)
    report.stats.update({f"{tracker.name}_requests": requests}, sparql_queries=sparql.queries, sparql_updates=sparql.updates)
    publish_report(report, key="kimai-" + ("reference-data" if customers and tasks else "customers" if customers else "tasks"))
    for row in report.of("failed"):
        log.error("%s %s failed: %s", row.kind, row.key, row.reason)
    return finish(flow_name, report.summary(), verdict(report))

