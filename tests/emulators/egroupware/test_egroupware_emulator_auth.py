"""Basic auth as EGroupware does it: passwords, app tokens for one user or all users, grants."""

import base64

import pytest

from emulators.egroupware.seeds import ALL_USERS_TOKEN, RALF_TOKEN
from egroupware_helpers import JSON, RALF, SYNC, collection


def test_no_credentials_is_401_with_a_basic_challenge(egw):
    r = egw.get(collection(), headers=JSON)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic realm=")


@pytest.mark.parametrize("auth", [("ralf", "wrong"), ("nobody", "x"), ("ralf", "token1_wrong"),
                                  ("ralf", "token99_AllUsersSecret0001")])
def test_wrong_credentials_are_401(egw, auth):
    assert egw.get(collection(), headers=JSON, auth=auth).status_code == 401


def test_garbage_authorization_header_is_401(egw):
    bad = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode(), **JSON}
    assert egw.get(collection(), headers=bad).status_code == 401
    assert egw.get(collection(), headers={"Authorization": "Bearer x", **JSON}).status_code == 401


def test_all_users_token_logs_in_as_any_user(egw):
    for user in ("ralf", "anna", "piet"):
        r = egw.get(collection(user), headers=JSON, auth=(user, ALL_USERS_TOKEN))
        assert r.status_code == 200, user


def test_a_personal_token_is_only_valid_for_its_user(egw):
    assert egw.get(collection("ralf"), headers=JSON, auth=("ralf", RALF_TOKEN)).status_code == 200
    assert egw.get(collection("anna"), headers=JSON, auth=("anna", RALF_TOKEN)).status_code == 401


def test_revoked_token_and_disabled_account_are_401(egw, egw_state):
    egw_state.tokens[1].revoked = True
    assert egw.get(collection("anna"), headers=JSON, auth=("anna", ALL_USERS_TOKEN)).status_code == 401
    egw_state.accounts[6].enabled = False
    assert egw.get(collection("ralf"), headers=JSON, auth=RALF).status_code == 401


def test_a_token_limited_to_other_apps_is_403(egw, egw_state):
    egw_state.tokens[1].apps = frozenset({"addressbook"})
    r = egw.get(collection("anna"), headers=JSON, auth=("anna", ALL_USERS_TOKEN))
    assert r.status_code == 403
    assert r.json()["error"] == 403


def test_another_users_collection_needs_their_grant(egw):
    assert egw.get(collection("ralf"), headers=JSON, auth=SYNC).status_code == 200  # ralf granted sync
    r = egw.get(collection("piet"), headers=JSON, auth=SYNC)  # piet did not
    assert r.status_code == 403
    assert r.json() == {"error": 403, "message": "Forbidden", "details": None, "script": None}
    assert egw.get(collection("nosuchuser"), headers=JSON, auth=SYNC).status_code == 404


def test_the_request_log_names_the_caller(egw, egw_state):
    egw.get(collection(), headers=JSON, auth=SYNC)
    assert egw_state.requests[-1].auth_user_id == 5
    assert egw_state.requests[-1].status == 200
