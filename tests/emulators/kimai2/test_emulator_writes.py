"""Timesheet writes against the Kimai emulator: one test per rule, status and body shape."""

from datetime import datetime, timedelta

import pytest

from emulators.kimai2.dates import zone
from emulators.kimai2.seeds import SMALL_NOW
from emulators.kimai2.state import EmuConfig
from kimai2_emulator_helpers import bearer

BRUSSELS = zone("Europe/Brussels")
PLAIN_USER_FIELDS = ["begin", "end", "project", "activity", "description", "tags", "user"]
EXTRA_FIELDS = "This form should not contain extra fields."
BAD_REQUEST = {"code": 400, "message": "Bad Request"}
FORBIDDEN = {"code": 403, "message": "Forbidden"}
NOT_FOUND = {"code": 404, "message": "Not Found"}


def post(client, body, as_user="alice", **params):
    return client.post("/api/timesheets", headers=bearer(as_user), json=body, params=params)


def patch(client, record_id, body, as_user="alice"):
    return client.patch(f"/api/timesheets/{record_id}", headers=bearer(as_user), json=body)


def booking(**fields):
    """A valid body for project 1 / activity 2 on 2026-08-18, overridable per field."""
    return {"project": 1, "activity": 2, "begin": "2026-08-18T09:00:00", "end": "2026-08-18T10:00:00", **fields}


def validation_failed(response):
    """The ``errors`` tree of a Validation Failed answer (asserting status and envelope)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["message"]) == (400, "Validation Failed")
    assert set(body) == {"code", "message", "errors"}
    return body["errors"]


def global_errors(response):
    return validation_failed(response).get("errors", [])


def field_errors(response, name):
    return validation_failed(response)["children"][name].get("errors", [])


def add_record(state, user=3, begin="2026-08-18T09:00:00", end="2026-08-18T10:00:00", **values):
    return state.add_timesheet(user, 1, 2, begin, end, **values)


# ---------------------------------------------------------------------------------- creating

def test_post_returns_200_with_the_rounded_entity(client, state):
    response = post(client, booking(begin="2026-08-18T14:35:59", end="2026-08-19T03:29:04",
                                    description="Night shift", tags="onsite"), as_user="bob")
    assert response.status_code == 200
    body = response.json()
    assert (body["begin"], body["end"], body["duration"]) == (
        "2026-08-18T14:35:00+0200", "2026-08-19T03:30:00+0200", 46500)
    assert (body["user"], body["project"], body["activity"]) == (4, 1, 2)
    assert body["description"] == "Night shift" and body["tags"] == ["onsite"]
    assert body["fixedRate"] is None and body["hourlyRate"] is None
    assert state.timesheets[body["id"]].begin == datetime(2026, 8, 18, 14, 35, tzinfo=BRUSSELS)


def test_post_with_full_expands_whatever_its_value(client):
    body = post(client, booking(), full="false").json()
    assert body["project"]["customer"]["name"] == "Acme"
    assert body["user"]["username"] == "alice"


def test_post_without_begin_starts_now_and_runs(client):
    body = post(client, {"project": 1, "activity": 2}).json()
    assert body["begin"] == "2026-08-19T06:00:00-0400"  # SMALL_NOW in New York
    assert body["end"] is None and body["duration"] == 0


def test_ids_come_from_string_numbers_too(client):
    assert post(client, booking(project="1", activity="2")).status_code == 200


def test_malformed_json_is_a_bad_request(client, state):
    response = client.post("/api/timesheets", headers={**bearer("alice"), "Content-Type": "application/json"},
                           content=b'{"project": 1,')
    assert response.status_code == 400
    assert response.json() == BAD_REQUEST
    assert state.timesheets == {}


def test_body_without_json_content_type_submits_no_fields(client):
    response = client.post("/api/timesheets", headers={**bearer("alice"), "Content-Type": "text/plain"},
                           content=b'{"project": 1, "activity": 2}')
    assert field_errors(response, "project") == ["A project needs to be selected.", "This value should not be null."]


def test_validation_error_body_lists_every_field(client):
    response = post(client, {"activity": 2, "begin": "2026-08-18T09:00:00"})
    assert response.json() == {
        "code": 400, "message": "Validation Failed",
        "errors": {"children": {
            "begin": {}, "end": {},
            "project": {"errors": ["A project needs to be selected.", "This value should not be null."]},
            "activity": {}, "description": {}, "tags": {}}}}


def test_missing_activity(client):
    response = post(client, {"project": 1})
    assert field_errors(response, "activity") == ["An activity needs to be selected.",
                                                  "This value should not be null."]
    assert field_errors(response, "project") == []


def test_fields_depend_on_permissions(client):
    """Children list the caller's form fields: rates for admins, user/exported/billable for leads."""
    assert list(validation_failed(post(client, {}, as_user="alice"))["children"]) == PLAIN_USER_FIELDS[:-1]
    assert list(validation_failed(post(client, {}, as_user="lead"))["children"]) == [
        *PLAIN_USER_FIELDS, "exported", "billable"]
    assert list(validation_failed(post(client, {}, as_user="dora"))["children"]) == [
        *PLAIN_USER_FIELDS[:-1], "fixedRate", "hourlyRate", "user", "exported", "billable"]
    with_billable = validation_failed(post(client, {"billable": True}, as_user="lead"))["children"]
    assert "billableMode" in with_billable


