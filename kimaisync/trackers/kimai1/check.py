"""What `kimai-sync check` asks Kimai 1 (through `Kimai1Tracker.check`): reachable, the service
login and how many users it lists, and each personal login of the credentials file, tried once
so a wrong password is found here instead of in the middle of a push. Names are said, passwords never.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kimaisync.errors import KimaiAuthError, KimaiError

if TYPE_CHECKING:
    from kimaisync.trackers.kimai1.adapter import Kimai1Tracker


def check(tracker: Kimai1Tracker) -> str:
    """One line of findings; a KimaiError naming what failed."""
    client = tracker.client
    version = client.version()
    users = client.service().users()
    said = [f"version {version}", f"KIMAI1_USER lists {len(users)} user(s)"]
    if len(users) <= 1:
        said.append("warning: KIMAI1_USER lists only itself, so pull makes one account: use an admin login")
    people = client.credential_names()
    if not people:
        said.append("warning: no personal logins (KIMAI1_CREDENTIALS_FILE unset or empty): no work logs can be pushed")
        return "; ".join(said)
    refused = []
    for name in people:
        try:
            client.session(name).key()
        except KimaiError:
            refused.append(name)
    if refused:
        raise KimaiAuthError(f"Kimai 1 refused the personal login of {', '.join(refused)} "
                             f"({len(people) - len(refused)} of {len(people)} accepted): check their passwords "
                             "in KIMAI1_CREDENTIALS_FILE and that the accounts are active")
    said.append(f"{len(people)} of {len(people)} personal login(s) accepted")
    unknown = sorted(set(people) - {u.name for u in users})
    if unknown:
        said.append(f"warning: not among the users KIMAI1_USER lists: {', '.join(unknown)}")
    return "; ".join(said)
