"""What the Timi emulator's and client's tests share: the small seeded account, an in-process
HTTP client of the emulator, credentials of the seeded users."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from emulators.timi.app import create_app
from emulators.timi.seeds import small_state

TODAY = date(2016, 3, 28)


@pytest.fixture
def timi_state():
    return small_state()


@pytest.fixture
def timi(timi_state):
    return TestClient(create_app(timi_state, today=lambda: TODAY))


def key(name: str) -> dict[str, str]:
    """small_state(): user `<name>@example.org` has the token `<name>-token`."""
    return {"X-Api-Key": f"{name}@example.org:{name}-token"}
