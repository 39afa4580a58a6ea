"""Settings come from the old service's environment names and fail with one line per problem."""

from __future__ import annotations

import pytest

from kimaisync.errors import ConfigurationError
from kimaisync.settings import cron_for_prefect, load_settings

BASE = {"API_TOKEN": "tok-SECRET-123", "KIMAI_ENDPOINT": "https://kimai.example.org/api"}


@pytest.fixture
def env(monkeypatch):
    for k in ("API_TOKEN", "KIMAI_ENDPOINT", "MU_SPARQL_ENDPOINT", "MU_SPARQL_UPDATE_ENDPOINT", "TIMEZONE",
              "FALLBACK_SYNC_CRON", "KIMAI_API_USER", "DEFAULT_MU_AUTH_SCOPE", "KIMAI_GRAPH", "TIMEKEEPER_GRAPH", "WRITER_LOCK_DATABASE_URL",
              "RECEIVER_HOST", "RECEIVER_PORT", "RECEIVER_GRACE_SECONDS"):
        monkeypatch.delenv(k, raising=False)

    def set_(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, v)
    return set_


def test_defaults_match_the_old_service(env):
    env(**BASE)
    s = load_settings()
    assert s.fallback_sync_cron == "0 0 */2 * * *"
    assert s.resource_base_uri == "http://timekeeper.redpencil.io"
    assert s.kimai_account_service_homepage == "http://kimai.redpencil.io"
    assert s.sparql_query_url == "http://database:8890/sparql" == s.sparql_update_url
    assert s.timezone == "Europe/Brussels" and s.kimai_graph is None


def test_missing_and_invalid_settings_listed_one_line_each(env):
    env(TIMEZONE="Mars/Olympus", FALLBACK_SYNC_CRON="every day", MU_SPARQL_ENDPOINT="not a url")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    lines = info.value.problems
    names = sorted(line.split(":")[0] for line in lines)
    assert names == ["API_TOKEN", "FALLBACK_SYNC_CRON", "KIMAI_ENDPOINT", "MU_SPARQL_ENDPOINT", "TIMEZONE"]
    assert all("example:" in line for line in lines)
    assert any("required" in line for line in lines if line.startswith("API_TOKEN"))


def test_token_never_in_repr_or_errors(env):
    env(**BASE, TIMEZONE="bad/zone")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert "tok-SECRET-123" not in str(info.value)
    env(TIMEZONE="UTC")
    s = load_settings()
    assert "tok-SECRET-123" not in repr(s) and "tok-SECRET-123" not in str(s) and "tok-SECRET-123" not in s.describe()


def test_http_and_trailing_slash_warn(env):
    env(API_TOKEN="x", KIMAI_ENDPOINT="http://kimai.local/api/")
    with pytest.warns(UserWarning) as rec:
        s = load_settings()
    text = " ".join(str(w.message) for w in rec)
    assert "http://" in text and "'/'" in text
    assert s.kimai_base == "http://kimai.local/api"


def test_update_endpoint_defaults_to_query_endpoint_and_can_differ(env):
    env(**BASE, MU_SPARQL_ENDPOINT="http://127.0.0.1:7878/query")
    assert load_settings().sparql_update_url == "http://127.0.0.1:7878/query"
    env(MU_SPARQL_UPDATE_ENDPOINT="http://127.0.0.1:7878/update")
    assert load_settings().sparql_update_url == "http://127.0.0.1:7878/update"


@pytest.mark.parametrize("cron,prefect", [("0 0 */2 * * *", "0 */2 * * *"), ("0 3 * * *", "0 3 * * *"),
                                          ("0 30 6 * * MON-FRI", "30 6 * * MON-FRI")])
def test_six_field_cron_accepted(env, cron, prefect):
    env(**BASE, FALLBACK_SYNC_CRON=cron)
    assert cron_for_prefect(load_settings().fallback_sync_cron) == prefect


@pytest.mark.parametrize("given", ["postgresql://sync:pw-SECRET-9@db.internal:5433/prefect",
                                   "postgresql+asyncpg://sync:pw-SECRET-9@db.internal:5433/prefect",
                                   "postgres://sync:pw-SECRET-9@db.internal:5433/prefect"])
def test_the_writer_lock_database_is_taken_in_prefects_form_too_and_its_password_never_shown(env, given):
    env(**BASE, WRITER_LOCK_DATABASE_URL=given)
    s = load_settings()
    assert s.writer_lock_dsn.startswith("postgres") and "+asyncpg" not in s.writer_lock_dsn
    assert "work-log writer lock PostgreSQL db.internal:5433/prefect" in s.describe()
    assert all("pw-SECRET-9" not in text for text in (repr(s), str(s), s.describe()))


def test_without_a_writer_lock_database_the_lock_is_this_machines(env):
    env(**BASE, WRITER_LOCK_DATABASE_URL="")
    s = load_settings()
    assert s.writer_lock_dsn is None and "writer lock on this machine only" in s.describe()


@pytest.mark.parametrize("given, says", [("mysql://sync:pw-SECRET-9@db/prefect", "not a PostgreSQL URL"),
                                         ("db.internal:5432", "not a PostgreSQL URL"),
                                         ("postgresql://sync:pw-SECRET-9@/prefect", "names no host")])
def test_a_bad_writer_lock_database_url_is_refused_at_start_without_its_password(env, given, says):
    env(**BASE, WRITER_LOCK_DATABASE_URL=given)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    (line,) = info.value.problems
    assert line.startswith("WRITER_LOCK_DATABASE_URL:") and says in line and "example:" in line
    assert "pw-SECRET-9" not in str(info.value)


def test_check_shows_every_setting_with_secrets_masked(env):
    env(**BASE, WRITER_LOCK_DATABASE_URL="postgresql://sync:lock-pass@db:5432/prefect", RECEIVER_PORT="80")
    shown = dict(load_settings().shown())
    from kimaisync.settings import Settings

    assert set(shown) == {name.upper() for name in Settings.model_fields}
    assert shown["RECEIVER_PORT"] == "80" and shown["API_TOKEN"] == "***"
    text = "\n".join(f"{k}={v}" for k, v in shown.items())
    assert "lock-pass" not in text and "tok-SECRET-123" not in text


@pytest.mark.parametrize("value, says", [("abc", "a number of seconds"), ("5", "at least 20")])
def test_a_grace_time_the_runners_would_beat_is_refused(env, value, says):
    env(**BASE, RECEIVER_GRACE_SECONDS=value)
    with pytest.raises(ConfigurationError, match=f"RECEIVER_GRACE_SECONDS: .*{says}"):
        load_settings()
