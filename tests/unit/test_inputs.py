"""The input models the CLI, the receiver and the flows share (kimaisync.inputs)."""

from __future__ import annotations

import datetime as dt

import pytest

from kimaisync.inputs import InputError, InputLimits, KimaiId, LockMonth, Period, iri_problem, parse


@pytest.mark.parametrize("body", [{"month": 3, "year": 2025}, {"month": "3", "year": "2025"},
                                  {"month": "03", "year": 2025}, {"month": 3, "year": "2025", "extra": 1}])
def test_months_and_years_as_json_numbers_or_ascii_digit_strings(body):
    chosen = parse(LockMonth, body)
    assert (chosen.month, chosen.year) == (3, 2025)
    assert (chosen.first_day, chosen.last_day) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


@pytest.mark.parametrize("body, says", [
    ({"month": "\u00b2", "year": 2025}, "'month' must be a number from 1 to 12"),  # superscript two
    ({"month": "\u0669", "year": 2025}, "'month' must be a number from 1 to 12"),  # Arabic-Indic nine
    ({"month": "\uff13", "year": 2025}, "'month' must be a number from 1 to 12"),  # fullwidth three
    ({"month": 3, "year": "\u0662\u0660\u0662\u0665"}, "'year' must be a number such as 2025"),
    ({"month": True, "year": 2025}, "'month' must be a number from 1 to 12"),
    ({"month": 3.0, "year": 2025}, "'month' must be a number from 1 to 12"),
    ({"month": 0, "year": 2025}, "'month' must be a number from 1 to 12"),
    ({"month": 13, "year": 2025}, "'month' must be a number from 1 to 12"),
    ({"month": 3, "year": 1999}, "'year' must be in the years 2000 to 2100"),
    ({"month": 3, "year": 9999}, "'year' must be in the years 2000 to 2100"),
    ({"month": 3}, "'year' is missing"),
    ([3, 2025], "expected a JSON object"),
])
def test_bad_months_and_years_are_refused_with_a_reason(body, says):
    with pytest.raises(InputError, match=None) as info:
        parse(LockMonth, body)
    assert says in str(info.value)


def test_the_year_window_comes_from_the_settings():
    assert parse(LockMonth, {"month": 1, "year": 1995}, InputLimits(1990, 2000)).year == 1995
    with pytest.raises(InputError, match="1990 to 2000"):
        parse(LockMonth, {"month": 1, "year": 2025}, InputLimits(1990, 2000))


@pytest.mark.parametrize("start, end", [("2025-03-01", "2025-03-31"), ("2025-01-30T00:00:00.000Z", "2025-03-02T10:00:00Z"),
                                        ("2025-03-01T00:00:00+01:00", "2025-03-01")])
def test_periods_as_dates_or_the_old_crons_datetimes(start, end):
    period = parse(Period, {"start": start, "end": end})
    assert period.start <= period.end and period.start.year == 2025


@pytest.mark.parametrize("body, says", [
    ({"start": "0001-01-01", "end": "0001-01-02"}, "'start' must be in the years 2000 to 2100"),
    ({"start": "9999-12-30", "end": "9999-12-31"}, "'start' must be in the years 2000 to 2100"),
    ({"start": "\uff12\uff10\uff12\uff15-03-01", "end": "2025-03-02"}, "is not a valid date"),
    ({"start": "2025-02-30", "end": "2025-03-02"}, "is not a valid date"),
    ({"start": "2025-03-02", "end": "2025-03-01"}, "start 2025-03-02 is after end 2025-03-01"),
    ({"start": "2024-01-01", "end": "2025-02-04"}, "the period has 401 days, more than 400"),
    ({"start": 20250301, "end": "2025-03-02"}, "must be a date string"),
    ({"start": "2025-03-01", "end": "2025-03-02", "allowLongPeriod": "yes"}, "must be true or false"),
])
def test_impossible_or_unbounded_periods_are_refused(body, says):
    with pytest.raises(InputError) as info:
        parse(Period, body)
    assert says in str(info.value)


def test_a_long_period_needs_the_explicit_flag():
    body = {"start": "2024-01-01", "end": "2025-06-30"}
    with pytest.raises(InputError):
        parse(Period, body)
    assert parse(Period, {**body, "allowLongPeriod": True}).allow_long_period
    assert parse(Period, {**body, "allow_long_period": True}).allow_long_period


@pytest.mark.parametrize("given, ok", [("1", True), ("2147483647", True), (42, True), ("2147483648", False),
                                       ("0", False), ("-1", False), ("1e3", False), ("\u00b2", False), ("", False)])
def test_kimai_ids_are_ascii_digits_within_kimais_integer_range(given, ok):
    if ok:
        assert parse(KimaiId, {"id": given}).id == int(given)
    else:
        with pytest.raises(InputError, match="is not a Kimai timesheet id"):
            parse(KimaiId, {"id": given})


@pytest.mark.parametrize("text, ok", [
    ("http://timekeeper.redpencil.io/work-logs/67D1", True), ("urn:uuid:1234", True), ("http://x/caf\u00e9", True),
    ("bad subject", False), ("_:b0", False), ("http://x/a\x00b", False), ("http://x/a b", False),
    ("http://x/\ud800", False), ("http://x> } ; DROP ALL ; { <http://y", False), ("", False),
    ("http://x/" + "a" * 3000, False), ("relative/path", False),
])
def test_what_counts_as_an_iri(text, ok):
    assert (iri_problem(text) is None) is ok
