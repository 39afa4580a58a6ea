"""What the emulator's own tests share: the small seeded state, an in-process client, auth headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emulators.kimai2.app import create_app
from emulators.kimai2.seeds import small_state


@pytest.fixture
def state():
    return small_state()


@pytest.fixture
def client(state):
    return TestClient(create_app(state))


def bearer(username: str) -> dict[str, str]:
    """small_state() gives every user the token `<username>-token`."""
    return {"Authorization": f"Bearer {username}-token"}
