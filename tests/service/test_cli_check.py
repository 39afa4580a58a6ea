"""`kimai-sync check` and the CLI's refusals of bad input before any request."""

from __future__ import annotations

import pytest

from kimaisync.cli import main
from kimaisync.triplestores import free_port


def test_check_against_the_emulator_and_oxigraph_says_all_is_well(sync_env, kimai_state, capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "kimai: ok, version" in out and "triplestore: ok" in out and "all is well" in out
    assert sync_env["API_TOKEN"] not in out


def test_wrong_token_is_named(sync_env, monkeypatch, capsys):
    monkeypatch.setenv("API_TOKEN", "not-the-token-at-all")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "kimai: FAILED" in out and "API_TOKEN" in out and "triplestore: ok" in out
    assert "not-the-token-at-all" not in out


def test_unreachable_store_is_named(sync_env, monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}/sparql"
    monkeypatch.setenv("MU_SPARQL_ENDPOINT", url)
    monkeypatch.setenv("MU_SPARQL_UPDATE_ENDPOINT", url)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "triplestore: FAILED: cannot reach the triplestore at " + url in out


def test_the_writer_lock_database_is_reached_and_said_free_or_held(sync_env, monkeypatch, postgres, tmp_path, capsys):
    from kimaisync.writer_lock import one_work_log_writer

    monkeypatch.setenv("WRITER_LOCK_DATABASE_URL", postgres.url)
    assert main(["check"]) == 0
    assert "writer lock: ok (PostgreSQL 127.0.0.1:" in capsys.readouterr().out
    with one_work_log_writer(tmp_path, database_url=postgres.url):
        assert main(["check"]) == 0
        assert "held by a sync writing work logs right now" in capsys.readouterr().out
    assert main(["check"]) == 0
    assert "/prefect; free)" in capsys.readouterr().out


def test_an_unreachable_writer_lock_database_fails_the_check_without_its_password(sync_env, monkeypatch, capsys):
    monkeypatch.setenv("WRITER_LOCK_DATABASE_URL", f"postgresql://sync:pw-SECRET-9@127.0.0.1:{free_port()}/prefect")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "writer lock: FAILED: the work-log writer lock's database 127.0.0.1:" in out and "check FAILED" in out
    assert "pw-SECRET-9" not in out


def test_missing_settings_are_listed(monkeypatch, capsys):
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.delenv("KIMAI_ENDPOINT", raising=False)
    assert main(["check"]) == 2  # bad input, as for bad arguments
    err = capsys.readouterr().err
    assert "API_TOKEN: is required" in err and "KIMAI_ENDPOINT: is required" in err


@pytest.mark.parametrize("args,needle", [
    (["2024-02-30", "2024-03-01"], "'start' '2024-02-30' is not a valid date"),
    (["2024-13-01", "2024-12-31"], "'start' '2024-13-01' is not a valid date"),
    (["2024-03-01", "2024-02-01"], "start 2024-03-01 is after end 2024-02-01"),
    (["2024-3-1", "2024-03-31"], "'start' '2024-3-1' is not a valid date"),
    (["2024-03-01", "tomorrow"], "'end' 'tomorrow' is not a valid date"),
])
def test_to_kimai_refuses_bad_periods_before_any_request(args, needle, capsys):
    assert main(["to-kimai", *args]) == 2
    assert needle in capsys.readouterr().err


def test_help_lists_the_verbs(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for verb in ("check", "from-kimai", "to-kimai", "lock-timesheets"):
        assert verb in out


def test_check_with_timi_names_each_credential_and_no_token(sync_env, monkeypatch, tmp_path, capsys):
    import json

    from emulators.timi.seeds import small_state
    from emulators.timi.server import TimiServer

    creds = tmp_path / "timi.json"
    creds.write_text(json.dumps({"ann@example.org": "ann-token", "rowan@example.org": "stale-token-41"}))
    creds.chmod(0o600)
    with TimiServer(small_state()) as timi:
        for k, v in {"TRACKER": "timi", "TIMI_ENDPOINT": timi.url, "TIMI_CREDENTIALS_FILE": str(creds)}.items():
            monkeypatch.setenv(k, v)
        assert main(["check"]) == 1  # one refused token fails the check
    out = capsys.readouterr().out
    assert "timi: ok, ann@example.org: token accepted (3 services)" in out
    assert "timi: FAILED: " in out and "rowan@example.org" in out and "triplestore: ok" in out
    assert "stale-token-41" not in out and "ann-token" not in out