@pytest.mark.parametrize("field,value,as_user", [
    ("duration", 3600, "admin"), ("customer", 1, "admin"), ("metaFields", [], "admin"), ("colour", "red", "alice"),
    ("user", 4, "alice"), ("exported", True, "alice"), ("billable", False, "alice"), ("fixedRate", 10, "lead"),
])
def test_extra_or_forbidden_fields_fail_the_whole_form(client, state, field, value, as_user):
    response = post(client, booking(**{field: value}), as_user=as_user)
    assert global_errors(response) == [EXTRA_FIELDS]
    assert state.timesheets == {}


def test_snake_case_keys_are_the_camel_case_fields(client):
    body = post(client, booking(fixed_rate=99.5, hourly_rate=10), as_user="dora").json()
    assert (body["fixedRate"], body["hourlyRate"], body["rate"]) == (99.5, 10.0, 99.5)


@pytest.mark.parametrize("field,value", [
    ("project", 999), ("project", 3), ("project", 4), ("project", "one"),
    ("activity", 999), ("activity", 4), ("activity", 3),
])
def test_unknown_hidden_or_foreign_choices_are_invalid(client, field, value):
    """3 is a hidden project, 4 a project of a hidden customer; activity 4 is hidden and
    activity 3 belongs to project 2 (not the booked project 1)."""
    response = post(client, booking(**{field: value}))
    assert field_errors(response, field) == ["The selected choice is invalid."]


def test_global_activity_on_project_without_global_activities(client):
    response = post(client, booking(project=2, activity=1))
    assert field_errors(response, "activity") == ["Global activities are forbidden for the selected project."]


def test_changing_only_the_project_to_one_the_activity_does_not_belong_to(client, state):
    record = add_record(state)
    response = patch(client, record.id, {"project": 31})
    assert field_errors(response, "project") == [
        "Project mismatch, project specific activity and timesheet project are different."]
    assert state.timesheets[record.id].project == 1


def test_end_before_begin(client):
    response = post(client, booking(end="2026-08-18T08:59:00"))
    assert global_errors(response) == ["The end date must not be earlier than the start date."]


def test_maximum_duration_is_one_year(client):
    response = post(client, booking(end="2027-08-19T09:00:00"))
    assert global_errors(response) == ["Maximum duration exceeded."]


def test_zero_duration_is_allowed_unless_configured(client, state):
    assert post(client, booking(end="2026-08-18T09:00:00")).json()["duration"] == 0
    state.config = EmuConfig(allow_zero_duration=False)
    response = post(client, booking(begin="2026-08-17T09:00:00", end="2026-08-17T09:00:00"))
    assert global_errors(response) == ["An empty duration is not allowed."]


def test_future_times_are_allowed_unless_configured(client, state):
    assert post(client, booking(begin="2026-09-01T09:00:00", end="2026-09-01T10:00:00")).status_code == 200
    state.config = EmuConfig(allow_future_times=False)
    response = post(client, booking(begin="2026-09-02T09:00:00", end="2026-09-02T10:00:00"))
    assert global_errors(response) == ["The begin date cannot be in the future.", "The end date cannot be in the future."]


