"""Hours per person and day, Timekeeper beside Kimai, with the differences marked.

The table answers the question a person asks after a run: "are my hours right in Kimai?"
Timekeeper's side counts every work log whose duration can be read; Kimai's side counts the
timesheets the sync keeps (those with its marker) of the Kimai users linked to people, on the
owner's local date. Hours people typed into Kimai themselves are shown beside, not compared.
Rows are plain dicts (a table artifact takes them as they are): no data-frame library to load,
which a CLI verb would pay for at every start.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import csv

from kimaisync.durations import DurationError, parse_minutes
from kimaisync.marker import marker_of
from kimaisync.timekeeper import TimekeeperSnapshot

COLUMNS = ["person", "date", "timekeeper_hours", "kimai_hours", "difference_hours", "status", "other_kimai_hours"]


def reconciliation(snap: TimekeeperSnapshot, timesheets: Iterable, users: dict, *,
                   period: tuple[dt.date, dt.date], default_zone: str) -> list[dict]:
    """One row per person and day (COLUMNS), sorted by person and date."""
    person_of_user: dict[int, str] = {}
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
        key = (name(log.person), log.date)
        tk[key] = tk.get(key, 0) + minutes

    km: dict[tuple[str, dt.date], int] = {}
    other: dict[tuple[str, dt.date], int] = {}
    for ts in timesheets:
        if ts.end is None or ts.user not in person_of_user:
            continue
        user = users.get(ts.user)
        try:
            zone = ZoneInfo(getattr(user, "timezone", None) or default_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(default_zone)
        day = ts.begin.astimezone(zone).date()
        if not (period[0] <= day <= period[1]):
            continue
        key = (name(person_of_user[ts.user]), day)
        into = km if marker_of(ts.description) else other
        into[key] = into.get(key, 0) + int(round((ts.end - ts.begin).total_seconds() / 60))

    rows = []
    for key in sorted(set(tk) | set(km) | set(other)):
        a, b = tk.get(key, 0), km.get(key, 0)
        rows.append({"person": key[0], "date": key[1].isoformat(), "timekeeper_hours": round(a / 60, 2),
                     "kimai_hours": round(b / 60, 2), "difference_hours": round((b - a) / 60, 2),
                     "status": "ok" if a == b else "DIFFERENT",
                     "other_kimai_hours": round(other.get(key, 0) / 60, 2)})
    return rows


def differences(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["status"] != "ok"]


def differences_first(rows: list[dict]) -> list[dict]:
    """The rows that differ, then the others, each in their order."""
    return sorted(rows, key=lambda row: row["status"] == "ok")


def hours_per_person(rows: list[dict]) -> dict[str, tuple[float, float]]:
    """Person → (Timekeeper hours, Kimai hours) over the rows."""
    out: dict[str, tuple[float, float]] = {}
    for row in rows:
        tk, km = out.get(row["person"], (0.0, 0.0))
        out[row["person"]] = (tk + row["timekeeper_hours"], km + row["kimai_hours"])
    return out


def write_csv(rows: list[dict], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
