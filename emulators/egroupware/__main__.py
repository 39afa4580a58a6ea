"""``python -m emulators.egroupware --demo [--port N] [--host 127.0.0.1] [--latency S]``."""

from __future__ import annotations

import argparse

from .seeds import ALL_USERS_TOKEN, demo_state
from .server import bind, uvicorn_server
from .state import BASE_PATH, Faults


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.egroupware",
                                     description="Emulated EGroupware timesheet REST API.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every timesheet request by this much (benchmarks)")
    parser.add_argument("--people", type=int, default=0, metavar="N",
                        help="add N more accounts person01.. (password '<name>-password'; benchmarks)")
    parser.add_argument("--demo", action="store_true", required=True, help="serve the built-in demo dataset")
    args = parser.parse_args(argv)
    state = demo_state()
    for n in range(1, args.people + 1):
        state.add_account(f"person{n:02d}", password=f"person{n:02d}-password")
    if args.latency:
        state.faults = Faults(latency=args.latency)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"EGroupware emulator listening on http://{host}:{port}{BASE_PATH}", flush=True)
    print(f"users sync/ralf/anna/piet, password '<name>-password'; all-users app token {ALL_USERS_TOKEN}",
          flush=True)
    uvicorn_server(state, access_log=False).run(sockets=[sock])


if __name__ == "__main__":
    main()
