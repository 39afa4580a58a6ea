"""Reads and writes of single timesheets, checked against the examples of EGroupware's
Timesheet.md: the listing, POST with representation, PUT, PATCH, DELETE, ETags and 412."""

from emulators.egroupware.seeds import PINNED_NOW
from emulators.egroupware.state import BASE_PATH
from egroupware_helpers import JSON, RALF, SYNC, collection, new_record

PREFER = {"Prefer": "return=representation", **JSON}


def test_listing_matches_the_documented_example(egw):
    r = egw.get(collection(), headers={"Accept": "application/pretty+json"}, auth=RALF)
    assert r.status_code == 200
    first = r.json()["responses"]["/ralf/timesheet/1"]
    assert first == {"@type": "timesheet", "id": 1, "title": "Test", "start": "2005-12-16T23:00:00Z",
                     "duration": 150, "quantity": 2.5, "unitprice": 50, "category": {"other": True},
                     "owner": "ralf@example.org", "created": "2005-12-16T23:00:00Z",
                     "modified": first["modified"], "modifier": "ralf@example.org", "status": "approved",
                     "etag": "1:1307537480"}
    pm = r.json()["responses"]["/ralf/timesheet/140"]
    assert pm["project"] == "2024-0001: Test Project" and pm["pm_id"] == 1
    assert "\n    " in r.text  # pretty+json is indented


def test_props_give_only_etag_and_displayname(egw):
    r = egw.get(collection() + "?props[]=getetag&props[]=displayname", headers=JSON, auth=RALF)
    assert r.json()["responses"]["/ralf/timesheet/1"] == {"getetag": '"1:1307537480"', "displayname": "Test"}


def test_post_answers_201_with_location_etag_and_the_record(egw):
    r = egw.post(collection(), headers=PREFER, auth=RALF, json=new_record())
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"] == f"{BASE_PATH}/ralf/timesheet/{body['id']}"
    assert r.headers["etag"] == f'"{body["etag"]}"' == f'"{body["id"]}:{PINNED_NOW}"'
    assert body["title"] == "5. Test Ralf" and body["start"] == "2024-02-06T10:00:00Z"
    assert body["duration"] == 60 and body["quantity"] == 1 and body["owner"] == "ralf@example.org"


def test_post_without_prefer_has_no_body(egw):
    r = egw.post(collection(), headers=JSON, auth=RALF, json=new_record())
    assert r.status_code == 201 and r.content == b"" and r.headers["location"]


def test_post_into_a_granted_collection_is_owned_by_that_user(egw):
    body = egw.post(collection("anna"), headers=PREFER, auth=SYNC, json=new_record(owner="ralf")).json()
    assert body["owner"] == "anna@example.org"  # the collection decides, not the body
    assert body["modifier"] == "sync@example.org"


def test_bad_bodies_are_422_naming_the_attribute(egw):
    cases = {
        "start": new_record(start="2024-02-06T10:00:00"),  # no zone
        "duration": new_record(duration="an hour"),
        "category": new_record(category={"a": True, "b": True}),
        "status": new_record(status="nonsense"),
        "title": {"start": "2024-02-06T10:00:00Z", "duration": 5},
    }
    for attribute, body in cases.items():
        r = egw.post(collection(), headers=JSON, auth=RALF, json=body)
        assert r.status_code == 422, attribute
        assert r.json()["error"] == 422 and attribute in r.json()["message"], r.json()
    r = egw.post(collection(), headers={"Content-Type": "application/json", **JSON}, auth=RALF, content=b"{nope")
    assert r.status_code == 422 and "JSON" in r.json()["message"]


def test_category_is_a_one_key_object_and_pm_id_is_read_only(egw):
    body = egw.post(collection(), headers=PREFER, auth=RALF,
                    json=new_record(category={"development": True}, pm_id=1, project="Free text")).json()
    assert body["category"] == {"development": True}
    assert "pm_id" not in body and body["project"] == "Free text"


def _create(egw, **over):
    r = egw.post(collection(), headers=PREFER, auth=RALF, json=new_record(**over))
    return r.json(), r.headers["etag"]


