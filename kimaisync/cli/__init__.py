"""The `kimai-sync` command: one module per verb, each registering its own sub-command.

Exit codes: 0 all well, 1 something failed (a record, a check, a run), 2 bad usage or input
(refused before any request).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from kimaisync.cli import check, demo, from_kimai, lock, serve, to_kimai
from kimaisync.errors import SyncError

VERBS = [check, from_kimai, to_kimai, lock, serve, demo]


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (not the one at set-up, which may be closed since)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _log_to_stderr(level: int) -> None:
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _CurrentStderr)), None)
    if handler is None:
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    if level < logging.WARNING:  # -v: let our debug lines through (the root stays at WARNING)
        logging.getLogger("kimaisync").setLevel(level)
    handler.setLevel(level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kimai-sync",
        description="Sync Timekeeper (SPARQL triplestore) and Kimai 2. Settings come from the environment "
                    "(API_TOKEN, KIMAI_ENDPOINT, MU_SPARQL_ENDPOINT, ...); see the README.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (never the token)")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        verb.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Without PREFECT_API_URL, Prefect starts a temporary server and gives it 20 s; a busy small
    # machine needs longer (the demo failed so under load). A value the user set is kept.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    _log_to_stderr(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.run(args) or 0)
    except SyncError as err:  # a failure the run could not get past: say it plainly, no traceback
        print(f"kimai-sync {args.verb}: FAILED: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def console() -> None:
    """The `kimai-sync` command: main(), then an exit without tearing the interpreter down.

    Once the verb is done and Prefect's exit handlers have sent its last logs and events, the
    interpreter would still dismantle every module of Prefect one by one, a noticeable part of a
    short verb's time (docs/stack.md), for nothing anyone sees. The last exit handler
    (registered first, so it runs last) flushes our output and ends the process there. Only the
    command does this; main() called in a process that goes on (tests) exits nothing.
    """
    import atexit

    code = [1]  # an exception escaping main() is exit 1, as Python's own

    def _end_here() -> None:
        # logging registered its own exit handler before this one (so it would run after): flush
        # the handlers here, Prefect's API log handler (the run's last lines) among them.
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code[0])

    atexit.register(_end_here)
    try:
        code[0] = int(main() or 0)
    except SystemExit as stop:  # e.g. Prefect's runner on SIGTERM: sys.exit(0)
        code[0] = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        raise
    sys.exit(code[0])


if __name__ == "__main__":  # pragma: no cover
    console()
