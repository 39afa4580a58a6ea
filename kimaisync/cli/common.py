"""What every verb needs: settings loaded with a readable failure, and clients built from them."""

from __future__ import annotations

import sys
import warnings

from kimaisync.errors import ConfigurationError
from kimaisync.settings import Settings, load_settings


class UsageError(Exception):
    """Bad input on the command line: exit 2 before any request."""


def settings_or_exit() -> Settings | None:
    """Settings, or None after printing one line per problem (the caller exits 1)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            s = load_settings()
        except ConfigurationError as err:
            print("Configuration problems:", file=sys.stderr)
            for line in err.problems:
                print(f"  {line}", file=sys.stderr)
            return None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return s


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
