"""``python -m emulators.kimai2 --port N [--host 127.0.0.1] (--seed FILE.json | --demo)``."""

from __future__ import annotations

import argparse

from .seeds import DEMO_TOKEN, demo_state
from .server import bind, uvicorn_server
from .faults import Faults
from .state import KimaiState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.kimai2", description="Emulated Kimai 2 REST API.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every /api/timesheets request by this much (benchmarks)")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--seed", metavar="FILE", help="JSON file as written by KimaiState.to_dict()")
    data.add_argument("--demo", action="store_true", help="serve the built-in demo dataset")
    args = parser.parse_args(argv)

    state = demo_state() if args.demo else KimaiState.from_json_file(args.seed)
    if args.latency:
        state.faults = Faults(latency=args.latency)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"Kimai emulator listening on http://{host}:{port}/api", flush=True)
    if args.demo:
        print(f"API token (ROLE_SUPER_ADMIN 'admin'): {DEMO_TOKEN}", flush=True)
    uvicorn_server(state, access_log=False).run(sockets=[sock])


if __name__ == "__main__":
    main()
