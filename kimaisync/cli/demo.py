"""`kimai-sync demo`: everything on this machine with embedded defaults (see deployments/demo.py)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the whole sync locally on a seeded month (Oxigraph + Kimai emulator)",
                       description="Starts Oxigraph and the Kimai emulator on free local ports, seeds a realistic "
                                   "month, runs from-kimai, to-kimai and lock-timesheets as Prefect runs, sends a few "
                                   "deltas, prints a summary and stops everything it started.")
    p.add_argument("--dir", default=".demo", help="where Prefect keeps the demo's runs (default: .demo)")
    p.add_argument("--tracker", default="kimai", help="kimai (Kimai 2, the default) or kimai1 (Kimai 1's JSON-RPC API)")
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    if getattr(args, "tracker", "kimai") == "kimai1":
        from deployments.demo_kimai1 import run_demo as run_kimai1_demo

        return run_kimai1_demo(Path(args.dir).resolve())
    from deployments.demo import run_demo

    return run_demo(Path(args.dir).resolve())
