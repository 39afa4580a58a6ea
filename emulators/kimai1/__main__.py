"""``python -m emulators.kimai1 --port N [--host 127.0.0.1] (--seed FILE.json | --demo)``."""

from __future__ import annotations

from emulators.common.cli import add_seed_or_demo, emulator_parser, serve

from .app import PATH, create_app
from .faults import Faults
from .seeds import DEMO_ADMIN, demo_state
from .state import Kimai1State


def main(argv: list[str] | None = None) -> None:
    parser = emulator_parser("emulators.kimai1", "Emulated Kimai 1 JSON-RPC remote API (/core/json.php).",
                             "time-sheet call")
    add_seed_or_demo(parser, "Kimai1State")
    args = parser.parse_args(argv)

    state = demo_state() if args.demo else Kimai1State.from_json_file(args.seed)
    if args.latency:
        state.faults = Faults(latency=args.latency)
    notes = [f"admin login: {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}; people: <name> / <name>-password"] if args.demo else []
    serve(create_app(state), args.host, args.port, name="Kimai 1 emulator", path=PATH, notes=notes)


if __name__ == "__main__":
    main()
