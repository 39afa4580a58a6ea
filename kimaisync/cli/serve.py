"""`kimai-sync serve`: the schedules and the webhook receiver in one process."""

from __future__ import annotations

from kimaisync.cli.common import settings_or_exit


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the schedules and the HTTP receiver (the old service's routes)",
                       description="Serves every deployment with its schedule and the receiver of the old service's "
                                   "routes. In a semantic.works stack: --host 0.0.0.0 --port 80.")
    p.add_argument("--host", help="address to bind (default RECEIVER_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default RECEIVER_PORT, 8080)")
    p.set_defaults(run=run)


def run(args) -> int:
    settings = settings_or_exit()
    if settings is None:
        return 1
    from deployments.serve import run_serve

    host = args.host if args.host is not None else settings.receiver_host
    port = args.port if args.port is not None else settings.receiver_port
    return run_serve(host, port)
