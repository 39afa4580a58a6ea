"""The sync-token protocol and filters of a timesheet collection."""

from egroupware_helpers import JSON, RALF, collection, new_record


def _sync(egw, token="", nresults=None, props=None):
    url = collection() + f"?sync-token={token}"
    if nresults:
        url += f"&nresults={nresults}"
    if props:
        url += "".join(f"&props[]={p}" for p in props)
    r = egw.get(url, headers=JSON, auth=RALF)
    assert r.status_code == 200, r.text
    return r.json()


def _make(egw, n, **over):
    return [egw.post(collection(), headers={"Prefer": "return=representation", **JSON}, auth=RALF,
                     json=new_record(title=f"r{i}", **over)).json() for i in range(n)]


def test_chunks_cover_everything_with_more_results_and_a_new_token(egw):
    made = _make(egw, 5)
    first = _sync(egw, nresults=3, props=["displayname"])
    assert first["more-results"] is True
    assert list(first["responses"].values()) == ["Test", "Test Ralf aus PM", "r0"]  # oldest change first
    seen = dict(first["responses"])
    token = first["sync-token"]
    assert token.startswith("https://") and "/ralf/timesheet/" in token
    while True:
        page = _sync(egw, token, nresults=3, props=["displayname"])
        seen.update(page["responses"])
        token = page["sync-token"]
        if not page.get("more-results"):
            break
    assert {f"/ralf/timesheet/{r['id']}" for r in made} | {"/ralf/timesheet/1", "/ralf/timesheet/140"} == set(seen)


def test_oldest_change_first_and_the_last_of_a_chunk_comes_again(egw):
    _make(egw, 3)
    first = _sync(egw, nresults=2)
    second = _sync(egw, first["sync-token"], nresults=2)
    assert list(first["responses"])[-1] == list(second["responses"])[0]  # token = last change - 1 s
    mods = [v["modified"] for v in first["responses"].values()]
    assert mods == sorted(mods)


def test_changes_since_a_token_are_only_the_changes_and_deletions_are_null(egw, egw_state):
    a, b, c = _make(egw, 3)
    token = _sync(egw)["sync-token"]
    assert _sync(egw, token)["responses"] == {}
    egw_state.edit_as(a["id"], egw_state.accounts[6], title="renamed")
    egw.delete(collection() + str(b["id"]), headers=JSON, auth=RALF)
    answer = _sync(egw, token)
    assert answer["responses"][f"/ralf/timesheet/{b['id']}"] is None
    assert answer["responses"][f"/ralf/timesheet/{a['id']}"]["title"] == "renamed"
    assert len(answer["responses"]) == 2
    assert _sync(egw, answer["sync-token"])["responses"] == {}


def test_an_initial_sync_leaves_deleted_records_out(egw):
    a, = _make(egw, 1)
    egw.delete(collection() + str(a["id"]), headers=JSON, auth=RALF)
    assert f"/ralf/timesheet/{a['id']}" not in _sync(egw)["responses"]


def test_a_token_from_before_purged_deletions_is_refused(egw, egw_state):
    token = _sync(egw)["sync-token"]
    egw_state.purge_tombstones()
    r = egw.get(collection() + f"?sync-token={token}", headers=JSON, auth=RALF)
    assert r.status_code == 403 and "valid-sync-token" in r.json()["message"]
    r = egw.get(collection() + "?sync-token=garbage", headers=JSON, auth=RALF)
    assert r.status_code == 403


def test_nresults_without_a_sync_token_is_ignored(egw):
    _make(egw, 3)
    r = egw.get(collection() + "?nresults=1", headers=JSON, auth=RALF).json()
    assert len(r["responses"]) == 5 and "more-results" not in r


def test_filters_search_and_attribute(egw):
    _make(egw, 2, description="work [tk:abc-123] here")
    _make(egw, 1, description="other")
    found = egw.get(collection() + "?filters[search]=[tk:abc-123]", headers=JSON, auth=RALF).json()["responses"]
    assert len(found) == 2
    by_title = egw.get(collection() + "?filters[title]=Test", headers=JSON, auth=RALF).json()["responses"]
    assert list(by_title) == ["/ralf/timesheet/1"]
    assert egw.get(collection() + "?filters[bogus]=1", headers=JSON, auth=RALF).status_code == 400


def test_own_collection_without_user_prefix(egw):
    r = egw.get(collection(None), headers=JSON, auth=RALF).json()
    assert set(r["responses"]) == {"/timesheet/1", "/timesheet/140"}


def test_an_empty_collections_token_after_a_purge_is_still_accepted(egw, egw_state):
    egw_state.purge_tombstones()
    r = egw.get(collection("anna") + "?sync-token=", headers=JSON, auth=("anna", "anna-password")).json()
    again = egw.get(collection("anna") + f"?sync-token={r['sync-token']}", headers=JSON,
                    auth=("anna", "anna-password"))
    assert again.status_code == 200 and again.json()["responses"] == {}
