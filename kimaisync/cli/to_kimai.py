"""`kimai-sync push START END` (and, as always, `to-kimai`): push the work logs of a period to the
configured tracker (`TRACKER`; Kimai 2 by default) with the period flow."""

from __future__ import annotations

import sys

from kimaisync.cli.common import foreground_run, input_limits, print_summary, settings_or_exit, use_prefect_server


def register(sub) -> None:
    for verb, where, what in (("push", "the configured tracker (TRACKER)", "entries in the tracker"),
                              ("to-kimai", "Kimai", "Kimai timesheets")):  # the old verb: the same run
        p = sub.add_parser(verb, help=f"sync the work logs of a period to {where}",
                           description=f"Creates, updates and deletes {what} so that {where} holds exactly the "
                                       "work logs dated from START to END (inclusive). Exit 1 when any record failed.")
        p.add_argument("start", help="first day, YYYY-MM-DD")
        p.add_argument("end", help="last day, YYYY-MM-DD")
        p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
        p.add_argument("--force", action="store_true", help="delete even when the deletion guard would refuse")
        p.add_argument("--allow-long-period", action="store_true",
                       help="sync a period longer than 400 days (refused without it, as a likely typo)")
        p.add_argument("--report", metavar="FILE.csv", help="write the hours reconciliation table to this CSV file")
        p.set_defaults(run=run)


def write_hours_csv(rows: list[dict], path: str) -> None:
    """The hours reconciliation as CSV (a CLI option: the flow's deployment form has no file to write)."""
    import csv

    from kimaisync.reconcile import COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else COLUMNS, extrasaction="ignore")
        out.writeheader()
        out.writerows(rows)


def run(args) -> int:
    from kimaisync.inputs import InputError, Period, parse

    try:
        period = parse(Period, {"start": args.start, "end": args.end, "allow_long_period": args.allow_long_period},
                       input_limits())
    except InputError as err:
        print(f"kimai-sync {args.verb}: {err}", file=sys.stderr)
        return 2
    settings = settings_or_exit()
    if settings is None:
        return 2
    if not use_prefect_server(settings, "to-kimai"):
        return 1
    from flows.worklog_period import sync_work_log_period

    with foreground_run():
        summary = sync_work_log_period(start=period.start, end=period.end, dry_run=args.dry_run, force=args.force,
                                       allow_long_period=period.allow_long_period)
    if args.report:
        write_hours_csv(summary.get("hours", []), args.report)
    print_summary(summary)
    if summary.get("guard"):
        print(f"deletion guard: {summary['guard']}", file=sys.stderr)
    return 1 if summary["failed"] else 0
