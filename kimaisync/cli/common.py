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
    """A flow's summary for a terminal: counts, then each failure and warning with its reason."""
    counts = ", ".join(f"{n} {k}" for k, n in summary.get("counts", {}).items() if n)
    print(f"{summary.get('title', 'run')}: {counts or 'nothing to do'}" + (" (dry run)" if summary.get("dry_run") else ""))
    for key in ("failures", "skips", "warnings"):
        for row in summary.get(key, []):
            print(f"  {row['outcome']:<8} {row['kind']:<9} {row['key']}: {row['reason']}")
    for k, v in summary.get("stats", {}).items():
        print(f"  {k.replace('_', ' ')}: {v}")