def test_project_start_and_end_dates(client):
    finished = post(client, booking(project=5, activity=1))
    assert global_errors(finished) == ["The project is finished at that time."]
    not_started = post(client, booking(project=6, activity=1))
    assert global_errors(not_started) == ["The project has not started at that time."]


class TestOverlap:
    @pytest.fixture(autouse=True)
    def existing(self, state):
        state.config = EmuConfig(allow_overlapping=False)
        return add_record(state)

    def test_overlap_is_rejected(self, client):
        response = post(client, booking(begin="2026-08-18T09:30:00", end="2026-08-18T10:30:00"))
        assert global_errors(response) == ["You already have an entry for this time."]

    def test_touching_boundaries_are_fine(self, client):
        assert post(client, booking(begin="2026-08-18T10:00:00", end="2026-08-18T11:00:00")).status_code == 200
        assert post(client, booking(begin="2026-08-18T08:00:00", end="2026-08-18T09:00:00")).status_code == 200

    def test_other_users_and_running_records_do_not_count(self, client, state):
        assert post(client, booking(begin="2026-08-18T09:30:00", end="2026-08-18T10:30:00"),
                    as_user="bob").status_code == 200
        add_record(state, begin="2026-08-18T12:00:00", end=None)
        assert post(client, booking(begin="2026-08-18T12:30:00", end="2026-08-18T13:00:00")).status_code == 200

    def test_a_record_does_not_overlap_itself(self, client, existing):
        assert patch(client, existing.id, {"end": "2026-08-18T10:15:00"}).status_code == 200

    def test_allowed_by_default(self, client, state):
        state.config = EmuConfig()
        assert post(client, booking(begin="2026-08-18T09:30:00", end="2026-08-18T10:30:00")).status_code == 200


def test_locked_period(client, state):
    state.config = EmuConfig(lockdown_end=datetime(2026, 7, 31, 23, 59, 59, tzinfo=BRUSSELS))
    locked = add_record(state, begin="2026-07-15T09:00:00", end="2026-07-15T10:00:00")
    response = post(client, booking(begin="2026-07-20T09:00:00", end="2026-07-20T10:00:00"))
    assert global_errors(response) == ["This period is locked. Please choose a later date."]
    assert patch(client, locked.id, {"description": "late fix"}).json() == FORBIDDEN
    assert client.delete(f"/api/timesheets/{locked.id}", headers=bearer("alice")).status_code == 403
    assert patch(client, locked.id, {"description": "late fix"}, as_user="dora").status_code == 200
    assert post(client, booking(begin="2026-08-20T09:00:00", end="2026-08-20T10:00:00")).status_code == 200


@pytest.mark.parametrize("value", ["yesterday", "18.08.2026 09:00", "2026-08-18", "2026-13-01T09:00:00",
                                   "2026-08-18T25:00:00", "2026-08-18T09:00:00 trailing", 20260818, ["2026-08-18"]])
def test_unparseable_datetimes(client, value):
    response = post(client, booking(begin=value))
    assert field_errors(response, "begin") in (["Please enter a valid date and time."], ["This value is not valid."])
    if not isinstance(value, list):
        assert field_errors(response, "begin") == ["Please enter a valid date and time."]


@pytest.mark.parametrize("value,expected", [
    ("2026-08-18T09:00:00", "2026-08-18T09:00:00-0400"),
    ("2026-08-18 09:00:00", "2026-08-18T09:00:00-0400"),
    ("2026-08-18T09:00", "2026-08-18T09:00:00-0400"),
    ("2026-08-18T09:00:30.123456", "2026-08-18T09:00:00-0400"),
    ("2026-08-18T09:00:00Z", "2026-08-18T05:00:00-0400"),
    ("2026-08-18T09:00:00+02:00", "2026-08-18T03:00:00-0400"),
    ("2026-08-18T09:00:00+0200", "2026-08-18T03:00:00-0400"),
])
def test_lax_datetime_parsing_in_the_callers_zone(client, value, expected):
    body = post(client, booking(begin=value, end="2026-08-18T18:00:00")).json()
    assert body["begin"] == expected


