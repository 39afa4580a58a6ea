"""What the Timi emulator's and client's tests share besides fixtures."""

from __future__ import annotations

from datetime import date

TODAY = date(2016, 3, 28)  # the emulator's "today" in tests: the date of the document's create example


def key(name: str) -> dict[str, str]:
    """small_state(): user `<name>@example.org` has the token `<name>-token`."""
    return {"X-Api-Key": f"{name}@example.org:{name}-token"}
