"""Reference data and time-sheet records as Kimai 1's Api.php and its MySQL layer serve them:
strings for numbers, unix seconds, paging, clamping, and whose records a key may touch."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def unix(y, m, d, hh, mm, zone=BRUSSELS) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=zone).timestamp())


def new_record(**overrides) -> dict:
    record = {"projectId": 1, "taskId": 1, "start": "2026-06-02 09:00:00", "end": "2026-06-02 10:30:00",
              "description": "[tk:x]"}
    record.update(overrides)
    return record


def test_users_admin_sees_all_a_user_only_itself(rpc):
    admin = rpc.result("getUsers", rpc.key("admin"))["items"]
    assert [u["name"] for u in admin] == ["admin", "ann", "bob", "carl"]
    assert admin[1] == {"userID": "2", "name": "ann"}
    assert rpc.result("getUsers", rpc.key("ann"))["items"] == [{"userID": "2", "name": "ann"}]


def test_customers_projects_tasks_show_visible_ones_with_string_fields(rpc):
    key = rpc.key("ann")
    assert rpc.result("getCustomers", key)["items"] == [
        {"customerID": "1", "name": "Acme", "contact": "Wile E.", "visible": "1"}]
    projects = rpc.result("getProjects", key, True)["items"]
    assert [(p["projectID"], p["name"], p["customerName"]) for p in projects] == [
        ("2", "Support", "Acme"), ("1", "Website", "Acme")]
    support, website = projects
    assert [t["name"] for t in support["tasks"]] == ["Development", "Hotline", "Meeting"]
    assert [t["name"] for t in website["tasks"]] == ["Development", "Meeting"], "Hotline is bound to Support"
    assert "tasks" not in rpc.result("getProjects", key)["items"][0]
    assert [t["activityID"] for t in rpc.result("getTasks", key)["items"]] == ["1", "3", "2"]


def test_an_empty_list_is_kimais_generic_failure(rpc, state):
    state.customers.clear()
    state.projects.clear()
    key = rpc.key("ann")
    for method in ("getCustomers", "getProjects"):
        assert rpc.result(method, key) == {"success": False, "error": {"msg": "An unhandled error occured."}}


def test_get_timesheet_lists_only_the_keys_own_records(rpc):
    ann = rpc.result("getTimesheet", rpc.key("ann"))["items"]
    assert {r["userName"] for r in ann} == {"ann"} and len(ann) == 2
    admin = rpc.result("getTimesheet", rpc.key("admin"))
    assert admin["items"] == [] and admin["total"] == 0, "an admin key sees none of the others' records"


def test_get_timesheet_row_shape_and_window(rpc):
    result = rpc.result("getTimesheet", rpc.key("ann"), "2026-06-01 00:00:00", "2026-06-02 00:00:00")
    assert result["total"] == "1"
    row = result["items"][0]
    assert row["timeEntryID"] == "1" and row["start"] == str(unix(2026, 6, 1, 9, 0))
    assert row["end"] == str(unix(2026, 6, 1, 12, 0)) and row["duration"] == "10800"
    assert row["formattedDuration"] == "3:00" and row["cleared"] == "0" and row["userID"] == "2"
    assert (row["projectName"], row["activityName"], row["customerName"]) == ("Website", "Development", "Acme")


def test_naive_times_are_read_in_the_key_users_zone_offsets_are_exact(rpc, state):
    key = rpc.key("ann")  # Europe/Brussels
    before_start = "2026-06-01 08:59:00"
    assert rpc.result("getTimesheet", key, before_start, "2026-06-01 09:01:00")["total"] == "1"
    # the same wall clock in UTC is two hours later: the record (07:00-10:00 UTC) still overlaps
    assert rpc.result("getTimesheet", key, "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z")["total"] == 0
    state.user_by_name("ann").timezone = "Asia/Tokyo"
    assert rpc.result("getTimesheet", key, before_start, "2026-06-01 09:01:00")["total"] == 0


def test_unreadable_times_are_no_bound(rpc):
    key = rpc.key("ann")
    assert rpc.result("getTimesheet", key, "yesterday-ish", "")["total"] == "2"


def test_rows_overlapping_the_window_are_clamped_to_it(rpc):
    key = rpc.key("ann")
    lo, hi = unix(2026, 6, 1, 10, 0), unix(2026, 6, 1, 11, 0)
    row = rpc.result("getTimesheet", key, "2026-06-01 10:00:00", "2026-06-01 11:00:00")["items"][0]
    assert row["start"] == lo and row["end"] == hi, "clamped bounds come back as numbers"
    assert row["duration"] == "10800", "the duration is the record's own"


def test_paging_by_start_and_limit_newest_first(rpc):
    key = rpc.key("ann")
    for day in range(3, 8):
        assert rpc.result("setTimesheetRecord", key, new_record(start=f"2026-06-0{day} 09:00",
                                                                  end=f"2026-06-0{day} 10:00"), False)["success"]
    pages = [rpc.result("getTimesheet", key, "2026-05-01", "2026-07-01", -1, start, 3) for start in (0, 3, 6)]
    assert [p["total"] for p in pages] == ["7", "7", "7"]
    starts = [int(r["start"]) for p in pages for r in p["items"]]
    assert len(starts) == 7 and starts == sorted(starts, reverse=True)
    assert rpc.result("getTimesheet", key, "2026-05-01", "2026-07-01", -1, 9, 3)["items"] == []


def test_without_a_limit_the_row_limit_applies(rpc, state):
    state.row_limit = 1
    result = rpc.result("getTimesheet", rpc.key("ann"))
    assert len(result["items"]) == 1 and result["total"] == "2"


def test_cleared_filter(rpc):
    key = rpc.key("ann")
    assert [r["timeEntryID"] for r in rpc.result("getTimesheet", key, 0, 0, 1)["items"]] == ["3"]
    assert [r["timeEntryID"] for r in rpc.result("getTimesheet", key, 0, 0, 0)["items"]] == ["1"]


def test_create_writes_as_the_key_user_whatever_the_record_says(rpc, state):
    key = rpc.key("ann")
    result = rpc.result("setTimesheetRecord", key, new_record(userID=3, userId=3), False)
    assert result["success"] and isinstance(result["items"][0]["id"], int)
    entry = state.entries[result["items"][0]["id"]]
    assert entry.user == 2 and entry.start == unix(2026, 6, 2, 9, 0) and entry.duration == 5400


def test_update_by_another_key_hands_the_record_over(rpc, state):
    bob = rpc.key("bob")
    result = rpc.result("setTimesheetRecord", bob, new_record(id=1, start="2026-06-01 09:00", end="2026-06-01 12:00"),
                        True)
    assert result == {"success": True, "items": [], "total": 0}
    assert state.entries[1].user == 3, "Kimai sets userID to the key's user on update too"


def test_update_keeps_unsent_fields_and_sets_cleared(rpc, state):
    key = rpc.key("ann")
    rpc.result("setTimesheetRecord", key, {"id": 1, "projectId": 1, "taskId": 2, "start": "2026-06-01 09:00",
                                           "end": "2026-06-01 11:00", "flagCleared": 1}, True)
    entry = state.entries[1]
    assert (entry.activity, entry.duration, entry.cleared, entry.description) == (2, 7200, True, "ann's morning")


def test_update_of_a_missing_id_succeeds_and_changes_nothing(rpc, state):
    before = {i: (e.start, e.end) for i, e in state.entries.items()}
    assert rpc.result("setTimesheetRecord", rpc.key("ann"), new_record(id=99), True)["success"] is True
    assert {i: (e.start, e.end) for i, e in state.entries.items()} == before


def test_write_validation_messages(rpc):
    key = rpc.key("ann")
    cases = {
        "Invalid projectId.": new_record(projectId="x"),
        "Invalid taskId.": new_record(taskId=0),
        "Invalid from/to, make sure there is at least a second difference.": new_record(end="2026-06-02 09:00:00"),
    }
    for message, record in cases.items():
        assert rpc.result("setTimesheetRecord", key, record, False)["error"]["msg"] == message
    assert rpc.result("setTimesheetRecord", key, {}, False)["error"]["msg"] == "Invalid record"
    assert rpc.result("setTimesheetRecord", key, new_record(), True)["error"]["msg"] == \
        "Performed an update, but missing id property."


def test_a_record_of_an_unknown_project_is_stored_but_never_listed(rpc, state):
    key = rpc.key("ann")
    rid = rpc.result("setTimesheetRecord", key, new_record(projectId=77), False)["items"][0]["id"]
    assert rid in state.entries
    assert rid not in [int(r["timeEntryID"]) for r in rpc.result("getTimesheet", key)["items"]]


def test_record_reads_and_deletes_check_no_owner(rpc, state):
    bob = rpc.key("bob")
    row = rpc.result("getTimesheetRecord", bob, 1)["items"][0]
    assert row["userID"] == "2" and row["start"] == str(unix(2026, 6, 1, 9, 0))
    assert rpc.result("removeTimesheetRecord", bob, 1)["success"] is True
    assert 1 not in state.entries
    assert rpc.result("removeTimesheetRecord", bob, 1)["success"] is True, "deleting a missing id succeeds"
    assert rpc.result("removeTimesheetRecord", bob, 0)["error"]["msg"] == "Invalid ID"
    assert rpc.result("getTimesheetRecord", bob, 1)["error"]["msg"] == "An unhandled error occured."
