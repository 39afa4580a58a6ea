"""Read endpoints of the Kimai emulator: lists, filters, pagination and serialization."""

import re
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from emulators.kimai2.app import create_app
from emulators.kimai2.dates import zone
from emulators.kimai2.state import EmuConfig
from kimai2_emulator_helpers import bearer

KIMAI_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}")
BRUSSELS = zone("Europe/Brussels")


def get(client, path, as_user="admin", **params):
    return client.get("/api" + path, headers=bearer(as_user), params=params)


def add_hours(state, user, count, start=datetime(2026, 8, 3, 8, 0, tzinfo=BRUSSELS), **values):
    """``count`` one-hour records of ``user`` on consecutive days, project 1 / activity 2."""
    return [state.add_timesheet(user, 1, 2, start + timedelta(days=n), start + timedelta(days=n, hours=1), **values)
            for n in range(count)]


# ------------------------------------------------------------------------------ status endpoints

def test_ping_version_and_timesheet_config(client, state):
    assert get(client, "/ping").json() == {"message": "pong"}
    assert get(client, "/version").json() == {"version": "2.65.0", "versionId": 26500,
                                             "copyright": "Kimai 2.65.0 by Kevin Papst."}
    state.config = EmuConfig(allow_overlapping=False, allow_future_times=False, tracking_mode="punch")
    assert get(client, "/config/timesheet").json() == {
        "trackingMode": "punch", "defaultBeginTime": "now", "activeEntriesHardLimit": 1,
        "isAllowFutureTimes": False, "isAllowOverlapping": False}


# -------------------------------------------------------------------------------------- users

def test_users_me_is_the_entity_of_the_caller(client):
    me = get(client, "/users/me", as_user="alice").json()
    assert me["id"] == 3 and me["timezone"] == "America/New_York"
    assert me["roles"] == [] and me["memberships"] == [] and me["teams"] == []
    assert me["initials"] == "AA" and me["apiToken"] is True
    assert get(client, "/users/me", as_user="lead").json()["roles"] == ["ROLE_TEAMLEAD"]


@pytest.mark.parametrize("visible,expected", [(None, {1, 2, 3, 4, 6}), ("1", {1, 2, 3, 4, 6}), ("2", {5}),
                                              ("3", {1, 2, 3, 4, 5, 6})])
def test_users_visible_maps_to_enabled(client, visible, expected):
    params = {} if visible is None else {"visible": visible}
    assert {u["id"] for u in get(client, "/users", **params).json()} == expected


def test_users_list_is_collection_shape_unless_full(client):
    plain = get(client, "/users").json()
    assert "roles" not in plain[0] and "timezone" in plain[0]
    assert [u["username"] for u in plain] == ["admin", "alice", "bob", "dora", "lead"]
    assert all("roles" in u for u in get(client, "/users", full="true").json())
    assert get(client, "/users", full="yes").status_code == 400


# ---------------------------------------------------------------------------------- customers

def test_customers_visible_filter_and_ignored_paging(client):
    assert [c["name"] for c in get(client, "/customers").json()] == ["Acme"]
    assert [c["name"] for c in get(client, "/customers", visible=2).json()] == ["Hidden Corp"]
    both = get(client, "/customers", visible=3)
    assert [c["id"] for c in both.json()] == [1, 2]
    assert "X-Total-Pages" not in both.headers
    assert get(client, "/customers", visible=3, page=2, size=1).json() == both.json()


def test_customers_full_accepts_only_0_or_1(client):
    assert get(client, "/customers", full=1).status_code == 200
    assert get(client, "/customers", full="true").json() == {"code": 400, "message": "Bad Request"}


def test_customer_details_need_permission(client):
    assert "vatId" in get(client, "/customers", full=1).json()[0]
    assert "vatId" not in get(client, "/customers", as_user="alice", full=1).json()[0]


def test_customers_order_is_case_sensitive(client):
    assert [c["id"] for c in get(client, "/customers", visible=3, orderBy="id", order="DESC").json()] == [2, 1]
    assert get(client, "/customers", order="desc").status_code == 400


# ----------------------------------------------------------------------------------- projects

def test_projects_default_to_visible_and_active_today(client):
    assert [p["id"] for p in get(client, "/projects", orderBy="id").json()] == [1, 2, 31]


def test_projects_ignore_dates(client):
    assert [p["id"] for p in get(client, "/projects", orderBy="id", ignoreDates=1).json()] == [1, 2, 5, 6, 31]


def test_projects_with_explicit_dates(client):
    ids = [p["id"] for p in get(client, "/projects", orderBy="id", start="2025-06-01", end="2025-06-30").json()]
    assert ids == [1, 2, 5, 31]
    assert get(client, "/projects", start="01.06.2025").status_code == 400


