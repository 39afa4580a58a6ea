"""``python -m emulators.kimai1 --port N [--host 127.0.0.1] (--seed FILE.json | --demo)``."""

from __future__ import annotations

import argparse

from .faults import Faults
from .seeds import DEMO_ADMIN, demo_state
from .server import bind, uvicorn_server
from .state import Kimai1State


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulators.kimai1",
                                     description="Emulated Kimai 1 JSON-RPC remote API (/core/json.php).")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="delay every time-sheet call by this much (benchmarks)")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--seed", metavar="FILE", help="JSON file as written by Kimai1State.to_dict()")
    data.add_argument("--demo", action="store_true", help="serve the built-in demo dataset")
    args = parser.parse_args(argv)

    state = demo_state() if args.demo else Kimai1State.from_json_file(args.seed)
    if args.latency:
        state.faults = Faults(latency=args.latency)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"Kimai 1 emulator listening on http://{host}:{port}/core/json.php", flush=True)
    if args.demo:
        print(f"admin login: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}; people: <name> / <name>-password", flush=True)
    uvicorn_server(state, access_log=False).run(sockets=[sock])


if __name__ == "__main__":
    main()
