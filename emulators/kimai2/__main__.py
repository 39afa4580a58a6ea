"""``python -m emulators.kimai2 --port N [--host 127.0.0.1] (--seed FILE.json | --demo)``."""

from __future__ import annotations

from emulators.common.cli import add_seed_or_demo, emulator_parser, serve

from .app import create_app
from .faults import Faults
from .seeds import DEMO_TOKEN, demo_state
from .state import KimaiState


def main(argv: list[str] | None = None) -> None:
    parser = emulator_parser("emulators.kimai2", "Emulated Kimai 2 REST API.", "/api/timesheets request")
    add_seed_or_demo(parser, "KimaiState")
    args = parser.parse_args(argv)

    state = demo_state() if args.demo else KimaiState.from_json_file(args.seed)
    if args.latency:
        state.faults = Faults(latency=args.latency)
    notes = [f"API token (ROLE_SUPER_ADMIN 'admin'): {DEMO_TOKEN}"] if args.demo else []
    serve(create_app(state), args.host, args.port, name="Kimai emulator", path="/api", notes=notes)


if __name__ == "__main__":
    main()
