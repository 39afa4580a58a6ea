"""What the sync reads from Timekeeper, as plain values (no I/O here).

Raw strings are kept beside parsed values so a record that cannot sync is reported with
what it actually holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


def numeric_id(raw: str) -> int | None:
    """A stored id made of digits as an int; anything else is not an id (most trackers' ids)."""
    text = raw.strip()
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class WorkLog:
    """A `cal:Vevent`: one person's time on one task on one day."""

    uri: str
    uuid: str | None = None
    date_raw: str | None = None
    duration_raw: str | None = None
    task: str | None = None
    person: str | None = None
    entry_ids: tuple[str, ...] = ()  # its links to the tracker's entry (Links.entry_predicate), normally zero or one
    problem: str | None = None  # set when the store holds something the sync cannot read unambiguously

    @property
    def date(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.date_raw) if self.date_raw else None
        except ValueError:
            return None

    def entry_id(self, parse: Callable[[str], Hashable | None] = numeric_id) -> Hashable | None:
        """The first stored id that `parse` (the tracker's `Links.parse_id`) takes, if any."""
        for raw in sorted(self.entry_ids):
            found = parse(raw)
            if found is not None:
                return found
        return None

    @property
    def key(self) -> str:
        """Stable identity for ordering and markers: the mu:uuid, else the IRI."""
        return self.uuid or self.uri


@dataclass(frozen=True, slots=True)
class ActivityRef:
    """A task that is a bookable activity of the tracker (its `Links.activity_type`), with the
    tracker's ids of it and its project (project None if unresolved)."""

    task: str
    activity_id: Hashable
    project_id: Hashable | None
    label: str | None = None


@dataclass
class TimekeeperSnapshot:
    """Everything the work-log plan needs from the triplestore."""

    work_logs: list[WorkLog] = field(default_factory=list)
    activities: dict[str, ActivityRef] = field(default_factory=dict)  # task IRI -> ref
    non_activity_tasks: dict[str, str] = field(default_factory=dict)  # task IRI -> why it is not bookable
    accounts: dict[str, list[Hashable]] = field(default_factory=dict)  # person IRI -> the tracker's user ids
    person_names: dict[str, str] = field(default_factory=dict)
    dangling: dict[str, list[str]] = field(default_factory=dict)  # deleted work-log IRI -> stored entry ids
