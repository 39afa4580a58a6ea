"""Publish run results where people look: Prefect table and markdown artifacts.

Outside a flow or task run (a plain call, a unit test) there is nowhere to publish to, so these
do nothing rather than start a Prefect server. Reports hold names, ids and reasons only.
"""

from __future__ import annotations

import re
from typing import Any

from kimaisync.report import RunReport


def artifact_key(name: str) -> str:
    """Prefect keys allow lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "report"


def in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_table(rows: list[dict[str, Any]], *, key: str, description: str | None = None) -> bool:
    """A table artifact under `key`; False (and nothing done) outside a run."""
    if not in_run():
        return False
    from prefect.artifacts import create_table_artifact

    # _sync: inside an async flow (the delta flow) these would return a coroutine nobody awaits.
    create_table_artifact(table=rows, key=artifact_key(key), description=description, _sync=True)
    return True


def publish_report(report: RunReport, key: str) -> bool:
    """`<key>`: the table (created, updated, unchanged, warnings with the reason); `<key>-summary`:
    the one-paragraph markdown. False outside a run."""
    if not in_run():
        return False
    from prefect.artifacts import create_markdown_artifact

    publish_table(report.table(), key=key, description=f"{report.title}: what happened to each record, and why")
    create_markdown_artifact(markdown=report.markdown(), key=f"{artifact_key(key)}-summary", description=report.title,
                             _sync=True)
    return True
