"""The marker the sync leaves in the description of every Kimai timesheet it creates.

It names the work log (`[tk:<mu:uuid>]`), so a timesheet whose id never reached the
triplestore (lost reply, crash between the Kimai write and the store write) is found again
and adopted instead of created twice, and so cleanup can tell the sync's own timesheets
from ones people typed into Kimai. Kimai's `term` filter searches descriptions, which makes
the marker searchable with one request.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[tk:([A-Za-z0-9_-]{1,64})\]")


def marker(work_log_uuid: str) -> str:
    if not _MARKER.fullmatch(f"[tk:{work_log_uuid}]"):
        raise ValueError(f"work log uuid {work_log_uuid!r} cannot be used in a marker")
    return f"[tk:{work_log_uuid}]"


def description(work_log_uuid: str) -> str:
    """The description the sync writes: the marker alone (notes are not sent, as before)."""
    return marker(work_log_uuid)


def marker_of(text: str | None) -> str | None:
    """The work log uuid in a description, if the sync wrote it."""
    if not text:
        return None
    m = _MARKER.search(text)
    return m.group(1) if m else None
