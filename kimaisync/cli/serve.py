"""`kimai-sync serve`: the schedules and the webhook receiver in one process."""

from __future__ import annotations

from kimaisync.cli.common import settings_or_exit


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the schedules and the HTTP receiver (the old service's routes)",
                       description="Serves every deployment with its schedule and the receiver of the old service's "
                                   "routes. In a semantic.works stack: --host 0.0.0.0 --port 80. Exit 2 on a bad "
                                   "setting or flag, before anything starts.")
    # Checked with the settings (RECEIVER_HOST, RECEIVER_PORT), so a bad value is one line, exit 2.
    p.add_argument("--host", help="address to listen on (default RECEIVER_HOST, else 127.0.0.1)")
    p.add_argument("--port", help="port to listen on (default RECEIVER_PORT, else 8080)")
    p.set_defaults(run=run)


def run(args) -> int:
    settings = settings_or_exit(receiver_host=args.host, receiver_port=args.port)
    if settings is None:
        return 2
    from deployments.serve import run_serve

    return run_serve(settings.receiver_host, settings.receiver_port, settings)
