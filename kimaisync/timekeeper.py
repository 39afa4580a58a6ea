"""What the sync reads from Timekeeper, as plain values (no I/O here).

Raw strings are kept beside parsed values so a record that cannot sync is reported with
what it actually holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WorkLog:
    """A `cal:Vevent`: one person's time on one task on one day."""

    uri: str
    uuid: str | None = None
    date_raw: str | None = None
    duration_raw: str | None = None
    task: str | None = None
    person: str | None = None
    kimai_ids: tuple[str, ...] = ()  # dct:identifier values (normally zero or one)
    problem: str | None = None  # set when the store holds something the sync cannot read unambiguously

    @property
    def date(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.date_raw) if self.date_raw else None
        except ValueError:
            return None

    @property
    def kimai_id(self) -> int | None:
        """The first numeric Kimai id, if any."""
        for raw in sorted(self.kimai_ids):
            if raw.strip().isdigit():
                return int(raw)
        return None

    @property
    def key(self) -> str:
        """Stable identity for ordering and markers: the mu:uuid, else the IRI."""
        return self.uuid or self.uri


@dataclass(frozen=True, slots=True)
class ActivityRef:
    """A task that is an `ext:KimaiActivity` with its Kimai ids (project None if unresolved)."""

    task: str
    activity_id: int
    project_id: int | None
    label: str | None = None


@dataclass
class TimekeeperSnapshot:
    """Everything the work-log plan needs from the triplestore."""

    work_logs: list[WorkLog] = field(default_factory=list)
    activities: dict[str, ActivityRef] = field(default_factory=dict)  # task IRI -> ref
    non_activity_tasks: dict[str, str] = field(default_factory=dict)  # task IRI -> why it is not bookable
    accounts: dict[str, list[int]] = field(default_factory=dict)  # person IRI -> Kimai user ids
    person_names: dict[str, str] = field(default_factory=dict)
    dangling: dict[str, list[str]] = field(default_factory=dict)  # deleted work-log IRI -> Kimai ids
