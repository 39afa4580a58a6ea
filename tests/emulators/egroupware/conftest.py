"""Fixtures of the EGroupware emulator's tests: the small seeded state and an in-process client."""

import pytest
from fastapi.testclient import TestClient

from emulators.egroupware.app import create_app
from emulators.egroupware.seeds import small_state


@pytest.fixture
def egw_state():
    return small_state()


@pytest.fixture
def egw(egw_state):
    return TestClient(create_app(egw_state))
