"""``python -m emulators.timi [--port N] [--host 127.0.0.1] --demo [--rate-limit N]``."""

from __future__ import annotations

import argparse

from .seeds import DEMO_EMAIL, DEMO_TOKEN, demo_state
from .server import bind, uvicorn_server
from .state import Faults, RateBudget


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.timi", description="Emulated Timi REST API.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="N",
                        help="requests per minute per account before 429 (default: no limit)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every time-entry request by this much (benchmarks)")
    parser.add_argument("--demo", action="store_true", required=True, help="serve the built-in demo account")
    args = parser.parse_args(argv)

    state = demo_state()
    state.rate = RateBudget(args.rate_limit)
    if args.latency:
        state.faults = Faults(latency=args.latency, paths_prefix="/api/v1/time_entries")
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"Timi emulator listening on http://{host}:{port}/api/v1", flush=True)
    print(f"X-Api-Key: {DEMO_EMAIL}:{DEMO_TOKEN}  (other users: person<N>@example.org:token-<N>)", flush=True)
    uvicorn_server(state, access_log=False).run(sockets=[sock])


if __name__ == "__main__":
    main()
