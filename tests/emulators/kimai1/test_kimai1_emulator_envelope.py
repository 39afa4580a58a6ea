"""The JSON-RPC envelope and authentication, against the remote-API document's examples (seed 002)
and Zend_Json_Server's rules."""

from __future__ import annotations

import re


def test_authenticate_matches_the_documented_success_shape(rpc):
    reply = rpc.post({"method": "authenticate", "params": ["ann", "ann-pw"], "id": "1", "jsonrpc": "2.0"})
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert set(body) == {"result", "id", "jsonrpc"} and body["id"] == "1" and body["jsonrpc"] == "2.0"
    result = body["result"]
    assert result["success"] is True and result["total"] == 1
    key = result["items"][0]["apiKey"]
    assert re.fullmatch(r"[0-9a-f]{25}", key)
    assert rpc.key("ann") == key, "a user keeps the key it was given"


def test_wrong_password_matches_the_documented_failure_shape(rpc):
    body = rpc.call("authenticate", "ann", "wrong")
    assert body["result"] == {"success": False, "error": {"msg": "Unknown user or no permissions."}}


def test_unknown_users_and_wrong_passwords_are_refused_alike(rpc):
    for name, password in (("carl", "wrong"), ("nobody", "x"), ("", "")):
        assert rpc.result("authenticate", name, password)["success"] is False


def test_a_deactivated_user_with_the_right_password_is_kicked_to_the_logout_page(rpc):
    reply = rpc.post({"jsonrpc": "2.0", "method": "authenticate", "params": ["carl", "carl-pw"], "id": 1})
    assert reply.status_code == 200 and b"index.php?a=logout" in reply.content


def test_an_account_not_allowed_the_api_gets_an_empty_key(rpc, state):
    state.user_by_name("bob").empty_key = True
    result = rpc.result("authenticate", "bob", "bob-pw")
    assert result["items"] == [{"apiKey": ""}]


def test_id_is_echoed_as_a_string_and_jsonrpc_only_when_asked(rpc):
    body = rpc.post({"method": "getVersion", "params": [], "id": 7}).json()
    assert body == {"result": "1.3.1-1391", "id": "7"}
    body = rpc.post({"jsonrpc": "2.0", "method": "getVersion", "id": None}).json()
    assert body["id"] == "" and body["jsonrpc"] == "2.0"


def test_a_call_without_id_is_a_notification_answered_204(rpc, state):
    key = rpc.key("ann")
    before = len(state.entries)
    reply = rpc.post({"jsonrpc": "2.0", "method": "setTimesheetRecord", "params": [
        key, {"projectId": 1, "taskId": 1, "start": "2026-06-03 09:00", "end": "2026-06-03 10:00"}, False]})
    assert reply.status_code == 204 and reply.content == b""
    assert len(state.entries) == before + 1, "a notification is still carried out"


def test_zend_faults(rpc):
    assert rpc.call("noSuchMethod")["error"] == {"code": -32601, "message": "Method not found", "data": None}
    body = rpc.post({"jsonrpc": "2.0", "method": "1bad", "id": "3"}).json()
    assert body["error"]["code"] == -32600 and body["id"] == "3"
    body = rpc.post({"jsonrpc": "2.0", "id": "4"}).json()
    assert body["error"]["message"] == "Invalid Request"
    assert rpc.post([{"jsonrpc": "2.0", "method": "getVersion", "id": 1}]).json()["error"]["code"] == -32600


def test_uncaught_php_errors_are_500_html(rpc):
    reply = rpc.post(b"{not json")
    assert reply.status_code == 500 and reply.headers["content-type"].startswith("text/html")
    key = rpc.key("ann")
    reply = rpc.post({"jsonrpc": "2.0", "method": "setTimesheetRecord", "params": [key, "a string", False], "id": 1})
    assert reply.status_code == 500 and b"Fatal error" in reply.content


def test_named_params_are_put_in_order(rpc):
    key = rpc.key("ann")
    body = rpc.post({"jsonrpc": "2.0", "method": "getTimesheetRecord", "params": {"id": 1, "apiKey": key},
                     "id": 1}).json()
    assert body["result"]["items"][0]["timeEntryID"] == "1"
    assert rpc.post({"jsonrpc": "2.0", "method": "getTimesheetRecord", "params": {"id": 1}, "id": 1}).status_code == 500


def test_unknown_and_revoked_keys_are_refused(rpc, state):
    assert rpc.result("getUsers", "not-a-key") == {"success": False, "error": {"msg": "Unknown user or no permissions."}}
    assert rpc.result("getUsers", "")["success"] is False
    key = rpc.key("ann")
    state.revoke_key("ann")
    assert rpc.result("getCustomers", key)["success"] is False
    assert rpc.key("ann") != key, "a cleared key is replaced on the next authenticate"


def test_a_deactivated_users_key_is_kicked_to_the_logout_page(rpc, state):
    key = rpc.key("ann")
    state.user_by_name("ann").active = False
    reply = rpc.post({"jsonrpc": "2.0", "method": "getTimesheet", "params": [key], "id": 1})
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    assert b"index.php?a=logout" in reply.content


def test_get_answers_the_service_map_and_other_paths_404(rpc):
    smd = rpc.http.get("/core/json.php").json()
    assert smd["envelope"] == "JSON-RPC-2.0"
    params = [p["name"] for p in smd["services"]["getTimesheet"]["parameters"]]
    assert params == ["apiKey", "from", "to", "cleared", "start", "limit"]
    assert rpc.post({"method": "getVersion", "id": 1}, path="/api/timesheets").status_code == 404


def test_the_request_log_names_method_user_and_outcome(rpc, state):
    key = rpc.key("ann")
    rpc.result("getTimesheetRecord", key, 999)
    call = state.calls_of("getTimesheetRecord")[-1]
    assert (call.user, call.success, call.error) == ("ann", False, "An unhandled error occured.")
    assert state.calls_of("authenticate")[-1].user == "ann"
