"""Fixtures of the Timi emulator's own tests: the small seeded account and an in-process client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emulators.timi.app import create_app
from emulators.timi.seeds import small_state
from timi_helpers import TODAY


@pytest.fixture
def timi_state():
    return small_state()


@pytest.fixture
def timi(timi_state):
    return TestClient(create_app(timi_state, today=lambda: TODAY))
