"""`kimai-sync serve`: one process for one machine: every deployment's schedule and the receiver.

The deployments are the same as in prefect.yaml (there for workers on a real engine). The
receiver records each request as a run of its deployment, then executes it here at once
(deployments.run_queue); `serve` itself runs the schedules, and any recorded run this process
did not get to (it died) when it comes due.
"""

from __future__ import annotations

import logging

log = logging.getLogger("kimaisync.serve")

NIGHTLY_ACCOUNTS = "0 1 * * *"
NIGHTLY_REFERENCE = "15 1 * * *"
MONTHLY_LOCK = "0 6 1 * *"


def build_deployments(settings) -> dict:
    """Route name → RunnerDeployment, with cron schedules in the configured time zone."""
    from prefect.schedules import Cron

    from deployments.receiver import flows_by_route
    from flows.accounts import sync_accounts
    from flows.fallback import fallback_work_log_sync
    from flows.reference_data import sync_reference_data
    from kimaisync.settings import cron_for_prefect

    tz = settings.timezone
    flows = flows_by_route()
    deps = {
        "accounts-nightly": sync_accounts.to_deployment(name="accounts-nightly",
                                                        schedules=[Cron(NIGHTLY_ACCOUNTS, timezone=tz)]),
        "reference-nightly": sync_reference_data.to_deployment(name="reference-data-nightly",
                                                               schedules=[Cron(NIGHTLY_REFERENCE, timezone=tz)]),
        "fallback": fallback_work_log_sync.to_deployment(
            name="fallback", schedules=[Cron(cron_for_prefect(settings.fallback_sync_cron), timezone=tz)]),
        "lock": flows["lock"].to_deployment(name="timesheet-lock", schedules=[Cron(MONTHLY_LOCK, timezone=tz,
                                                                                   active=False)]),
        "delta": flows["delta"].to_deployment(name="delta", concurrency_limit=1),
    }
    for name in ("orphan", "customers", "tasks", "accounts", "period"):
        deps.setdefault(name, flows[name].to_deployment(name=name))
    return deps


def run_serve(host: str, port: int) -> int:
    from prefect import serve

    from deployments.receiver import RunningReceiver, flows_by_route
    from deployments.run_queue import RunQueue
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient

    settings = load_settings()
    deps = build_deployments(settings)
    ids = {name: d.apply() for name, d in deps.items()}
    runs = RunQueue(flows_by_route(), {k: v for k, v in ids.items() if k in flows_by_route()})
    receiver = RunningReceiver(runs, SparqlClient.from_settings(settings), host=host, port=port)
    print(f"kimai-sync serve: receiver on {receiver.url}, {len(deps)} deployments; {settings.describe()}",
          flush=True)
    try:
        serve(*deps.values(), print_starting_message=False)
    finally:
        receiver.stop()
    return 0
