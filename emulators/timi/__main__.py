"""``python -m emulators.timi [--port N] [--host 127.0.0.1] --demo [--rate-limit N]``."""

from __future__ import annotations

from emulators.common.cli import emulator_parser, serve

from .app import create_app
from .seeds import DEMO_EMAIL, DEMO_TOKEN, demo_state
from .state import Faults, RateBudget


def main(argv: list[str] | None = None) -> None:
    parser = emulator_parser("emulators.timi", "Emulated Timi REST API.", "time-entry request")
    parser.add_argument("--rate-limit", type=int, default=0, metavar="N",
                        help="requests per minute per account before 429 (default: no limit)")
    parser.add_argument("--demo", action="store_true", required=True, help="serve the built-in demo account")
    args = parser.parse_args(argv)

    state = demo_state()
    state.rate = RateBudget(args.rate_limit)
    if args.latency:
        state.faults = Faults(latency=args.latency, paths_prefix="/api/v1/time_entries")
    serve(create_app(state), args.host, args.port, name="Timi emulator", path="/api/v1",
          notes=[f"X-Api-Key: {DEMO_EMAIL}:{DEMO_TOKEN}  (other users: person<N>@example.org:token-<N>)"])


if __name__ == "__main__":
    main()
