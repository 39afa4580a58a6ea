"""Authentication and permission failures of the Kimai emulator, with Kimai's exact shapes."""

import pytest
from fastapi.testclient import TestClient

from emulators.kimai2.app import create_app
from emulators.kimai2.state import EmuConfig
from kimai2_emulator_helpers import bearer

INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token",error_description="Invalid credentials."'


def test_bearer_token_authenticates(client):
    response = client.get("/api/users/me", headers=bearer("alice"))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_no_credentials_is_401_with_kimai_body(client):
    response = client.get("/api/ping")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_unknown_token_is_401_with_empty_body_and_challenge(client):
    response = client.get("/api/ping", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN_CHALLENGE


def test_token_of_disabled_user_is_rejected_like_a_bad_token(client):
    response = client.get("/api/ping", headers=bearer("carol"))
    assert response.status_code == 401
    assert response.content == b""
    assert 'error_description="Account is disabled."' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("header", ["bearer alice-token", "Bearer  alice-token", "Token alice-token", "alice-token"])
def test_bearer_prefix_is_exact(client, header):
    """Without the exact "Bearer " prefix the header is not a token login at all, or (two spaces)
    the token includes a leading space and is unknown."""
    response = client.get("/api/ping", headers={"Authorization": header})
    assert response.status_code == 401


def test_legacy_headers_accept_username_or_email(client):
    for login in ("alice", "alice@example.org"):
        response = client.get("/api/users/me", headers={"X-AUTH-USER": login, "X-AUTH-TOKEN": "alice-password"})
        assert response.status_code == 200, login
        assert response.json()["id"] == 3


@pytest.mark.parametrize("login,password", [("alice", "wrong"), ("nobody", "alice-password"),
                                            ("carol", "carol-password"), ("bob", "")])
def test_legacy_failures_are_403_without_code(client, login, password):
    response = client.get("/api/ping", headers={"X-AUTH-USER": login, "X-AUTH-TOKEN": password})
    assert response.status_code == 403
    assert response.json() == {"message": "Invalid credentials"}


def test_only_one_legacy_header_counts_as_no_credentials(client):
    response = client.get("/api/ping", headers={"X-AUTH-USER": "alice"})
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_legacy_failures_are_rate_limited_since_2_54(client):
    wrong = {"X-AUTH-USER": "alice", "X-AUTH-TOKEN": "wrong"}
    assert [client.get("/api/ping", headers=wrong).status_code for _ in range(5)] == [403] * 5
    limited = client.get("/api/ping", headers={"X-AUTH-USER": "alice", "X-AUTH-TOKEN": "alice-password"})
    assert limited.status_code == 400
    assert limited.json() == {"code": 400, "message": "Bad Request"}
    assert client.get("/api/ping", headers=bearer("alice")).status_code == 200


def test_legacy_failures_are_not_limited_before_2_54(state):
    state.config = EmuConfig(version="2.53.0", version_id=25300)
    client = TestClient(create_app(state))
    wrong = {"X-AUTH-USER": "alice", "X-AUTH-TOKEN": "wrong"}
    assert {client.get("/api/ping", headers=wrong).status_code for _ in range(7)} == {403}


@pytest.mark.parametrize("username", ["alice", "lead", "dora"])
def test_user_list_needs_view_user(client, username):
    response = client.get("/api/users", headers=bearer(username))
    assert response.status_code == 403
    assert response.json() == {"code": 403, "message": "Forbidden"}


def test_super_admin_may_list_users(client):
    assert client.get("/api/users", headers=bearer("admin")).status_code == 200


def test_unknown_route_and_wrong_method_use_kimai_error_shape(client):
    assert client.get("/api/nothing", headers=bearer("admin")).json() == {"code": 404, "message": "Not Found"}
    response = client.delete("/api/ping", headers=bearer("admin"))
    assert response.status_code == 405
    assert response.json() == {"code": 405, "message": "Method Not Allowed"}
