"""Put a run's verdict where an operator looks first: its state message and its tags.

A flow returns `finish(...)`: in its own run, a `Completed` state whose message is the verdict
line (the caller still gets the summary dict: Prefect hands back the state's data), after the
run was tagged (`needs-look`, `skipped`, `hours-differ`, ...). Called as a plain function (a
test's `.fn`), it returns the summary itself. Tagging is one API call; when it fails the run
still completes, with its message.
"""

from __future__ import annotations

import logging

from kimaisync.verdict import Verdict

log = logging.getLogger("kimaisync.flows")


def _own_run(flow_name: str):
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow is None or ctx.flow.name != flow_name or ctx.flow_run is None:
        return None
    return ctx.flow_run


def _with_verdict(summary: dict, v: Verdict) -> dict:
    summary["verdict"] = v.message
    summary["needs_look"] = v.needs_look
    summary["tags"] = list(v.tags)
    return summary


def _update(run, v: Verdict, name: str | None) -> dict:
    changes = {}
    if v.tags:
        changes["tags"] = sorted(set(run.tags) | set(v.tags))
    if name and name != run.name:
        changes["name"] = name
    return changes


def finish(flow_name: str, summary: dict, v: Verdict, *, name: str | None = None):
    """The flow's return value: Completed(message=verdict, data=summary) in its own run, else the
    summary. `name`: a better run name learned while running (one API call with the tags)."""
    summary = _with_verdict(summary, v)
    run = _own_run(flow_name)
    if run is None:
        return summary
    from prefect.states import Completed

    changes = _update(run, v, name)
    if changes:
        try:
            from prefect import get_client

            with get_client(sync_client=True) as client:
                client.update_flow_run(run.id, **changes)
        except Exception as exc:  # noqa: BLE001 - a tag is a convenience; the message still says it
            log.warning("could not tag the run %s: %s", run.name, exc)
    return Completed(message=v.message, data=summary)


async def finish_async(flow_name: str, summary: dict, v: Verdict, *, name: str | None = None):
    """`finish` for an async flow (its client is the loop's own)."""
    summary = _with_verdict(summary, v)
    run = _own_run(flow_name)
    if run is None:
        return summary
    from prefect.states import Completed

    changes = _update(run, v, name)
    if changes:
        try:
            from prefect import get_client

            async with get_client() as client:
                await client.update_flow_run(run.id, **changes)
        except Exception as exc:  # noqa: BLE001 - as above
            log.warning("could not tag the run %s: %s", run.name, exc)
    return Completed(message=v.message, data=summary)


def refuse(flow_name: str, message: str):
    """A run given bad parameters ends Failed with this one line, no traceback (a plain call raises
    ValueError: there is no run to put it on)."""
    if _own_run(flow_name) is None:
        raise ValueError(message)
    from prefect.states import Failed

    return Failed(message=f"refused: {message}")  # the engine logs it: "Finished in state Failed('refused: …')"
