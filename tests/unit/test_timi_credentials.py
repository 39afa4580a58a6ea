"""TIMI_CREDENTIALS_FILE: one JSON object of login e-mail -> token, a secret file."""

from __future__ import annotations

import json
import os

import pytest

from kimaisync.errors import ConfigurationError
from kimaisync.trackers.timi import load_credentials


def secret_file(tmp_path, content, mode=0o600):
    path = tmp_path / "timi.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.chmod(path, mode)
    return path


def test_tokens_by_email_in_any_case_and_never_in_the_repr(tmp_path):
    creds = load_credentials(secret_file(tmp_path, {"Ann@Example.org": "abc123", "bo@example.org": "x:y-9"}))
    assert creds.token_for("ann@example.org").get_secret_value() == "abc123"
    assert creds.token_for("ANN@example.org ").get_secret_value() == "abc123"
    assert creds.token_for("carl@example.org") is None
    assert "abc123" not in repr(creds) and "abc123" not in str(creds.token_for("ann@example.org"))
    assert creds.emails == ["ann@example.org", "bo@example.org"]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused(tmp_path, mode):
    path = secret_file(tmp_path, {"ann@example.org": "abc123"}, mode)
    with pytest.raises(ConfigurationError) as caught:
        load_credentials(path)
    assert "chmod 600" in str(caught.value) and "TIMI_CREDENTIALS_FILE" in str(caught.value)


@pytest.mark.parametrize("content,says", [
    ('{"ann@example.org": "abc123",}', "not valid JSON (line 1"),
    (["ann@example.org", "abc123"], "one JSON object"),
    ({"ann": "abc123"}, "'ann' is not an e-mail"),
    ({"ann@example.org": ""}, "token of ann@example.org"),
    ({"ann@example.org": "abc 123"}, "token of ann@example.org"),
    ({"ann@example.org": 123}, "token of ann@example.org"),
    ({"ann@example.org": "abc123", "ANN@example.org": "def456"}, "appears twice"),
])
def test_bad_content_is_named_without_quoting_a_token(tmp_path, content, says):
    with pytest.raises(ConfigurationError) as caught:
        load_credentials(secret_file(tmp_path, content))
    assert says in str(caught.value)
    for secret in ("abc123", "abc 123", "def456"):
        assert secret not in str(caught.value)


def test_a_missing_file_says_what_to_write(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        load_credentials(tmp_path / "nope.json")
    assert "does not exist" in str(caught.value) and '{"ann@example.org"' in str(caught.value)


def test_tracker_timi_checks_the_file_at_start_and_never_shows_a_token(tmp_path, monkeypatch):
    from kimaisync.settings import load_settings

    for k in ("API_TOKEN", "KIMAI_ENDPOINT", "TIMI_CREDENTIALS_FILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("TRACKER", "timi")
    with pytest.raises(ConfigurationError) as missing:
        load_settings()
    assert [p.split(":")[0] for p in missing.value.problems] == ["TIMI_CREDENTIALS_FILE"]
    path = secret_file(tmp_path, {"ann@example.org": "abc123"}, 0o644)
    with pytest.raises(ConfigurationError) as open_file:
        load_settings(timi_credentials_file=str(path))
    assert "chmod 600" in str(open_file.value) and "abc123" not in str(open_file.value)
    os.chmod(path, 0o600)
    settings = load_settings(timi_credentials_file=str(path))
    assert settings.timi_endpoint.host == "timiapp.com" and "abc123" not in settings.describe() + repr(settings)


def test_the_file_is_not_read_for_another_tracker(tmp_path, monkeypatch):
    from kimaisync.settings import load_settings

    path = secret_file(tmp_path, {"ann@example.org": "abc123"}, 0o644)
    settings = load_settings(tracker="kimai", api_token="t0k", kimai_endpoint="http://127.0.0.1:1/api",
                             timi_credentials_file=str(path))
    assert settings.tracker == "kimai"
