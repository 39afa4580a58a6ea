"""Flow: run history has an end. Runs older than RUN_RETENTION_DAYS, their logs and artifacts go.

Prefect keeps every run, log and artifact (names and hours of everyone, in the reconciliation
tables) for as long as its database lives. This flow deletes, through Prefect's API, the flow runs
that ended (completed, failed, cancelled, crashed) before the cut-off, their artifacts, and with
them their task runs and logs (the server removes a deleted run's logs). Runs still scheduled or
under way are never touched (a recorded receiver run is a scheduled one), nor is anything in
Kimai or the triplestore. What it removed, per flow, is its own report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from prefect import flow, get_client, get_run_logger
from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter,
                                            FlowRunFilterEndTime, FlowRunFilterState, FlowRunFilterStateType,
                                            LogFilter, LogFilterFlowRunId)
from prefect.client.schemas.objects import StateType
from prefect.context import FlowRunContext

from tasks.artifacts import publish_table

ENDED = [StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED]
PAGE = 200


def _count_logs(client, ids) -> int:
    n, offset = 0, 0
    while True:
        page = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)), limit=PAGE,
                                offset=offset)
        n += len(page)
        if len(page) < PAGE:
            return n
        offset += PAGE


def _artifacts_of(client, ids) -> list:
    found, offset = [], 0
    while True:
        page = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids)),
                                     limit=PAGE, offset=offset)
        found.extend(page)
        if len(page) < PAGE:
            return found
        offset += PAGE


@flow(name="run-history-retention")
def prune_run_history(retention_days: int | None = None, dry_run: bool = False,
                      as_of: dt.datetime | None = None) -> dict:
    """Delete runs that ended more than `retention_days` before `as_of`, with their logs and artifacts.

    Args:
        retention_days: Keep runs that ended fewer days ago than this; empty: RUN_RETENTION_DAYS; 0 keeps all.
        dry_run: Count what would be deleted and report it; delete nothing.
        as_of: The moment the age is counted from; empty: now.
    """
    log = get_run_logger()
    if retention_days is None:
        from kimaisync.settings import load_settings

        retention_days = load_settings().run_retention_days
    if retention_days < 0:
        raise ValueError(f"retention_days must be 0 (keep everything) or more, got {retention_days}")
    summary = {"retention_days": retention_days, "cutoff": None, "runs": 0, "logs": 0, "artifacts": 0,
               "dry_run": dry_run, "per_flow": []}
    if retention_days == 0:
        log.info("RUN_RETENTION_DAYS=0: every run is kept")
        return summary
    cutoff = (as_of or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=retention_days)
    summary["cutoff"] = cutoff.isoformat(timespec="seconds")
    me = FlowRunContext.get().flow_run.id
    old = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=ENDED)),
                        end_time=FlowRunFilterEndTime(before_=cutoff))
    per_flow: dict[str, Counter] = {}
    flow_names: dict = {}
    offset = 0
    with get_client(sync_client=True) as client:
        while True:
            # Deleting takes a page out of the filter; a dry run pages on past what it counted.
            page = [fr for fr in client.read_flow_runs(flow_run_filter=old, limit=PAGE, offset=offset) if fr.id != me]
            if not page:
                break
            ids = [fr.id for fr in page]
            logs = _count_logs(client, ids)
            artifacts = _artifacts_of(client, ids)
            if not dry_run:
                for artifact in artifacts:
                    client.delete_artifact(artifact.id)
                for fr in page:
                    client.delete_flow_run(fr.id)
            for fr in page:
                if fr.flow_id not in flow_names:
                    flow_names[fr.flow_id] = client.read_flow(fr.flow_id).name
                counts = per_flow.setdefault(flow_names[fr.flow_id], Counter())
                counts["runs"] += 1
                counts["oldest"] = min(counts.get("oldest") or fr.end_time.timestamp(), fr.end_time.timestamp())
            by_run = Counter(a.flow_run_id for a in artifacts)
            for fr in page:
                per_flow[flow_names[fr.flow_id]]["artifacts"] += by_run.get(fr.id, 0)
            summary["runs"] += len(page)
            summary["logs"] += logs
            summary["artifacts"] += len(artifacts)
            if dry_run:
                offset += PAGE
            if len(page) < PAGE - 1:
                break
    summary["per_flow"] = [{"flow": name, "runs": c["runs"], "artifacts": c["artifacts"],
                            "oldest_end": dt.datetime.fromtimestamp(c["oldest"], dt.timezone.utc).date().isoformat()}
                           for name, c in sorted(per_flow.items())]
    verb = "would delete" if dry_run else "deleted"
    log.info("runs ended before %s (%d days): %s %d runs, %d logs, %d artifacts", summary["cutoff"], retention_days,
             verb, summary["runs"], summary["logs"], summary["artifacts"])
    rows = summary["per_flow"] or [{"flow": "(none)", "runs": 0, "artifacts": 0, "oldest_end": ""}]
    publish_table(rows, key="run-history-retention",
                  description=f"Runs ended before {summary['cutoff']} ({retention_days} days): {verb} "
                              f"{summary['runs']} runs, {summary['logs']} logs, {summary['artifacts']} artifacts")
    return summary
