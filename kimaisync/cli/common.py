"""What every verb needs: settings loaded with a readable failure, and clients built from them."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

from kimaisync.errors import ConfigurationError
from kimaisync.inputs import InputLimits
from kimaisync.settings import Settings, load_settings


class UsageError(Exception):
    """Bad input on the command line: exit 2 before any request."""


def settings_or_exit(**flags) -> Settings | None:
    """Settings, or None after printing one line per problem (the caller exits 2: bad input).

    `flags` are command-line values that override a setting (`receiver_port="99999"`): checked by
    the same model, and named as the flag in a problem line."""
    given = {k: v for k, v in flags.items() if v is not None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            s = load_settings(**given)
        except ConfigurationError as err:
            print("Configuration problems:", file=sys.stderr)
            for line in err.problems:
                var = line.split(":", 1)[0]
                if var.lower() in given:  # a flag's value, not the environment's
                    line = f"--{var.lower().removeprefix('receiver_')}{line[len(var):]}"
                    line = line.split("; example:", 1)[0]
                print(f"  {line}", file=sys.stderr)
            return None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return s


def input_limits() -> InputLimits:
    """The settings' year window, for checking arguments before anything else (when the settings
    do not load, the defaults: their problems are said right after)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return load_settings().input_limits
        except ConfigurationError:
            return InputLimits()


class _NotTheTemporaryServerLines(logging.Filter):
    """Prefect announces its temporary server in two lines; the verb has said so in one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Starting temporary server", "Stopping temporary server"))


def use_prefect_server(settings: Settings, verb: str) -> bool:
    """Point this process at the Prefect server the stack runs, before Prefect reads its settings.

    PREFECT_API_URL when set; else `kimai-sync serve`'s server on this machine when it answers (the
    run starts at once and shows in its UI); else Prefect's temporary server, said in one line.
    False (after one line saying what to set) when the server refuses our credentials.
    """
    from kimaisync import prefect_server

    prefect_server.export_client_auth(settings)
    url, found = prefect_server.choose_for_cli(settings)
    if found is not None and found.state == "unauthorized":
        print(f"kimai-sync {verb}: the Prefect server {found.detail}", file=sys.stderr)
        return False
    if url is None:
        print(f"kimai-sync {verb}: no Prefect server at {prefect_server.local_api_url(settings)} and PREFECT_API_URL "
              "unset: starting a temporary one for this run (about 10 s; `kimai-sync serve` keeps one up)",
              file=sys.stderr, flush=True)
        logging.getLogger("prefect").addFilter(_NotTheTemporaryServerLines())
        return True
    os.environ["PREFECT_API_URL"] = url
    return True


@contextlib.contextmanager
def foreground_run() -> Iterator[None]:
    """A verb's flow runs without Prefect's heartbeat thread, which the sync engine joins on exit:
    up to a second on every verb (docs/performance.md). The person at the terminal sees the
    process end; served and worker runs, which nobody watches, keep their heartbeats."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def print_summary(summary: dict) -> None:
    """A flow's summary for a terminal: its verdict (or counts), what needs a look grouped by cause
    with the people named and what to do, then each failure with its reason."""
    counts = ", ".join(f"{n} {k}" for k, n in summary.get("counts", {}).items() if n)
    head = summary.get("verdict") or counts or "nothing to do"
    print(f"{summary.get('title', 'run')}: {head}" + (" (dry run)" if summary.get("dry_run") else ""))
    groups = summary.get("groups")
    if groups is None:  # a summary from before groups: every row
        for key in ("failures", "skips", "warnings"):
            for row in summary.get(key, []):
                print(f"  {row['outcome']:<8} {row['kind']:<9} {row['key']}: {row['reason']}")
    else:
        for g in groups:
            people = f": {', '.join(g['people'])}" if g["people"] else ""
            todo = f". To do: {g['todo']}" if g["todo"] else ""
            print(f"  {g['outcome']:<8} {g['what']}{people}{todo}")
        for row in summary.get("failures", [])[:20]:
            print(f"  {row['outcome']:<8} {row['kind']:<9} {row['key']}: {row['reason']}")
    for k, v in summary.get("stats", {}).items():
        print(f"  {k.replace('_', ' ')}: {v}")
