"""What the EGroupware emulator's tests and the client's tests share: the small seeded state, an
in-process client on the emulator's app, and the base path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emulators.egroupware.app import create_app
from emulators.egroupware.seeds import small_state
from emulators.egroupware.state import BASE_PATH

JSON = {"Accept": "application/json"}
SYNC = ("sync", "sync-password")
RALF = ("ralf", "ralf-password")


def collection(user: str | None = "ralf") -> str:
    return f"{BASE_PATH}/{user}/timesheet/" if user else f"{BASE_PATH}/timesheet/"


def new_record(**over) -> dict:
    body = {"@type": "timesheet", "title": "5. Test Ralf", "start": "2024-02-06T10:00:00Z", "duration": 60}
    body.update(over)
    return body


@pytest.fixture
def egw_state():
    return small_state()


@pytest.fixture
def egw(egw_state):
    return TestClient(create_app(egw_state))
