"""``python -m emulators.egroupware --demo [--port N] [--host 127.0.0.1] [--latency S]``."""

from __future__ import annotations

from emulators.common.cli import emulator_parser, serve

from .app import create_app
from .seeds import ALL_USERS_TOKEN, demo_state
from .state import BASE_PATH, Faults


def main(argv: list[str] | None = None) -> None:
    parser = emulator_parser("emulators.egroupware", "Emulated EGroupware timesheet REST API.", "timesheet request")
    parser.add_argument("--people", type=int, default=0, metavar="N",
                        help="add N more accounts person01.. (password '<name>-password'; benchmarks)")
    parser.add_argument("--demo", action="store_true", required=True, help="serve the built-in demo dataset")
    args = parser.parse_args(argv)
    state = demo_state()
    for n in range(1, args.people + 1):
        state.add_account(f"person{n:02d}", password=f"person{n:02d}-password")
    if args.latency:
        state.faults = Faults(latency=args.latency)
    serve(create_app(state), args.host, args.port, name="EGroupware emulator", path=BASE_PATH,
          notes=[f"users sync/ralf/anna/piet, password '<name>-password'; all-users app token {ALL_USERS_TOKEN}"])


if __name__ == "__main__":
    main()
