"""Incremental cursors kept between runs, in Prefect variables: one per tracker and partition.

A tracker with `CursorKind.TOKEN` or `MODIFIED_SINCE` hands back a cursor with every read of its
changes (EGroupware: one sync-token per person's collection). The fallback run keeps them here:

- serve and every worker talk to the same Prefect server, so a fallback run on any machine starts
  where the previous one stopped (a file would stay on one machine, and die with its container);
- the triplestore holds Timekeeper's data: our bookkeeping there would pass mu-authorization and
  come back to our own receiver as deltas;
- the fallback run holds the work-log writer lock from its reads to its last write, so two runs
  never write the same cursor at once.

The caller saves a cursor only after every outcome of the run that read it is recorded, never
before (a crash in between then costs a re-read, never a missed change). A cursor that is lost,
or that the tracker refuses, costs one full read.

Variable names: `kimai-sync-cursor-<tracker>-<partition slug>-<8 hex of its sha1>`. Prefect allows
lower-case letters, digits, dashes and underscores, and a partition (an account name such as
anna.b@example.org, or "" for a tracker with one service session) may hold anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from prefect.variables import Variable

PREFIX = "kimai-sync-cursor"
MAX_LENGTH = 5000  # Prefect's limit for a variable's value


def variable_name(tracker: str, partition: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", partition.lower()).strip("-")[:60] or "all"
    digest = hashlib.sha1(f"{tracker}\0{partition}".encode()).hexdigest()[:8]
    return f"{PREFIX}-{re.sub(r'[^a-z0-9]+', '-', tracker.lower())}-{slug}-{digest}"


def load(tracker: str, partitions: Iterable[str]) -> dict[str, str | None]:
    """The kept cursor of each partition (None: none kept: read everything)."""
    out: dict[str, str | None] = {}
    for p in partitions:
        value = Variable.get(variable_name(tracker, p), default=None)
        out[p] = value if isinstance(value, str) and value else None
    return out


def save(tracker: str, cursors: Mapping[str, str | None]) -> None:
    """Keep each partition's new cursor; None forgets it (the next run reads everything)."""
    for p, cursor in cursors.items():
        name = variable_name(tracker, p)
        if cursor is None:
            Variable.unset(name)
            continue
        if len(cursor) + 2 > MAX_LENGTH:  # stored as JSON: the quotes count
            raise ValueError(f"a {tracker} cursor of {len(cursor)} characters does not fit a Prefect variable")
        Variable.set(name, cursor, overwrite=True)
