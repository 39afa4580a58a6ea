"""`kimai-sync check` with TRACKER=egroupware reaches EGroupware (the emulator) and names failures."""

from __future__ import annotations

import pytest

from emulators.egroupware.seeds import small_state
from emulators.egroupware.server import EmulatorServer
from kimaisync.cli import main
from kimaisync.triplestores import free_port


@pytest.fixture
def egw_env(monkeypatch):
    with EmulatorServer(small_state()) as srv:
        url = f"http://127.0.0.1:{free_port()}/sparql"  # nothing there: check goes on and says so
        for k, v in {"TRACKER": "egroupware", "EGROUPWARE_URL": srv.url, "EGROUPWARE_USER": "sync",
                     "EGROUPWARE_PASSWORD": "sync-password", "MU_SPARQL_ENDPOINT": url,
                     "MU_SPARQL_UPDATE_ENDPOINT": url, "KIMAI_RETRIES": "0"}.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("WRITER_LOCK_DATABASE_URL", raising=False)
        yield srv


def test_check_reaches_egroupware(egw_env, capsys):
    main(["check"])
    out = capsys.readouterr().out
    assert "egroupware: ok, logged in as 'sync' with a password" in out
    assert "EGROUPWARE_PASSWORD=***" in out and "sync-password" not in out  # the settings listing masks it


def test_check_names_a_wrong_password_without_showing_it(egw_env, monkeypatch, capsys):
    monkeypatch.setenv("EGROUPWARE_PASSWORD", "Not-The-Password-9")
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "egroupware: FAILED" in out and "EGROUPWARE_PASSWORD" in out and "Not-The-Password-9" not in out