# ---------------------------------------------------------------------------------- timezones

def test_post_for_another_user_reads_the_callers_zone_and_labels_with_the_owners(client):
    """Admin (Brussels) books 09:00 for Alice (New York): 09:00 Brussels = 03:00 New York."""
    body = post(client, booking(user=3), as_user="admin").json()
    assert (body["user"], body["begin"], body["end"]) == (3, "2026-08-18T03:00:00-0400", "2026-08-18T04:00:00-0400")


def test_patch_reads_the_records_zone(client, state):
    record = add_record(state)  # Alice's record, New York
    body = patch(client, record.id, {"begin": "2026-08-18T08:00:00"}, as_user="admin").json()
    assert body["begin"] == "2026-08-18T08:00:00-0400"
    assert body["end"] == "2026-08-18T10:00:00-0400"


# ---------------------------------------------------------------------------------------- tags

def test_tags_are_a_comma_separated_string_of_existing_tags(client):
    body = post(client, booking(tags=" remote , unknown,onsite,remote")).json()
    assert body["tags"] == ["remote", "onsite"]


def test_tags_as_json_array_is_a_field_error(client):
    assert field_errors(post(client, booking(tags=["remote"])), "tags") == ["This value is not valid."]


def test_empty_tags_clear(client, state):
    record = add_record(state, tags=["remote"])
    assert patch(client, record.id, {"tags": ""}).json()["tags"] == []


# ------------------------------------------------------------------------------------ patching

def test_patch_changes_only_what_is_sent(client, state):
    record = add_record(state, description="before", tags=["onsite"])
    body = patch(client, record.id, {"description": "after"}).json()
    assert body["description"] == "after" and body["tags"] == ["onsite"]
    assert (body["begin"], body["end"], body["activity"]) == ("2026-08-18T09:00:00-0400", "2026-08-18T10:00:00-0400", 2)


def test_patch_with_empty_body_is_a_no_op_save(client, state):
    record = add_record(state)
    assert patch(client, record.id, {}).status_code == 200


def test_patch_keeps_hidden_current_choices_selectable(client, state):
    on_hidden_project = state.add_timesheet(3, 3, 1, "2026-08-18T09:00:00", "2026-08-18T10:00:00")
    assert patch(client, on_hidden_project.id, {"project": 3, "description": "still here"}).status_code == 200
    on_hidden_activity = state.add_timesheet(3, 1, 4, "2026-08-18T11:00:00", "2026-08-18T12:00:00")
    assert patch(client, on_hidden_activity.id, {"activity": 4}).status_code == 200
    assert field_errors(patch(client, on_hidden_project.id, {"activity": 4}), "activity") == [
        "The selected choice is invalid."]


def test_patch_user_field_exists_but_plain_users_can_only_pick_themselves(client, state):
    record = add_record(state)
    assert field_errors(patch(client, record.id, {"user": 4}), "user") == ["The selected choice is invalid."]
    assert patch(client, record.id, {"user": 3}).status_code == 200


def test_patch_unknown_and_foreign_records(client, state):
    assert patch(client, 999, {"description": "x"}).json() == NOT_FOUND
    bobs = add_record(state, user=4)
    assert patch(client, bobs.id, {"description": "x"}).json() == FORBIDDEN
    assert patch(client, bobs.id, {"description": "x"}, as_user="lead").status_code == 200


def test_failed_validation_changes_nothing(client, state):
    record = add_record(state, description="before")
    patch(client, record.id, {"description": "after", "end": "2026-08-18T08:00:00"})
    assert state.timesheets[record.id].description == "before"


def test_exported_records_cannot_be_changed_or_deleted_without_permission(client, state):
    record = add_record(state, exported=True)
    assert patch(client, record.id, {"description": "x"}).json() == FORBIDDEN
    assert patch(client, record.id, {"description": "x"}, as_user="lead").json() == FORBIDDEN
    assert client.delete(f"/api/timesheets/{record.id}", headers=bearer("alice")).json() == FORBIDDEN
    assert patch(client, record.id, {"description": "x"}, as_user="dora").status_code == 200
    assert client.delete(f"/api/timesheets/{record.id}", headers=bearer("dora")).status_code == 204


