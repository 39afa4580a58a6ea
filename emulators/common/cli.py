"""What every ``python -m emulators.X`` shares: the --port/--host/--latency options, the
--seed/--demo choice, and serving on the chosen address with a banner saying where."""

from __future__ import annotations

import argparse
from typing import Any, Iterable

from .server import bind, uvicorn_server


def emulator_parser(package: str, description: str, latency_applies_to: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=description)
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help=f"delay every {latency_applies_to} by this much (benchmarks)")
    return parser


def add_seed_or_demo(parser: argparse.ArgumentParser, state_class: str) -> None:
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--seed", metavar="FILE", help=f"JSON file as written by {state_class}.to_dict()")
    data.add_argument("--demo", action="store_true", help="serve the built-in demo dataset")


def serve(app: Any, host: str, port: int, *, name: str, path: str, notes: Iterable[str] = ()) -> None:
    """Bind first (port 0 picks a free one), say the real URL, then serve until interrupted."""
    sock = bind(host, port)
    host, port = sock.getsockname()[:2]
    print(f"{name} listening on http://{host}:{port}{path}", flush=True)
    for note in notes:
        print(note, flush=True)
    uvicorn_server(app, access_log=False).run(sockets=[sock])
