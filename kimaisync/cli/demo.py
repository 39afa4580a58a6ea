"""`kimai-sync demo`: everything on this machine with embedded defaults (see deployments/demo.py)."""

from __future__ import annotations


# The other trackers' demos (Kimai 2's is deployments.demo), imported only when asked for.
DEMOS = {
    "egroupware": "deployments.demo_egroupware:run_egroupware_demo",
    "timi": "deployments.demo_timi:run_timi_demo",
    "kimai1": "deployments.demo_kimai1:run_demo",
}


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole sync locally on a seeded month (Oxigraph + Kimai emulator)",
                       description="Starts Oxigraph and the Kimai emulator on free local ports, seeds a realistic "
                                   "month, runs from-kimai, to-kimai and lock-timesheets as Prefect runs, sends a few "
                                   "deltas, prints a summary and stops everything it started.")
    p.add_argument("--dir", default=".demo", help="where Prefect keeps the demo's runs (default: .demo)")
    p.add_argument("--tracker", choices=("kimai", *DEMOS), default="kimai",
                   help="which tracker's emulator the demo syncs with (default: kimai, Kimai 2)")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    tracker = getattr(args, "tracker", "kimai")
    if tracker in DEMOS:
        import importlib

        module, function = DEMOS[tracker].split(":")
        return getattr(importlib.import_module(module), function)(Path(args.dir).resolve())
    from deployments.demo import run_demo

    return run_demo(Path(args.dir).resolve())
