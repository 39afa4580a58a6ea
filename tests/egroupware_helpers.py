"""What the EGroupware emulator's tests share besides their fixtures (tests/emulators/egroupware/
conftest.py): paths, credentials and a record body."""

from __future__ import annotations

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