def test_billable_is_derived_unless_sent(client, state):
    state.projects[1].billable = False
    assert post(client, booking()).json()["billable"] is False
    assert post(client, booking(billable=True, begin="2026-08-18T11:00:00", end="2026-08-18T12:00:00"),
                as_user="lead").json()["billable"] is True


def test_exported_checkbox_semantics(client, state):
    assert post(client, booking(exported=False), as_user="lead").json()["exported"] is False
    assert post(client, booking(exported=None), as_user="lead").json()["exported"] is False
    assert post(client, booking(exported=True), as_user="lead").json()["exported"] is True


# ------------------------------------------------------------------------------------- running

def test_starting_a_record_stops_the_running_one(client, state):
    running = add_record(state, begin="2026-08-19T05:00:00", end=None)
    assert post(client, {"project": 1, "activity": 2}).status_code == 200
    assert state.timesheets[running.id].end == SMALL_NOW.astimezone(zone("America/New_York"))


def test_a_running_record_in_the_future_cannot_be_stopped(client, state):
    add_record(state, begin="2026-08-20T09:00:00", end=None)
    response = post(client, {"project": 1, "activity": 2})
    assert global_errors(response) == ["You have an active time record which cannot be stopped automatically."]


def test_punch_mode_hides_begin_and_end_from_plain_users(client, state):
    state.config = EmuConfig(tracking_mode="punch")
    assert global_errors(post(client, booking())) == [EXTRA_FIELDS]
    assert post(client, {"project": 1, "activity": 2}).status_code == 200
    assert post(client, booking(), as_user="lead").status_code == 200


# ---------------------------------------------------------------------------- delete and export

def test_delete(client, state):
    record = add_record(state)
    response = client.delete(f"/api/timesheets/{record.id}", headers=bearer("alice"))
    assert response.status_code == 204 and response.content == b""
    assert record.id not in state.timesheets
    assert client.delete(f"/api/timesheets/{record.id}", headers=bearer("alice")).json() == NOT_FOUND


def test_delete_of_someone_elses_record(client, state):
    record = add_record(state, user=4)
    assert client.delete(f"/api/timesheets/{record.id}", headers=bearer("alice")).json() == FORBIDDEN
    assert client.delete(f"/api/timesheets/{record.id}", headers=bearer("lead")).status_code == 204


def test_ids_are_not_reused_after_delete(client, state):
    first = post(client, booking()).json()["id"]
    client.delete(f"/api/timesheets/{first}", headers=bearer("alice"))
    assert post(client, booking()).json()["id"] == first + 1


def test_export_toggle_permissions(client, state):
    record = add_record(state)
    export = f"/api/timesheets/{record.id}/export"
    assert client.patch(export, headers=bearer("alice")).json() == FORBIDDEN
    assert client.patch(export, headers=bearer("lead")).json()["exported"] is True
    assert client.patch(export, headers=bearer("lead")).json() == FORBIDDEN  # un-export needs more
    assert client.patch(export, headers=bearer("dora")).json()["exported"] is False
    assert client.patch("/api/timesheets/999/export", headers=bearer("dora")).json() == NOT_FOUND


def test_modified_at_is_stamped_on_writes(client, state):
    record = add_record(state, modified_at=SMALL_NOW - timedelta(days=30))
    patch(client, record.id, {"description": "touched"})
    assert state.timesheets[record.id].modified_at == SMALL_NOW


@pytest.mark.parametrize("value,message", [("ten", "Please enter a number."), (-5, "This value should be greater "
                                                                                   "than or equal to 0.")])
def test_rates_must_be_non_negative_numbers(client, value, message):
    assert field_errors(post(client, booking(hourlyRate=value), as_user="dora"), "hourlyRate") == [message]


def test_json_nan_is_malformed(client):
    response = client.post("/api/timesheets", headers={**bearer("dora"), "Content-Type": "application/json"},
                           content=b'{"project": 1, "activity": 2, "fixedRate": NaN}')
    assert response.json() == BAD_REQUEST
