"""`kimai-sync serve`: the schedules and the webhook receiver in one process, and Prefect's server
with its UI unless PREFECT_API_URL names one elsewhere."""

from __future__ import annotations

import os
import sys

from kimaisync.cli.common import settings_or_exit


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the schedules and the HTTP receiver (the old service's routes)",
                       description="Serves every deployment with its schedule and the receiver of the old service's "
                                   "routes. In a semantic.works stack: --host 0.0.0.0 --port 80. Without "
                                   "PREFECT_API_URL it also runs Prefect's server and UI on "
                                   "PREFECT_SERVER_API_HOST:PREFECT_SERVER_API_PORT (default 127.0.0.1:4200); bound "
                                   "beyond loopback it needs PREFECT_SERVER_API_AUTH_STRING. Exit 2 on a bad "
                                   "setting or flag, before anything starts.")
    # Checked with the settings (RECEIVER_HOST, RECEIVER_PORT), so a bad value is one line, exit 2.
    p.add_argument("--host", help="address to listen on (default RECEIVER_HOST, else 127.0.0.1)")
    p.add_argument("--port", help="port to listen on (default RECEIVER_PORT, else 8080)")
    p.set_defaults(run=run)


def run(args) -> int:
    from kimaisync import prefect_server

    settings = settings_or_exit(receiver_host=args.host, receiver_port=args.port)
    if settings is None:
        return 2
    server = None
    if not settings.prefect_api_url:
        refusal = prefect_server.bind_refusal(settings)
        if refusal:
            print(f"kimai-sync serve: {refusal}", file=sys.stderr)
            return 2
        warning = prefect_server.open_ui_warning(settings)
        if warning:
            print(f"kimai-sync serve: {warning}", file=sys.stderr, flush=True)
    prefect_server.export_client_auth(settings)
    if not settings.prefect_api_url:
        server = prefect_server.PrefectServer(settings)
        try:
            server.start()
        except prefect_server.ServerFailed as err:
            print(f"kimai-sync serve: {err}", file=sys.stderr)
            return 1
        os.environ["PREFECT_API_URL"] = server.api_url
        print(f"kimai-sync serve: Prefect server and UI on http://{settings.prefect_server_api_host}:"
              f"{settings.prefect_server_api_port} (home {server.home}; log {server.log_path.name}), login "
              + ("required" if settings.prefect_server_api_auth_string else "none"), flush=True)
    else:
        found = prefect_server.probe(settings.prefect_api_url, prefect_server.client_auth(settings), timeout=10)
        if found.state == "unauthorized":
            print(f"kimai-sync serve: the Prefect server {found.detail}", file=sys.stderr)
            return 1
    try:
        from deployments.serve import run_serve

        return run_serve(settings.receiver_host, settings.receiver_port, settings)
    finally:
        if server is not None:
            server.stop()
