"""Laying out one person's day: Timekeeper has a date and a duration, Kimai wants begin and end.

A person's work logs of one day are placed back to back from the start of the working day,
in a stable order, so no two overlap (Kimai refuses overlaps when its rule is on) and a rerun
computes the same times. Arithmetic is on absolute time, so a day with a DST change gets no
gap and no overlap. Timesheets people typed into Kimai themselves are stepped around.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc


@dataclass(frozen=True, slots=True)
class Slot:
    begin: dt.datetime  # aware, UTC
    end: dt.datetime

    def overlaps(self, other: "Slot") -> bool:
        return self.begin < other.end and other.begin < self.end


def day_start(day: dt.date, start: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The instant the working day starts: that wall-clock time in the person's zone."""
    return dt.datetime.combine(day, start, tzinfo=zone).astimezone(UTC)


def lay_out(day: dt.date, minutes: list[int], *, zone: ZoneInfo, start: dt.time,
            busy: Sequence[Slot] = ()) -> list[Slot]:
    """Slots for durations (in order), back to back from `start`, skipping `busy` intervals."""
    busy = sorted(busy, key=lambda s: s.begin)
    cursor = day_start(day, start, zone)
    slots = []
    for m in minutes:
        length = dt.timedelta(minutes=m)
        moved = True
        while moved:  # step past every busy interval the slot would touch
            moved = False
            for b in busy:
                if cursor < b.end and b.begin < cursor + length or (length == dt.timedelta(0) and b.begin < cursor < b.end):
                    cursor = b.end
                    moved = True
        slots.append(Slot(cursor, cursor + length))
        cursor += length
    return slots
