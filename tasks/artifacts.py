"""Publish run results where people look: Prefect table and markdown artifacts.

Outside a flow or task run (a plain call, a unit test) there is nowhere to publish to, so these
do nothing rather than start a Prefect server. Reports hold names, ids and reasons only.
"""

from __future__ import annotations

import re
from typing import Any

from kimaisync.report import RunReport
from tasks.compat import now


def artifact_key(name: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "report"


def in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


TABLE_LIMIT = 2000  # rows in one table artifact: Prefect drops an event over ~1.5 MB, and nobody reads more


def capped(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The first `limit` rows, and a last one saying how many more there were."""
    if len(rows) <= limit:
        return rows
    more = len(rows) - limit
    return rows[:limit] + [{k: (f"... {more} more rows not shown" if i == 0 else "") for i, k in enumerate(rows[0])}]


def publish_table(rows: list[dict[str, Any]], *, key: str, description: str | None = None,
                  limit: int = TABLE_LIMIT) -> bool:
    """A table artifact under `key`, its first `limit` rows (a last row says how many more there
    were); False (and nothing done) outside a run."""
    if not in_run():
        return False
    from prefect.artifacts import create_table_artifact

    rows = capped(rows, limit)

    now(create_table_artifact, table=rows, key=artifact_key(key), description=description)
    return True


def publish_report(report: RunReport, key: str) -> bool:
    """`<key>`: the table (created, updated, unchanged, warnings with the reason); `<key>-summary`:
    the one-paragraph markdown. False outside a run."""
    if not in_run():
        return False
    from prefect.artifacts import create_markdown_artifact

    publish_table(report.table(), key=key, description=f"{report.title}: what happened to each record, and why")
    now(create_markdown_artifact, markdown=report.markdown(), key=f"{artifact_key(key)}-summary",
        description=report.title)
    return True