def test_projects_visible_respects_the_customer(client):
    """visible=2: hidden projects of visible customers; visible=3: everything."""
    assert [p["id"] for p in get(client, "/projects", visible=2, ignoreDates=1).json()] == [3]
    assert {p["id"] for p in get(client, "/projects", visible=3, ignoreDates=1).json()} == {1, 2, 3, 4, 5, 6, 31}


def test_project_shape(client):
    website = get(client, "/projects", orderBy="id").json()[0]
    assert website["parentTitle"] == "Acme" and website["customer"] == 1
    assert website["color"] == "#2f9e44" == website["color-safe"]
    internal = get(client, "/projects", orderBy="id").json()[1]
    assert internal["color"] is None and internal["color-safe"].startswith("#")
    assert internal["globalActivities"] is False
    old = next(p for p in get(client, "/projects", ignoreDates=1).json() if p["id"] == 5)
    assert (old["start"], old["end"]) == ("2025-01-01", "2025-12-31")


# --------------------------------------------------------------------------------- activities

def test_activities_default_hides_hidden_and_hidden_parents(client):
    assert [a["id"] for a in get(client, "/activities", orderBy="id").json()] == [1, 2, 3, 31]
    assert [a["id"] for a in get(client, "/activities", visible=2).json()] == [4]


def test_activity_of_project_includes_globals_unless_the_project_forbids_them(client):
    assert [a["id"] for a in get(client, "/activities", project=1, orderBy="id").json()] == [1, 2, 31]
    assert [a["id"] for a in get(client, "/activities", project=2).json()] == [3]
    assert [a["id"] for a in get(client, "/activities", **{"projects[]": [1, 2]}, orderBy="id").json()] == [1, 2, 3, 31]


def test_globals_only_and_global_shape(client):
    globals_ = get(client, "/activities", globals="true").json()
    assert [a["id"] for a in globals_] == [1]
    assert globals_[0]["project"] is None and globals_[0]["parentTitle"] is None


def test_activity_ids_are_independent_of_project_ids(client):
    design = next(a for a in get(client, "/activities").json() if a["id"] == 31)
    assert design["project"] == 1 and design["parentTitle"] == "Website"


# ------------------------------------------------------------------------- timesheet listing

def test_timesheet_pagination_headers(client, state):
    add_hours(state, 1, 22)
    response = get(client, "/timesheets", page=2, size=4)
    assert response.status_code == 200
    assert len(response.json()) == 4
    assert {k: response.headers[k] for k in ("X-Page", "X-Per-Page", "X-Total-Pages", "X-Total-Count")} == {
        "X-Page": "2", "X-Per-Page": "4", "X-Total-Pages": "6", "X-Total-Count": "22"}
    assert len(get(client, "/timesheets", page=6, size=4).json()) == 2


def test_timesheet_page_past_the_end_is_404(client, state):
    add_hours(state, 1, 3)
    response = get(client, "/timesheets", page=2, size=4)
    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


def test_empty_timesheet_list(client):
    response = get(client, "/timesheets")
    assert response.status_code == 200 and response.json() == []
    assert response.headers["X-Total-Pages"] == "1" and response.headers["X-Total-Count"] == "0"
    assert get(client, "/timesheets", page=2).status_code == 404


@pytest.mark.parametrize("size,effective", [("0", "50"), ("501", "500"), ("500", "500"), ("1", "1")])
def test_page_size_is_clamped(client, state, size, effective):
    add_hours(state, 1, 1)
    assert get(client, "/timesheets", size=size).headers["X-Per-Page"] == effective


@pytest.mark.parametrize("params", [{"size": "-1"}, {"page": "x"}, {"order": "asc"}, {"orderBy": "duration"},
                                    {"user": "me"}, {"exported": "true"}, {"active": "2"}, {"full": "yes"},
                                    {"project": "abc"}, {"users[]": "x"}])
def test_strict_parameters_reject_bad_values(client, params):
    response = get(client, "/timesheets", **params)
    assert response.status_code == 400
    assert response.json() == {"code": 400, "message": "Bad Request"}


def test_page_zero_means_page_one(client, state):
    add_hours(state, 1, 1)
    assert get(client, "/timesheets", page=0).headers["X-Page"] == "1"


def test_default_order_is_begin_descending_with_id_tie_breaker(client, state):
    same = datetime(2026, 8, 3, 8, 0, tzinfo=BRUSSELS)
    first = state.add_timesheet(1, 1, 2, same, same + timedelta(hours=1))
    second = state.add_timesheet(1, 1, 2, same, same + timedelta(hours=2))
    later = state.add_timesheet(1, 1, 2, same + timedelta(days=1), same + timedelta(days=1, hours=1))
    assert [t["id"] for t in get(client, "/timesheets").json()] == [later.id, second.id, first.id]
    assert [t["id"] for t in get(client, "/timesheets", orderBy="id", order="ASC").json()] == [
        first.id, second.id, later.id]


