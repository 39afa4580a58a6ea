"""The emulator's state model, seeds and datetime helpers."""

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from emulators.kimai2.dates import (format_datetime, parse_form_datetime, parse_query_datetime, round_begin,
                                  round_end, zone)
from emulators.kimai2.seeds import DEMO_TOKEN, demo_state, small_state
from emulators.kimai2.state import EmuConfig, KimaiState


def test_round_trip_through_dict_and_json_file(tmp_path):
    state = small_state()
    state.config = EmuConfig(allow_overlapping=False, lockdown_end=datetime(2026, 7, 1, tzinfo=timezone.utc))
    state.add_timesheet(3, 1, 2, "2026-08-18T09:00:00", "2026-08-18T10:00:00", tags=["remote"], exported=True)
    state.add_timesheet(4, 31, 1, "2026-08-18T09:00:00")
    data = state.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert KimaiState.seed_from_dict(data).to_dict() == data
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = KimaiState.from_json_file(path)
    assert loaded.to_dict() == data
    assert loaded.projects[5].end == date(2025, 12, 31)
    assert loaded.timesheets[1].begin == datetime(2026, 8, 18, 13, 0, tzinfo=timezone.utc)


def test_seed_dict_by_hand_reads_naive_times_in_the_owners_zone():
    state = KimaiState.seed_from_dict({
        "users": [{"username": "ny", "timezone": "America/New_York"}],
        "customers": [{"name": "C"}],
        "projects": [{"name": "P", "customer": 1, "start": "2026-01-01"}],
        "activities": [{"name": "A", "project": 1, "id": 7}],
        "timesheets": [{"user": 1, "project": 1, "activity": 7, "begin": "2026-08-18T09:00:00"}],
    })
    record = state.timesheets[1]
    assert record.timezone == "America/New_York"
    assert format_datetime(record.begin, record.timezone) == "2026-08-18T09:00:00-0400"
    assert state.projects[1].start == date(2026, 1, 1)


def test_id_sequences_are_per_type():
    state = small_state()
    assert state.add_project("New", 1).id == 32
    assert state.add_activity("New").id == 32
    assert state.add_customer("New").id == 3
    with pytest.raises(ValueError):
        state.add_activity("Clash", id=31)


def test_entities_are_checked_on_creation():
    state = KimaiState()
    with pytest.raises(ValueError):
        state.add_user("x", roles=["ROLE_GOD"])
    with pytest.raises(KeyError):
        state.add_user("y", timezone="Mars/Olympus")
    state.add_user("z")
    state.add_customer("c")
    with pytest.raises(ValueError):
        state.add_project("p", customer=9)
    with pytest.raises(ValueError):
        state.add_activity("a", project=9)


class TestDemoState:
    def test_is_deterministic(self):
        assert demo_state(seed=1).to_dict() == demo_state(seed=1).to_dict()
        assert demo_state(seed=1).to_dict() != demo_state(seed=2).to_dict()

    def test_sizes(self):
        state = demo_state(people=5, customers=3, projects=6, activities=10, timesheets=12)
        assert (len(state.users), len(state.customers), len(state.projects), len(state.activities),
                len(state.timesheets)) == (6, 3, 6, 10, 12)

    def test_contains_the_awkward_cases(self):
        state = demo_state()
        admin = state.user_by_token(DEMO_TOKEN)
        assert admin is not None and admin.roles == ["ROLE_SUPER_ADMIN"]
        assert any(not p.visible for p in state.projects.values())
        assert any(p.color is None for p in state.projects.values())
        assert any(c.color is None for c in state.customers.values())
        assert any(c.color for c in state.customers.values())
        assert any(a.project is None for a in state.activities.values())
        assert any('"' in c.name for c in state.customers.values())
        assert any(not c.name.isascii() for c in state.customers.values())
        assert any(not (u.alias or "").isascii() for u in state.users.values())
        assert len({u.timezone for u in state.users.values()}) > 1
        assert any(not u.enabled for u in state.users.values())
        # Some activity has the id of a project it does not belong to.
        assert any(a.id in state.projects and a.project != a.id for a in state.activities.values())
        assert any(t.end is None for t in state.timesheets.values())
        assert any(t.exported for t in state.timesheets.values())

    def test_records_use_bookable_combinations_without_overlap(self):
        state = demo_state()
        for t in state.timesheets.values():
            activity = state.activities[t.activity]
            assert activity.project in (None, t.project)
        by_user = {}
        for t in sorted(state.timesheets.values(), key=lambda t: t.begin):
            previous = by_user.get(t.user)
            assert previous is None or previous.end is None or previous.end <= t.begin
            by_user[t.user] = t


