"""The hours table: one row per person (by IRI) and day, Timekeeper beside Kimai."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from kimaisync.marker import description
from kimaisync.reconcile import reconciliation
from kimaisync.timekeeper import TimekeeperSnapshot, WorkLog

DAY = dt.date(2026, 3, 2)
UTC = dt.timezone.utc


def _sheet(user: int, hours: int, uuid: str):
    begin = dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
    return SimpleNamespace(user=user, begin=begin, end=begin + dt.timedelta(hours=hours), description=description(uuid))


def test_two_people_with_the_same_name_are_two_rows():
    jan_a, jan_b = "http://ex.org/people/jan-a", "http://ex.org/people/jan-b"
    snap = TimekeeperSnapshot(
        work_logs=[WorkLog(uri="http://ex.org/wl/1", uuid="wl1", date_raw=DAY.isoformat(), duration_raw="PT2H",
                           person=jan_a),
                   WorkLog(uri="http://ex.org/wl/2", uuid="wl2", date_raw=DAY.isoformat(), duration_raw="PT3H",
                           person=jan_b)],
        accounts={jan_a: [1], jan_b: [2]},
        person_names={jan_a: "Jan Peeters", jan_b: "Jan Peeters"})
    users = {1: SimpleNamespace(timezone="UTC"), 2: SimpleNamespace(timezone="UTC")}
    # Jan A's hours are right in Kimai; Jan B has one hour too few.
    table = reconciliation(snap, [_sheet(1, 2, "wl1"), _sheet(2, 2, "wl2")], users, period=(DAY, DAY),
                           default_zone="UTC")
    rows = {r["person_iri"]: r for r in table}
    assert len(table) == 2 and {r["person"] for r in table} == {"Jan Peeters"}
    assert (rows[jan_a]["timekeeper_hours"], rows[jan_a]["kimai_hours"], rows[jan_a]["status"]) == (2, 2, "ok")
    assert (rows[jan_b]["timekeeper_hours"], rows[jan_b]["kimai_hours"], rows[jan_b]["status"]) == (3, 2, "DIFFERENT")
