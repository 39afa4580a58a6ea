"""Settings and flags are refused at start in one line each, exit 2, for `check` and `serve` alike."""

from __future__ import annotations

import pytest

from kimaisync.cli import main
from testbed import API_TOKEN


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("API_TOKEN", API_TOKEN)
    monkeypatch.setenv("KIMAI_ENDPOINT", "http://127.0.0.1:9/api")  # nothing listens: nothing may be tried
    for var in ("FALLBACK_SYNC_CRON", "RECEIVER_PORT", "RECEIVER_HOST", "YEAR_MIN", "YEAR_MAX"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.mark.parametrize("verb", [["check"], ["serve", "--port", "0"]])
@pytest.mark.parametrize("var, value, says", [
    ("FALLBACK_SYNC_CRON", "99 99 99 99 99", "FALLBACK_SYNC_CRON: Value error, not a cron expression: bad minute"),
    ("FALLBACK_SYNC_CRON", "30 0 */2 * * *", "the seconds field must be 0"),
    ("FALLBACK_SYNC_CRON", "0 0 31 2 *", "not a cron expression"),
    ("RECEIVER_HOST", "not a host", "RECEIVER_HOST: Value error"),
    ("RECEIVER_HEADER_TIMEOUT", "0", "RECEIVER_HEADER_TIMEOUT:"),
    ("YEAR_MIN", "2200", "YEAR_MAX: Value error, is before YEAR_MIN 2200"),
    ("TIMEZONE", "Mars/Olympus", "TIMEZONE:"),
])
def test_a_bad_setting_stops_check_and_serve_alike_in_one_line(env, capsys, verb, var, value, says):
    env.setenv(var, value)
    assert main(verb) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and line != "Configuration problems:"]
    assert len(lines) == 1 and says in lines[0], err
    if var == "FALLBACK_SYNC_CRON":
        assert "example: FALLBACK_SYNC_CRON='0 0 */2 * * *'" in lines[0]
    assert "Traceback" not in err


def test_a_bad_port_setting_stops_check(env, capsys):
    env.setenv("RECEIVER_PORT", "99999")
    assert main(["check"]) == 2
    assert "RECEIVER_PORT: Input should be less than or equal to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("flags, says", [(["--port", "99999"], "--port: Input should be less than or equal to 65535"),
                                         (["--port", "http"], "--port: Input should be a valid integer"),
                                         (["--host", "a b"], "--host: Value error")])
def test_a_bad_flag_stops_serve_in_one_line(env, capsys, flags, says):
    assert main(["serve", *flags]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and line != "Configuration problems:"]
    assert len(lines) == 1 and says in lines[0], err


@pytest.mark.parametrize("cron", ["0 0 */2 * * *", "0 */2 * * *", "15 1 * * MON-FRI", "00 30 6 1 * *"])
def test_good_crons_are_taken(env, cron):
    from kimaisync.settings import load_settings

    env.setenv("FALLBACK_SYNC_CRON", cron)
    assert load_settings().fallback_sync_cron == cron
