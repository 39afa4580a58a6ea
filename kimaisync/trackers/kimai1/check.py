"""What `kimai-sync check` asks Kimai 1: reachable, the service login, each person's login.

Each person's login is tried once (`authenticate`): a wrong password in the credentials file
is found here instead of in the middle of a push. Names are printed, passwords never.
"""

from __future__ import annotations

from typing import Callable

from kimaisync.errors import KimaiError
from kimaisync.trackers.kimai1.adapter import Kimai1Tracker


def check(tracker: Kimai1Tracker, say: Callable[[str], None]) -> bool:
    """Print one line per finding; False when something the sync needs fails."""
    client = tracker.client
    try:
        version = client.version()
    except KimaiError as err:
        say(f"kimai1: FAILED: {err}")
        return False
    say(f"kimai1: ok, version {version} at {client.rpc.endpoint}")
    try:
        users = client.service().users()
    except KimaiError as err:
        say(f"kimai1: FAILED: the KIMAI1_USER login: {err}")
        return False
    names = {u.name for u in users}
    say(f"kimai1: KIMAI1_USER login ok, can list {len(users)} user(s)")
    if len(users) <= 1:
        say("kimai1: warning: KIMAI1_USER lists only itself: pull makes accounts for it alone; use an admin login")
    people = client.credential_names()
    if not people:
        say("kimai1: warning: no KIMAI1_CREDENTIALS_FILE (or it is empty): no one's work logs can be pushed")
        return True
    ok = True
    refused = []
    for name in people:
        try:
            client.session(name).key()
        except KimaiError:
            refused.append(name)
    if refused:
        ok = False
        say(f"kimai1: FAILED: Kimai 1 refused the login of {', '.join(sorted(refused))} "
            "(KIMAI1_CREDENTIALS_FILE: check the passwords, and that the accounts are active)")
    unknown = sorted(set(people) - names)
    if unknown:
        say(f"kimai1: warning: not among the users KIMAI1_USER lists: {', '.join(unknown)}")
    say(f"kimai1: {len(people) - len(refused)} of {len(people)} personal login(s) accepted")
    return ok