def test_put_replaces_every_attribute_and_changes_the_etag(egw):
    rec, etag = _create(egw, description="notes", category={"other": True})
    r = egw.put(collection() + str(rec["id"]), headers={**JSON, "If-Match": etag}, auth=RALF,
                json=new_record(title="6. Test Ralf"))
    assert r.status_code == 204 and r.headers["etag"] != etag
    now = egw.get(collection() + str(rec["id"]), headers=JSON, auth=RALF).json()
    assert now["title"] == "6. Test Ralf"
    assert "description" not in now and "category" not in now  # left out of a PUT: cleared


def test_patch_changes_only_what_it_names(egw):
    rec, etag = _create(egw, description="keep me")
    r = egw.patch(collection() + str(rec["id"]), headers={**PREFER, "If-Match": etag}, auth=RALF,
                  json={"status": "invoiced", "duration": 90})
    assert r.status_code == 200
    assert r.json()["status"] == "invoiced" and r.json()["duration"] == 90
    assert r.json()["description"] == "keep me" and r.json()["title"] == rec["title"]
    r = egw.patch(collection() + str(rec["id"]), headers=JSON, auth=RALF, json={"description": None})
    assert r.status_code == 204
    assert "description" not in egw.get(collection() + str(rec["id"]), headers=JSON, auth=RALF).json()


def test_a_stale_if_match_is_412_and_changes_nothing(egw, egw_state):
    rec, etag = _create(egw)
    egw_state.edit_as(rec["id"], egw_state.accounts[6], title="edited by Ralf in the UI")
    for method in ("PUT", "PATCH", "DELETE"):
        r = egw.request(method, collection() + str(rec["id"]), headers={**JSON, "If-Match": etag}, auth=SYNC,
                        json=new_record(title="ours") if method != "DELETE" else None)
        assert r.status_code == 412, method
    r = egw.patch(collection() + str(rec["id"]), headers={**PREFER, "If-Match": etag}, auth=SYNC,
                  json={"title": "ours"})
    assert r.status_code == 412 and r.json()["title"] == "edited by Ralf in the UI"  # the current record
    assert r.headers["etag"] != etag


def test_if_match_without_quotes_is_taken_too(egw):
    rec, etag = _create(egw)
    r = egw.patch(collection() + str(rec["id"]), headers={**JSON, "If-Match": etag.strip('"')}, auth=RALF,
                  json={"duration": 5})
    assert r.status_code == 204


def test_get_with_if_none_match_is_304(egw):
    rec, etag = _create(egw)
    r = egw.get(collection() + str(rec["id"]), headers={**JSON, "If-None-Match": etag}, auth=RALF)
    assert r.status_code == 304


def test_delete_is_204_then_404(egw):
    rec, etag = _create(egw)
    url = collection() + str(rec["id"])
    assert egw.delete(url, headers={**JSON, "If-Match": etag}, auth=RALF).status_code == 204
    assert egw.get(url, headers=JSON, auth=RALF).status_code == 404
    assert egw.delete(url, headers=JSON, auth=RALF).status_code == 404
    assert egw.patch(url, headers=JSON, auth=RALF, json={"duration": 1}).status_code == 404


def test_put_on_an_unknown_id_creates_a_new_record(egw):
    r = egw.put(collection() + "999999", headers=JSON, auth=RALF, json=new_record())
    assert r.status_code == 201
    assert not r.headers["location"].endswith("/999999")


def test_someone_elses_record_is_403(egw, egw_state):
    piet = egw_state.accounts[8]
    body = egw.post(collection("piet"), headers=PREFER, auth=("piet", "piet-password"), json=new_record()).json()
    assert egw.get(collection("piet") + str(body["id"]), headers=JSON, auth=SYNC).status_code == 403
    assert piet.username == "piet"


def test_only_json_is_emulated(egw):
    assert egw.get(collection(), auth=RALF).status_code == 501
    r = egw.post(collection(), headers={"Content-Type": "text/calendar", **JSON}, auth=RALF, content=b"BEGIN:")
    assert r.status_code == 501
