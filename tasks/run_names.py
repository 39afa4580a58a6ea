"""Run names that say what a run did, for the runs list (`flow_run_name` callables).

`period 2026-06-01..2026-06-30`, `lock 2026-06`, `delta: 3 work logs` (renamed at its end to
`delta: 3 work logs of 1 person`), `orphan timesheet 42`. They read the run's parameters from
`prefect.runtime`; a parameter that is missing or odd gives a plainer name, never an error
(a name must not stop a run: the flow refuses bad values itself, in one line).
"""

from __future__ import annotations

import datetime as dt


def _params() -> dict:
    from prefect.runtime import flow_run

    try:
        return dict(flow_run.parameters or {})
    except Exception:  # noqa: BLE001 - no run context: a plain name
        return {}


def _dry(p: dict) -> str:
    return " (dry run)" if p.get("dry_run") else ""


def period_name() -> str:
    p = _params()
    return f"period {p.get('start', '?')}..{p.get('end', '?')}" + _dry(p)


def fallback_name() -> str:
    p = _params()
    today = dt.date.today()
    try:
        start = today - dt.timedelta(days=int(p.get("days_back", 31)))
        end = today + dt.timedelta(days=int(p.get("days_ahead", 31)))
    except (TypeError, ValueError, OverflowError):
        return "fallback"
    return f"fallback {start}..{end}"


def lock_name() -> str:
    p = _params()
    month, year = p.get("month"), p.get("year")
    if month is None and year is None:
        last = dt.date.today().replace(day=1) - dt.timedelta(days=1)
        month, year = last.month, last.year
    try:
        return f"lock {int(year):04d}-{int(month):02d}" + _dry(p)
    except (TypeError, ValueError):
        return f"lock {year}-{month}" + _dry(p)


def delta_words(work_logs: int, people: int | None = None) -> str:
    s = f"delta: {work_logs} work log{'s' if work_logs != 1 else ''}"
    if people:
        s += f" of {people} {'person' if people == 1 else 'people'}"
    return s


def delta_name() -> str:
    p = _params()
    logs = p.get("work_logs") or []
    n = len(set(logs)) if isinstance(logs, (list, tuple, set)) else 0
    return delta_words(n) + _dry(p)


def orphan_name() -> str:
    return f"orphan timesheet {_params().get('kimai_id', '?')}"
