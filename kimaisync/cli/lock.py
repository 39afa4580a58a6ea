"""`kimai-sync lock-timesheets MONTH YEAR`: lock a month's submitted timesheets."""

from __future__ import annotations

import sys

from kimaisync.cli.common import foreground_run, input_limits, print_summary, settings_or_exit, use_prefect_server


def register(sub) -> None:
    p = sub.add_parser("lock-timesheets", help="lock a month's submitted timesheets",
                       description="Syncs each submitting person's work logs of the month to Kimai, then sets their "
                                   "SUBMITTED timesheet to EXPORTED and links its work logs. Exit 1 when a submitted "
                                   "timesheet could not be locked.")
    p.add_argument("month", help="1-12")
    p.add_argument("year", help="four digits, e.g. 2025")
    p.add_argument("--force", action="store_true", help="lock even when work logs are not in Kimai")
    p.add_argument("--dry-run", action="store_true", help="say what would happen, write nothing")
    p.set_defaults(run=run)


def run(args) -> int:
    from kimaisync.inputs import InputError, LockMonth, parse

    try:
        chosen = parse(LockMonth, {"month": args.month, "year": args.year}, input_limits())
    except InputError as err:
        print(f"kimai-sync lock-timesheets: {err}", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    if settings is None:
        return 2
    if not use_prefect_server(settings, "lock-timesheets"):
        return 1
    from flows.timesheet_lock import lock_timesheets

    month, year = chosen.month, chosen.year
    with foreground_run():
        summary = lock_timesheets(month=month, year=year, force=args.force, dry_run=args.dry_run)
    print_summary(summary)
    for row in summary["people"]:
        tk = "not read" if row["timekeeper_hours"] is None else f"{row['timekeeper_hours']} h"
        print(f"  {row['person']}: {row['status']}, {row['work_logs_linked']} linked, "
              f"{tk} in Timekeeper / {row['kimai_hours']} h in Kimai"
              + (f"; {row['blockers']}" if row["blockers"] else ""))
    return 1 if summary["not_locked"] or summary["failed"] else 0
