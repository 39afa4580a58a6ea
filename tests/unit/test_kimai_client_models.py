"""Kimai datetime formats, record models, error-body parsing and the retry loop."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st
from pydantic import ValidationError

from kimaisync.errors import (
    KimaiAuthError,
    KimaiRateLimitedError,
    KimaiServerError,
    KimaiTransportError,
    KimaiValidationError,
)
from kimaisync.trackers.kimai2 import (
    KimaiActivity,
    KimaiCustomer,
    KimaiProject,
    KimaiTimesheet,
    KimaiUser,
    TimesheetWrite,
    format_local,
    format_query,
    parse_kimai_datetime,
    parse_validation_details,
)
from kimaisync.retry import BASE_DELAY, call_with_retry

UTC = timezone.utc
BRU = ZoneInfo("Europe/Brussels")
NY = ZoneInfo("America/New_York")


# --------------------------------------------------------------------------- timefmt


@pytest.mark.parametrize("text", ["2026-08-18T09:00:00+0200", "2026-08-18T09:00:00+02:00"])
def test_parse_kimai_offsets_with_and_without_colon(text):
    dt = parse_kimai_datetime(text)
    assert dt.utcoffset() == timedelta(hours=2)
    assert dt == datetime(2026, 8, 18, 7, tzinfo=UTC)


def test_parse_negative_offset_and_z():
    assert parse_kimai_datetime("2026-01-10T00:30:00-0500") == datetime(2026, 1, 10, 5, 30, tzinfo=UTC)
    assert parse_kimai_datetime("2026-01-10T05:30:00Z") == datetime(2026, 1, 10, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-08-18T09:00:00", "2026-08-18", "yesterday", ""])
def test_parse_refuses_values_without_offset_or_garbage(text):
    with pytest.raises(ValueError):
        parse_kimai_datetime(text)


def test_format_local_is_the_wall_clock_in_the_zone_without_offset_or_fraction():
    instant = datetime(2026, 8, 18, 7, 0, 5, 999999, tzinfo=UTC)
    assert format_local(instant, BRU) == "2026-08-18T09:00:05"  # CEST
    assert format_local(instant, NY) == "2026-08-18T03:00:05"  # EDT
    assert format_local(datetime(2026, 1, 18, 7, tzinfo=UTC), BRU) == "2026-01-18T08:00:00"  # CET
    assert format_query(instant, UTC) == "2026-08-18T07:00:05"


def test_format_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        format_local(datetime(2026, 8, 18, 9), BRU)
    with pytest.raises(ValueError):
        format_query(datetime(2026, 8, 18, 9), BRU)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)),
       st.sampled_from([BRU, NY, UTC, ZoneInfo("Asia/Kolkata")]))
def test_format_then_parse_with_the_zones_offset_is_the_same_instant(instant, zone):
    """What Kimai does with our text: read it as wall clock in `zone`. Outside the repeated
    hour of a DST change that gives back the instant (to the second)."""
    text = format_local(instant, zone)
    wall = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    local = instant.astimezone(zone)
    if local.fold == 0:
        assert wall.replace(tzinfo=zone) == instant.replace(microsecond=0)
    assert "+" not in text and "Z" not in text and "." not in text


# --------------------------------------------------------------------------- models


def test_timesheet_from_a_collection_row():
    ts = KimaiTimesheet.model_validate(
        {"id": 42, "begin": "2026-08-18T09:00:00+0200", "end": "2026-08-18T12:30:00+0200", "duration": 12600,
         "break": 0, "description": "Sprint planning", "activity": 1, "project": 3, "user": 2,
         "tags": ["planning"], "metaFields": [], "exported": False, "billable": True, "rate": 262.5})
    assert ts.begin == datetime(2026, 8, 18, 7, tzinfo=UTC) and ts.end - ts.begin == timedelta(hours=3.5)
    assert (ts.user, ts.project, ts.activity, ts.duration, ts.description) == (2, 3, 1, 12600, "Sprint planning")
    # unknown fields are no error, and a timesheet holds only what the sync reads
    assert not ts.model_extra and set(type(ts).model_fields) == {"id", "begin", "end", "duration", "user", "project",
                                                                  "activity", "description", "exported"}


def test_timesheet_expanded_relations_become_ids_and_running_records_have_no_end():
    ts = KimaiTimesheet.model_validate(
        {"id": 1, "begin": "2026-08-18T09:00:00+0200", "end": None, "duration": 0, "description": None,
         "activity": {"id": 5, "name": "Meeting", "project": None},
         "project": {"id": 3, "name": "Web", "customer": {"id": 1, "name": "Acme"}},
         "user": {"id": 2, "username": "john"}, "tags": [{"id": 1, "name": "a"}], "exported": True})
    assert (ts.activity, ts.project, ts.user, ts.end, ts.exported) == (5, 3, 2, None, True)


def test_master_data_models():
    p = KimaiProject.model_validate({"id": 3, "name": "Web", "customer": 1, "globalActivities": False,
                                     "visible": False, "color": None, "color-safe": "#fff", "budget": 0.0})
    assert (p.customer, p.global_activities, p.visible) == (1, False, False)
    assert KimaiProject.model_validate({"id": 3, "name": "W", "customer": {"id": 9}}).customer == 9
    assert KimaiActivity.model_validate({"id": 1, "name": "M", "project": None}).project is None
    assert KimaiActivity.model_validate({"id": 1, "name": "M", "project": {"id": 4}}).project == 4
    assert KimaiCustomer.model_validate({"id": 1, "name": "Acme", "visible": True, "color": "#123456"}).color == "#123456"
    u = KimaiUser.model_validate({"id": 2, "username": "john", "alias": None, "enabled": False,
                                  "timezone": "Europe/Berlin", "apiToken": False})
    assert (u.enabled, u.timezone, u.alias) == (False, "Europe/Berlin", None)


def test_timesheet_write_refuses_naive_times_and_serialises_in_a_zone():
    with pytest.raises(ValidationError):
        TimesheetWrite(begin=datetime(2026, 8, 18, 9), end=datetime(2026, 8, 18, 10, tzinfo=UTC),
                       project=1, activity=1)
    w = TimesheetWrite(begin=datetime(2026, 3, 29, 0, 30, tzinfo=UTC), end=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
                       project=1, activity=2)
    # the night Brussels moves from CET to CEST: 01:30 CET, then 03:30 CEST
    assert w.to_body(BRU) == {"begin": "2026-03-29T01:30:00", "end": "2026-03-29T03:30:00",
                              "project": 1, "activity": 2}


# --------------------------------------------------------------------------- 400 bodies


def test_validation_details_from_the_form_shape_with_nested_children():
    d = parse_validation_details({"code": 400, "message": "Validation Failed", "errors": {
        "errors": ["global one"],
        "children": {"begin": {}, "activity": {"errors": ["bad choice"]},
                     "meta": {"children": {"x": {"errors": ["nested"]}}}}}})
    assert d.global_errors == ["global one"]
    assert d.field_errors == {"activity": ["bad choice"], "meta.x": ["nested"]}
    err = KimaiValidationError("Kimai refused", d, method="POST", path="/api/timesheets")
    assert str(err) == "POST /api/timesheets: Kimai refused: global one | activity: bad choice | meta.x: nested"


@pytest.mark.parametrize("body", [{"code": 400, "message": "Bad Request"}, None, "x", {"errors": "?"}])
def test_validation_details_from_bodies_without_details(body):
    d = parse_validation_details(body)
    assert d.global_errors == [] and d.field_errors == {}


# --------------------------------------------------------------------------- retry loop


def test_call_with_retry_retries_transient_errors_with_the_policys_delays():
    outcomes = [KimaiServerError("x", status=503), KimaiRateLimitedError("y", retry_after=9),
                KimaiTransportError("z"), "ok"]
    sleeps, seen = [], []

    def fn():
        o = outcomes.pop(0)
        if isinstance(o, Exception):
            raise o
        return o

    assert call_with_retry(fn, attempts=5, sleep=sleeps.append,
                           on_retry=lambda e, n, d: seen.append((type(e).__name__, n, d))) == "ok"
    # doubling from the policy's base delay, except where Kimai said how long (Retry-After)
    assert sleeps == [BASE_DELAY, 9, BASE_DELAY * 4]
    assert seen == [("KimaiServerError", 1, BASE_DELAY), ("KimaiRateLimitedError", 2, 9),
                    ("KimaiTransportError", 3, BASE_DELAY * 4)]


def test_call_with_retry_does_not_retry_permanent_errors_and_stops_at_attempts():
    calls = []

    def auth():
        calls.append(1)
        raise KimaiAuthError("no")

    with pytest.raises(KimaiAuthError):
        call_with_retry(auth, attempts=5, sleep=lambda s: None)
    assert len(calls) == 1

    def flaky():
        calls.append(1)
        raise KimaiServerError("down", status=500)

    calls.clear()
    attempts = 3
    with pytest.raises(KimaiServerError):
        call_with_retry(flaky, attempts=attempts, sleep=lambda s: None)
    assert len(calls) == attempts  # `attempts` counts every call, the first one included
    with pytest.raises(ValueError):
        call_with_retry(flaky, attempts=0)


def test_whether_an_error_is_retried_is_its_type():
    from kimaisync.errors import SparqlQueryError, SparqlUnavailableError, Transient, WriterLockUnavailable

    class FlakyDisk(Transient):
        pass

    for transient in (FlakyDisk("x"), SparqlUnavailableError("down"), WriterLockUnavailable("no db")):
        attempts = []

        def fail(exc=transient):
            attempts.append(1)
            raise exc

        with pytest.raises(type(transient)):
            call_with_retry(fail, attempts=3, sleep=lambda s: None)
        assert len(attempts) == 3, type(transient).__name__
    try:
        raise SparqlQueryError("bad query")
    except Transient:  # noqa: B014 - the point: a permanent error is not caught as transient
        pytest.fail("a refused query is not transient")
    except SparqlQueryError:
        pass


def test_no_prefect_task_retries_what_the_clients_already_retried():
    import importlib

    from prefect import Task

    for name in ("tasks.worklogs", "tasks.reference", "flows.worklog_delta", "flows.timesheet_lock",
                 "flows.worklog_period", "flows.reference_data", "flows.accounts", "flows.fallback"):
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, Task):
                assert not value.retries, f"{name}.{value.name} retries {value.retries} times on top of the client"