# ------------------------------------------------------------------------------------ datetimes

ZONES = st.sampled_from(["Europe/Brussels", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Chatham"])
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1),
                        timezones=st.just(timezone.utc))


@given(INSTANTS, ZONES, st.sampled_from([1, 5, 15, 30]))
def test_rounding_brackets_the_instant(instant, tz_name, minutes):
    begin, end = round_begin(instant, minutes, tz_name), round_end(instant, minutes, tz_name)
    assert begin <= instant <= end
    assert instant - begin < timedelta(minutes=minutes)
    assert end - instant < timedelta(minutes=minutes)
    assert begin.second == end.second == 0


@given(INSTANTS, ZONES)
def test_response_format_round_trips(instant, tz_name):
    text = format_datetime(instant.replace(microsecond=0), tz_name)
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z") == instant.replace(microsecond=0)
    assert parse_form_datetime(text, "UTC") == instant.replace(microsecond=0)


def test_response_format_has_no_colon_in_the_offset():
    value = datetime(2026, 8, 18, 7, 0, tzinfo=timezone.utc)
    assert format_datetime(value, "Europe/Brussels") == "2026-08-18T09:00:00+0200"
    assert format_datetime(value, "Asia/Kolkata") == "2026-08-18T12:30:00+0530"


def test_query_and_form_parsers_differ_in_strictness():
    assert parse_query_datetime("2026-08-18T09:00:00", "Europe/Brussels") == datetime(
        2026, 8, 18, 9, tzinfo=zone("Europe/Brussels"))
    for lax in ("2026-08-18 09:00", "2026-08-18T09:00:00Z", "2026-08-18T09:00:00.250"):
        parse_form_datetime(lax, "Europe/Brussels")
        with pytest.raises(ValueError):
            parse_query_datetime(lax, "Europe/Brussels")


# ------------------------------------------------------------------------------------ overlap index

SPANS = st.tuples(st.integers(0, 3 * 24 * 60),
                  st.one_of(st.none(), st.integers(0, 20 * 60), st.integers(0, 20 * 60), st.integers(0, 3 * 24 * 60)),
                  st.sampled_from(["Europe/Brussels", "America/New_York", "Pacific/Chatham", "UTC"]))


@example(records=[(1, (20 * 60, 10 * 60, "UTC"))], stop=[], probe=(25 * 60, 60, "UTC"))  # from the day before
@example(records=[(2, (60, None, "UTC"))], stop=[0], probe=(40 * 60, 0, "UTC"))  # stopped in place, 2 days
@given(records=st.lists(st.tuples(st.integers(1, 2), SPANS), max_size=25),
       stop=st.lists(st.integers(0, 24), max_size=3), probe=SPANS)
def test_the_day_index_finds_every_record_a_time_span_touches(records, stop, probe):
    """Whatever the records (running, stopped in place later, multi-day, any zone), the records the
    overlap rule looks at include every one that touches the span."""
    from zoneinfo import ZoneInfo

    from emulators.kimai2.state import EmuTimesheet, TimesheetTable

    t0 = datetime(2025, 3, 28, tzinfo=timezone.utc)

    def span(start, length, tz):
        begin = (t0 + timedelta(minutes=start)).astimezone(ZoneInfo(tz))
        return begin, None if length is None else begin + timedelta(minutes=length)

    table = TimesheetTable()
    for i, (user, (start, length, tz)) in enumerate(records, 1):
        begin, end = span(start, length, tz)
        table[i] = EmuTimesheet(id=i, user=user, project=1, activity=1, begin=begin, end=end, timezone=tz)
    for i in stop:  # a running record stopped in place, as Kimai's active-entries limit does
        if i + 1 in table and table[i + 1].end is None:
            table[i + 1].end = table[i + 1].begin + timedelta(days=2)
    begin, end = span(*probe)
    end = end or begin
    for user in (1, 2):
        touching = {t.id for t in table.of_user(user) if t.begin <= end and (t.end is None or t.end >= begin)}
        assert touching <= {t.id for t in table.of_user_around(user, begin, end)}
