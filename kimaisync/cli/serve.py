"""`kimai-sync serve`: the schedules and the webhook receiver in one process."""

from __future__ import annotations

import os

from kimaisync.cli.common import settings_or_exit


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the schedules and the HTTP receiver (the old service's routes)",
                       description="Serves every deployment with its schedule and the receiver of the old service's "
                                   "routes. In a semantic.works stack: --host 0.0.0.0 --port 80.")
    p.add_argument("--host", default=os.environ.get("RECEIVER_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("RECEIVER_PORT", "8080")))
    p.set_defaults(run=run)


def run(args) -> int:
    if settings_or_exit() is None:
        return 1
    import sys

    from deployments.run_queue import grace_seconds
    from deployments.serve import run_serve

    try:
        grace_seconds()
    except ValueError as err:
        print(f"kimai-sync serve: {err}", file=sys.stderr)
        return 1

    return run_serve(args.host, args.port)
