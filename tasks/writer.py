"""The work-log writer lock as the flows hold it: from their reads to their last write.

Every run that creates Kimai timesheets for work logs (period and fallback, delta, timesheet
lock) holds it, so no two of them both create one for a new work log. Which lock it is comes
from the settings: the machine's file lock in Prefect's home, or the PostgreSQL one when
WRITER_LOCK_DATABASE_URL is set (kimaisync.writer_lock). A dry run writes nothing and takes none.
"""

from __future__ import annotations

from prefect.settings import get_current_settings

from kimaisync.settings import Settings
from kimaisync.writer_lock import one_work_log_writer, one_work_log_writer_async


def work_log_writer(settings: Settings, *, dry_run: bool):
    return one_work_log_writer(get_current_settings().home, database_url=settings.writer_lock_dsn,
                               enabled=not dry_run)


def work_log_writer_async(settings: Settings, *, dry_run: bool):
    return one_work_log_writer_async(get_current_settings().home, database_url=settings.writer_lock_dsn,
                                     enabled=not dry_run)
