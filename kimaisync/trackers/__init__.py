"""The time trackers the sync can write to, and the one place each is registered.

`TRACKERS` maps the `TRACKER` setting's value to the tracker's factory, as a dotted path
`package.module:function` imported only when that tracker is the one configured, so one
tracker's client (and its dependencies) is never loaded for another. A factory takes the
`Settings` and returns a `kimaisync.trackers.port.Tracker`. Adding a tracker: one package
`kimaisync/trackers/<name>/` and one line here (see docs/trackers.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable

from kimaisync.errors import ConfigurationError

if TYPE_CHECKING:
    from kimaisync.settings import Settings
    from kimaisync.trackers.port import Tracker

DEFAULT = "kimai"

TRACKERS: dict[str, str] = {
    "kimai": "kimaisync.trackers.kimai2.adapter:create",  # Kimai 2 (REST, API token)
    "egroupware": "kimaisync.trackers.egroupware.adapter:create",  # EGroupware timesheet REST API
    "timi": "kimaisync.trackers.timi.adapter:create",  # Timi (REST)
    "kimai1": "kimaisync.trackers.kimai1.adapter:create",  # Kimai 1 (JSON-RPC)
}


def factory(name: str) -> Callable[["Settings"], "Tracker"]:
    """The factory of tracker `name`; ConfigurationError naming TRACKER when there is none."""
    target = TRACKERS.get(name)
    if target is None:
        raise ConfigurationError([f"TRACKER: {name!r} is not a tracker; one of {', '.join(TRACKERS)}"])
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):  # the package itself is missing, not one it imports
            raise ConfigurationError([f"TRACKER: {name!r} is not available in this installation yet"]) from None
        raise


def open_tracker(settings: "Settings") -> "Tracker":
    """The configured tracker (`settings.tracker`), ready to use; close it (it is a context manager)."""
    return factory(settings.tracker)(settings)