def test_plain_user_sees_only_own_records_and_user_param_is_ignored(client, state):
    add_hours(state, 3, 2)
    add_hours(state, 4, 3)
    for params in ({}, {"user": "all"}, {"user": "4"}, {"users[]": ["4"]}):
        assert {t["user"] for t in get(client, "/timesheets", as_user="alice", **params).json()} == {3}, params


def test_teamlead_may_ask_for_other_users(client, state):
    add_hours(state, 3, 2)
    add_hours(state, 4, 3)
    assert get(client, "/timesheets", as_user="lead").json() == []
    assert len(get(client, "/timesheets", as_user="lead", user="all").json()) == 5


def test_user_filters_for_admins(client, state):
    add_hours(state, 3, 2)
    add_hours(state, 4, 3)
    add_hours(state, 6, 1)
    assert {t["user"] for t in get(client, "/timesheets", user="4").json()} == {4}
    listed = get(client, "/timesheets", **{"users[]": ["3", "6"]}).json()
    assert sorted(t["user"] for t in listed) == [3, 3, 6]


def test_begin_and_end_filters_use_the_callers_timezone_and_end_compares_begin(client, state):
    record = add_hours(state, 1, 1, start=datetime(2026, 8, 18, 9, 0, tzinfo=BRUSSELS))[0]
    assert [t["id"] for t in get(client, "/timesheets", begin="2026-08-18T09:00:00").json()] == [record.id]
    assert get(client, "/timesheets", begin="2026-08-18T09:00:01").json() == []
    # end=09:30 keeps a record that ends at 10:00: the filter compares the record's begin.
    assert [t["id"] for t in get(client, "/timesheets", end="2026-08-18T09:30:00").json()] == [record.id]
    assert get(client, "/timesheets", end="2026-08-18T08:59:59").json() == []


def test_begin_filter_in_another_callers_zone(client, state):
    """Alice is in New York: 03:00 there is 09:00 in Brussels."""
    add_hours(state, 3, 1, start=datetime(2026, 8, 18, 9, 0, tzinfo=BRUSSELS))
    assert len(get(client, "/timesheets", as_user="alice", begin="2026-08-18T03:00:00").json()) == 1
    assert get(client, "/timesheets", as_user="alice", begin="2026-08-18T03:00:01").json() == []


@pytest.mark.parametrize("value", ["2026-08-18", "2026-08-18T09:00:00Z", "2026-08-18T09:00:00+02:00",
                                   "2026-08-18T09:00", "2026-08-18 09:00:00", "2026-08-18T09:00:00.5",
                                   "2026-02-30T09:00:00"])
def test_date_filters_are_strict(client, value):
    for name in ("begin", "end", "modified_after"):
        assert get(client, "/timesheets", **{name: value}).json() == {"code": 400, "message": "Bad Request"}


def test_modified_after_is_utc_and_inclusive(client, state):
    stamp = datetime(2026, 8, 18, 7, 0, tzinfo=zone("UTC"))
    record = add_hours(state, 1, 1, modified_at=stamp)[0]
    assert [t["id"] for t in get(client, "/timesheets", modified_after="2026-08-18T07:00:00").json()] == [record.id]
    assert get(client, "/timesheets", modified_after="2026-08-18T07:00:01").json() == []


def test_state_filters(client, state):
    stopped, exported = add_hours(state, 1, 2)
    exported.exported = True
    running = state.add_timesheet(1, 31, 1, "2026-08-19T09:00:00+02:00")
    assert [t["id"] for t in get(client, "/timesheets", exported=1).json()] == [exported.id]
    assert {t["id"] for t in get(client, "/timesheets", exported=0).json()} == {stopped.id, running.id}
    assert [t["id"] for t in get(client, "/timesheets", active=1).json()] == [running.id]
    assert len(get(client, "/timesheets", active=0).json()) == 2


def test_relation_and_term_filters(client, state):
    website = add_hours(state, 1, 1, description="Fixed the Login page")[0]
    other = state.add_timesheet(1, 31, 1, "2026-08-19T09:00:00", "2026-08-19T10:00:00", description="Call")
    assert [t["id"] for t in get(client, "/timesheets", project=31).json()] == [other.id]
    assert [t["id"] for t in get(client, "/timesheets", activity=2).json()] == [website.id]
    assert len(get(client, "/timesheets", customer=1).json()) == 2
    assert get(client, "/timesheets", customer=2).json() == []
    assert [t["id"] for t in get(client, "/timesheets", term="login").json()] == [website.id]


