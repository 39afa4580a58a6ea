"""Hours per person and day, Timekeeper beside the tracker, with the differences marked.

The table answers the question a person asks after a run: "are my hours right in the tracker?"
Timekeeper's side counts every work log whose duration can be read; the tracker's side counts
the entries the sync keeps (those with its marker) of the tracker users linked to people, on the
owner's local date (a day tracker's own date). Hours people typed into the tracker themselves are
shown beside, not compared. Columns are named after the tracker (`kimai_hours` for Kimai 2).
Rows are keyed by the person's IRI: two people who share a display name are two rows.
Rows are plain dicts (a table artifact takes them as they are): no data-frame library to load,
which a CLI verb would pay for at every start.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kimaisync.durations import DurationError, parse_minutes
from kimaisync.marker import marker_of
from kimaisync.timekeeper import TimekeeperSnapshot

def columns(tracker: str = "kimai") -> list[str]:
    return ["person", "person_iri", "date", "timekeeper_hours", f"{tracker}_hours", "difference_hours", "status",
            f"other_{tracker}_hours"]


COLUMNS = columns()


def reconciliation(snap: TimekeeperSnapshot, timesheets: Iterable, users: dict, *,
                   period: tuple[dt.date, dt.date], default_zone: str, tracker: str = "kimai") -> list[dict]:
    """One row per person and day (`columns(tracker)`), by person name, person and date. `tracker`:
    the tracker's name (`Tracker.name`), which names its columns."""
    person_of_user: dict = {}
    for person, ids in snap.accounts.items():
        for uid in ids:
            person_of_user.setdefault(uid, person)

    def name(person: str) -> str:
        return snap.person_names.get(person, person)

    tk: dict[tuple[str, dt.date], int] = {}
    for log in snap.work_logs:
        if not log.person or log.date is None or not (period[0] <= log.date <= period[1]):
            continue
        try:
            minutes = parse_minutes(log.duration_raw)
        except DurationError:
            continue
        key = (log.person, log.date)
        tk[key] = tk.get(key, 0) + minutes

    km: dict[tuple[str, dt.date], int] = {}
    other: dict[tuple[str, dt.date], int] = {}
    for ts in timesheets:
        if ts.user not in person_of_user:
            continue
        if ts.begin is None:  # a day tracker: its date and minutes
            if ts.date is None or ts.minutes is None:
                continue
            day, minutes = ts.date, ts.minutes
        else:
            if ts.end is None:
                continue
            user = users.get(ts.user)
            try:
                zone = ZoneInfo(getattr(user, "timezone", None) or default_zone)
            except (ZoneInfoNotFoundError, ValueError):
                zone = ZoneInfo(default_zone)
            day = ts.begin.astimezone(zone).date()
            minutes = int(round((ts.end - ts.begin).total_seconds() / 60))
        if not (period[0] <= day <= period[1]):
            continue
        key = (person_of_user[ts.user], day)
        into = km if marker_of(ts.description) else other
        into[key] = into.get(key, 0) + minutes

    rows = []
    for key in sorted(set(tk) | set(km) | set(other), key=lambda k: (name(k[0]), k[0], k[1])):
        a, b = tk.get(key, 0), km.get(key, 0)
        rows.append({"person": name(key[0]), "person_iri": key[0], "date": key[1].isoformat(),
                     "timekeeper_hours": round(a / 60, 2),
                     f"{tracker}_hours": round(b / 60, 2), "difference_hours": round((b - a) / 60, 2),
                     "status": "ok" if a == b else "DIFFERENT",
                     f"other_{tracker}_hours": round(other.get(key, 0) / 60, 2)})
    return rows


def differences(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["status"] != "ok"]


def differences_first(rows: list[dict]) -> list[dict]:
    """The rows that differ, then the others, each in their order."""
    return sorted(rows, key=lambda row: row["status"] == "ok")


def hours_per_person(rows: list[dict], tracker: str = "kimai") -> dict[str, tuple[float, float]]:
    """Person IRI → (Timekeeper hours, tracker hours) over the rows."""
    out: dict[str, tuple[float, float]] = {}
    for row in rows:
        tk, tr = out.get(row["person_iri"], (0.0, 0.0))
        out[row["person_iri"]] = (tk + row["timekeeper_hours"], tr + row[f"{tracker}_hours"])
    return out

