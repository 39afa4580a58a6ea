"""Hours per person and day, Timekeeper beside Kimai, with the differences marked.

The table answers the question a person asks after a run: "are my hours right in Kimai?"
Timekeeper's side counts every work log whose duration can be read; Kimai's side counts the
timesheets the sync keeps (those with its marker) of the Kimai users linked to people, on the
owner's local date. Hours people typed into Kimai themselves are shown beside, not compared.
Rows are keyed by the person's IRI: two people who share a display name are two rows. The table
is a list of plain rows (a dict per row, keys in COLUMNS order): a few hundred of them, which a
Prefect table artifact and a CSV file take as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kimaisync.durations import DurationError, parse_minutes
from kimaisync.marker import marker_of
from kimaisync.timekeeper import TimekeeperSnapshot

COLUMNS = ["person", "person_iri", "date", "timekeeper_hours", "kimai_hours", "difference_hours", "status", "other_kimai_hours"]


def reconciliation(snap: TimekeeperSnapshot, timesheets: Iterable, users: dict, *,
                   period: tuple[dt.date, dt.date], default_zone: str) -> list[dict[str, Any]]:
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
        key = (log.person, log.date)
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
        key = (person_of_user[ts.user], day)
        into = km if marker_of(ts.description) else other
        into[key] = into.get(key, 0) + int(round((ts.end - ts.begin).total_seconds() / 60))

    rows = []
    for key in sorted(set(tk) | set(km) | set(other), key=lambda k: (name(k[0]), k[0], k[1])):
        a, b = tk.get(key, 0), km.get(key, 0)
        rows.append({"person": name(key[0]), "person_iri": key[0], "date": key[1].isoformat(), "timekeeper_hours": round(a / 60, 2),
                     "kimai_hours": round(b / 60, 2), "difference_hours": round((b - a) / 60, 2),
                     "status": "ok" if a == b else "DIFFERENT",
                     "other_kimai_hours": round(other.get(key, 0) / 60, 2)})
    return rows


def differences(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] != "ok"]


def differences_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that differ, then the others, each in their order."""
    return differences(rows) + [r for r in rows if r["status"] == "ok"]


def hours_per_person(rows: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Person IRI -> (Timekeeper hours, Kimai hours) over all the rows' days."""
    out: dict[str, tuple[float, float]] = {}
    for r in rows:
        tk, km = out.get(r["person_iri"], (0.0, 0.0))
        out[r["person_iri"]] = (tk + r["timekeeper_hours"], km + r["kimai_hours"])
    return out


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
