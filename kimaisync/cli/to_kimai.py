"""`kimai-sync to-kimai START END`: push the work logs of a period to Kimai (the period flow)."""

from __future__ import annotations

import sys

from kimaisync.cli.common import input_limits, print_summary, settings_or_exit


def register(sub) -> None:
    p = sub.add_parser("to-kimai", help="sync the work logs of a period to Kimai",
                       description="Creates, updates and deletes Kimai timesheets so that Kimai holds exactly the "
                                   "work logs dated from START to END (inclusive). Exit 1 when any record failed.")
    p.add_argument("start", help="first day, YYYY-MM-DD")
    p.add_argument("end", help="last day, YYYY-MM-DD")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--force", action="store_true", help="delete even when the deletion guard would refuse")
    p.add_argument("--allow-long-period", action="store_true",
                   help="sync a period longer than 400 days (refused without it, as a likely typo)")
    p.add_argument("--report", metavar="FILE.csv", help="write the hours reconciliation table to this CSV file")
    p.set_defaults(run=run)


def run(args) -> int:
    from kimaisync.inputs import InputError, Period, parse

    try:
        period = parse(Period, {"start": args.start, "end": args.end, "allow_long_period": args.allow_long_period},
                       input_limits())
    except InputError as err:
        print(f"kimai-sync to-kimai: {err}", file=sys.stderr)
        return 2
    if settings_or_exit() is None:
        return 2
    start, end = period.start, period.end
    from flows.worklog_period import sync_work_log_period

    summary = sync_work_log_period(start=start, end=end, dry_run=args.dry_run, force=args.force,
                                   report_csv=args.report, allow_long_period=period.allow_long_period)
    print_summary(summary)
    if summary.get("guard"):
        print(f"deletion guard: {summary['guard']}", file=sys.stderr)
    return 1 if summary["failed"] else 0
