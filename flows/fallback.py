"""Flow: the scheduled safety net: the period sync over today −31 to +31 days, computed at run time.

Deltas can be missed (the service was down, or data came in through migrations, which make
none); this run, every two hours by default (`FALLBACK_SYNC_CRON`), catches up with them.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow

from flows.worklog_period import sync_work_log_period


@flow(name="work-log-fallback-sync")
def fallback_work_log_sync(days_back: int = 31, days_ahead: int = 31) -> dict:
    today = dt.date.today()
    return sync_work_log_period(start=today - dt.timedelta(days=days_back), end=today + dt.timedelta(days=days_ahead))