def test_tag_filter(client, state):
    tagged = add_hours(state, 1, 1, tags=["onsite"])[0]
    add_hours(state, 1, 1, start=datetime(2026, 9, 1, 8, 0, tzinfo=BRUSSELS))
    assert [t["id"] for t in get(client, "/timesheets", **{"tags[]": ["onsite", "nope"]}).json()] == [tagged.id]
    assert get(client, "/timesheets", **{"tags[]": ["nope"]}).status_code == 400


def test_full_expands_relations(client, state):
    add_hours(state, 1, 1)
    state.add_timesheet(1, 1, 1, "2026-08-19T09:00:00", "2026-08-19T10:00:00")
    for flag in ("1", "true"):
        rows = get(client, "/timesheets", full=flag, orderBy="id", order="ASC").json()
        assert rows[0]["project"]["customer"]["name"] == "Acme"
        assert rows[0]["activity"]["project"]["id"] == 1
        assert rows[1]["activity"]["project"] is None  # global activity
        assert rows[0]["user"]["username"] == "admin"
    assert isinstance(get(client, "/timesheets", full="false").json()[0]["project"], int)


# ------------------------------------------------------------------------ timesheet serialization

def test_timesheet_collection_and_entity_shapes(client, state):
    record = state.add_timesheet(3, 1, 2, "2026-08-18T14:00:00", "2026-08-18T15:30:00", hourly_rate=80,
                                 description=None, tags=["remote"])
    item = get(client, "/timesheets", as_user="admin", user="3").json()[0]
    assert item == {"id": record.id, "begin": "2026-08-18T14:00:00-0400", "end": "2026-08-18T15:30:00-0400",
                    "duration": 5400, "break": 0, "description": None, "activity": 2, "project": 1, "user": 3,
                    "tags": ["remote"], "metaFields": [], "exported": False, "billable": True,
                    "rate": 120.0, "internalRate": 120.0}
    entity = get(client, f"/timesheets/{record.id}").json()
    assert entity["fixedRate"] is None and entity["hourlyRate"] == 80.0
    assert client.get(f"/api/timesheets/{record.id}", headers=bearer("admin")).text.count('"rate":120.0') == 1


def test_running_record_has_null_end_and_zero_duration(client, state):
    state.add_timesheet(1, 1, 2, "2026-08-19T09:00:00")
    row = get(client, "/timesheets").json()[0]
    assert row["end"] is None and row["duration"] == 0
    assert KIMAI_DATETIME.fullmatch(row["begin"])


def test_rates_are_hidden_without_permission_from_2_66(client, state):
    record = add_hours(state, 3, 1)[0]
    assert "rate" in get(client, f"/timesheets/{record.id}", as_user="alice").json()
    state.config = EmuConfig(version="2.66.0", version_id=26600)
    assert "rate" not in get(client, f"/timesheets/{record.id}", as_user="alice").json()
    assert "hourlyRate" in get(client, f"/timesheets/{record.id}", as_user="lead").json()


def test_get_single_timesheet_errors(client, state):
    record = add_hours(state, 4, 1)[0]
    assert get(client, "/timesheets/999").json() == {"code": 404, "message": "Not Found"}
    assert get(client, "/timesheets/abc").status_code == 404
    assert get(client, f"/timesheets/{record.id}", as_user="alice").json() == {"code": 403, "message": "Forbidden"}
    assert get(client, f"/timesheets/{record.id}", as_user="bob").status_code == 200


def test_project_dates_are_plain_dates(state):
    state.projects[1].start = date(2026, 1, 1)
    body = TestClient(create_app(state)).get("/api/projects", headers=bearer("admin"), params={"orderBy": "id"})
    assert body.json()[0]["start"] == "2026-01-01"


# ---------------------------------------------------------------------------------------- tags

def test_tag_endpoints(client, state):
    state.add_tag("hidden-tag", visible=False)
    assert get(client, "/tags").json() == ["onsite", "remote"]
    assert get(client, "/tags/find").json() == []
    assert [t["name"] for t in get(client, "/tags/find", name="on").json()] == ["onsite"]
    created = client.post("/api/tags", headers=bearer("alice"), json={"name": "review", "visible": True})
    assert created.status_code == 200 and created.json()["name"] == "review"
    invisible = client.post("/api/tags", headers=bearer("alice"), json={"name": "draft"}).json()
    assert invisible["visible"] is False  # clear-missing semantics of the tag form
    duplicate = client.post("/api/tags", headers=bearer("alice"), json={"name": "review"})
    assert duplicate.json()["errors"]["children"]["name"] == {"errors": ["This value is already used."]}
    comma = client.post("/api/tags", headers=bearer("alice"), json={"name": "a,b", "visible": True})
    assert comma.status_code == 400
