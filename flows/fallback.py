"""Flow: the scheduled safety net: the period sync over today −31 to +31 days, computed at run time.

Deltas can be missed (the service was down, or data came in through migrations, which make
none); this run, every two hours by default (`FALLBACK_SYNC_CRON`), catches up with them.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows.worklog_period import sync_work_log_period
from kimaisync.verdict import Verdict
from tasks.run_names import fallback_name
from tasks.run_state import finish, refuse


@flow(name="work-log-fallback-sync", flow_run_name=fallback_name)
def fallback_work_log_sync(days_back: int = 31, days_ahead: int = 31) -> dict:
    """The period sync over the days around today; its verdict is this run's too.

    Args:
        days_back: How many days before today the period starts (0 or more).
        days_ahead: How many days after today the period ends (0 or more).
    """
    if days_back < 0 or days_ahead < 0:
        return refuse("work-log-fallback-sync", f"days_back and days_ahead must be 0 or more, got {days_back} "
                      f"and {days_ahead}")
    today = dt.date.today()
    summary = sync_work_log_period(start=today - dt.timedelta(days=days_back),
                                   end=today + dt.timedelta(days=days_ahead))
    if not isinstance(summary, dict) or "verdict" not in summary:
        return summary
    return finish("work-log-fallback-sync", summary,
                  Verdict(summary["verdict"], summary["needs_look"], summary.get("tags", [])))
