"""The receiver alone, pointed at a Prefect server where `prefect deploy --all` put the deployments.

On a real engine (docs/scale-out.md) workers run the schedules; this process only takes the old
service's HTTP routes. It finds the deployments by the names prefect.yaml gives them, records each
accepted request as a run of its deployment and executes it at once (deployments.run_queue); a run
it does not get to is a Scheduled run any worker picks up.

    PREFECT_API_URL=http://prefect:4200/api python -m deployments.receiver_only --host 0.0.0.0 --port 80
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from uuid import UUID

def deployment_ids(settings) -> dict[str, UUID]:
    """Each route's deployment id (deployments as prefect.yaml names them); RuntimeError naming the
    missing ones (nothing deployed yet)."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from deployments.definitions import load_deployments, route_deployments, values_from_settings
    from deployments.receiver import flows_by_route

    routes = flows_by_route()
    ids, missing = {}, []
    with get_client(sync_client=True) as client:
        for route, d in route_deployments(routes, load_deployments(values_from_settings(settings))).items():
            name = f"{routes[route].name}/{d.name}"
            try:
                ids[route] = client.read_deployment_by_name(name).id
            except ObjectNotFound:
                missing.append(name)
    if missing:
        raise RuntimeError(f"deployments not found on the Prefect server: {', '.join(missing)}; "
                           "run `prefect --no-prompt deploy --all` in the project's clone first")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.receiver_only", description=__doc__.split("\n")[0])
    parser.add_argument("--host", help="address to bind (default RECEIVER_HOST, else 127.0.0.1; 0.0.0.0 in a "
                                       "semantic.works stack)")
    parser.add_argument("--port", help="port (default RECEIVER_PORT, else 8080; 80 in a semantic.works stack)")
    args = parser.parse_args(argv)

    from kimaisync.cli.common import settings_or_exit

    settings = settings_or_exit(receiver_host=args.host, receiver_port=args.port)
    if settings is None:
        return 2
    from kimaisync.prefect_server import export_client_auth

    export_client_auth(settings)  # before Prefect reads its settings: a server with a login gets it
    from prefect.settings import PREFECT_API_URL

    from deployments.receiver import ListenError, RunningReceiver, flows_by_route
    from deployments.journal import Journal
    from deployments.run_queue import RunQueue
    from kimaisync.sparql.client import SparqlClient

    if not PREFECT_API_URL.value():
        print("receiver: PREFECT_API_URL is not set: point it at the Prefect server, e.g. "
              "PREFECT_API_URL=http://127.0.0.1:4200/api", file=sys.stderr)
        return 2
    try:
        ids = deployment_ids(settings)
    except RuntimeError as err:
        print(f"receiver: {err}", file=sys.stderr)
        return 1
    try:
        receiver = RunningReceiver(RunQueue(flows_by_route(), ids, grace=settings.receiver_grace_seconds,
                                            journal=Journal.in_prefect_home()),
                                   SparqlClient.from_settings(settings), host=settings.receiver_host,
                                   port=settings.receiver_port, settings=settings)
    except ListenError as err:
        print(f"receiver: {err}", file=sys.stderr)
        return 1
    print(f"receiver on {receiver.url}, Prefect {PREFECT_API_URL.value()}; {settings.describe()}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
