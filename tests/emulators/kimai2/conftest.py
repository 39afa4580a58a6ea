"""Fixtures of the Kimai 2 emulator's own tests: the small seeded state and an in-process client."""

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
