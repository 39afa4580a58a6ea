"""`kimai-sync pull` (and, as always, `from-kimai`): bring accounts, customers, projects and
activities over from the configured tracker (`TRACKER`; Kimai 2 by default).

The order is the old `mu script kimai-sync from-kimai`'s: accounts, then customers, projects and
activities (one flow run, customers planned first so new projects link to new customers). Each
step is a Prefect flow run, so runs and their reports show in Prefect.
"""

from __future__ import annotations

import sys

from kimaisync.cli.common import foreground_run, print_summary, settings_or_exit, use_prefect_server

PARTS = ("accounts", "customers", "tasks")


def register(sub) -> None:
    for verb, where, text in (
            ("pull", "the configured tracker (TRACKER)", "the tracker's"),
            ("from-kimai", "Kimai", "Kimai"),  # the old verb: the same run
    ):
        p = sub.add_parser(verb, help=f"import accounts, customers, projects and activities from {where}",
                           description=f"Creates and updates Timekeeper's {text} accounts, customers, projects and "
                                       f"activities from {where} (nothing is ever deleted). Exit 1 when any record "
                                       "failed.")
        p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
        p.add_argument("--only", action="append", choices=PARTS, metavar="PART",
                       help="run only this part: accounts, customers or tasks (projects and activities); repeatable")
        p.set_defaults(run=run)


def _print_plan(summary: dict) -> None:
    for row in summary.get("rows", []):
        if row["outcome"] in ("created", "updated"):
            print(f"  would be {row['outcome']} {row['kind']:<9} {row['key']}" + (f": {row['reason']}" if row["reason"] else ""))


def run(args) -> int:
    settings = settings_or_exit()
    if settings is None:
        return 2
    if not use_prefect_server(settings, "from-kimai"):
        return 1
    from flows.accounts import sync_accounts
    from flows.reference_data import sync_reference_data

    only = set(args.only or PARTS)
    steps = []
    if "accounts" in only:
        steps.append(("accounts", lambda: sync_accounts(dry_run=args.dry_run)))
    if only & {"customers", "tasks"}:
        label = {frozenset({"customers", "tasks"}): "customers, projects and activities",
                 frozenset({"customers"}): "customers",
                 frozenset({"tasks"}): "projects and activities"}[frozenset(only & {"customers", "tasks"})]
        steps.append((label, lambda: sync_reference_data(dry_run=args.dry_run, customers="customers" in only,
                                                         tasks="tasks" in only)))
    failed = False
    for n, (label, step) in enumerate(steps, 1):
        print(f"[{n}/{len(steps)}] {label}{' (dry run)' if args.dry_run else ''} ...", flush=True)
        with foreground_run():
            summary = step()  # a fatal error (bad token, store unreachable) propagates: main() prints it, exit 1
        if args.dry_run:
            _print_plan(summary)
        print_summary(summary)
        failed = failed or summary["failed"]
    print(f"{args.verb}: " + ("FAILED: some records could not be synced (see above)" if failed else
                            "done" + (" (dry run: nothing written)" if args.dry_run else "")),
          file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
