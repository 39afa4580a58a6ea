"""Kimai 1 users become accounts as the Kimai 2 accounts flow makes them: the adapter's users
through `plan_accounts`, under KIMAI1_ACCOUNT_SERVICE_HOMEPAGE (the endpoint's origin)."""

from __future__ import annotations


from test_plan_accounts import BASE, KIMAI, account
from test_plan_reference import apply, counter

from emulators.kimai1.app import create_app
from emulators.kimai1.seeds import small_state
from emulators.kimai1.transport import InProcessTransport
from kimaisync.plan.accounts import ACCOUNT_NAME, HOMEPAGE, plan_accounts
from kimaisync.plan.reference import IDENTIFIER
from kimaisync.settings import Settings
from kimaisync.trackers.kimai1.adapter import Kimai1Tracker
from kimaisync.trackers.kimai1.client import Kimai1Client


def test_pull_makes_one_account_per_kimai1_user_beside_kimai2_accounts():
    settings = Settings(tracker="kimai1", kimai1_endpoint="https://kimai1.example.org/core/json.php",
                        kimai1_user="admin", kimai1_password="admin-pw")
    homepage = settings.kimai1_account_service_homepage
    assert homepage == "https://kimai1.example.org"
    client = Kimai1Client(str(settings.kimai1_endpoint), user="admin", password="admin-pw",
                          transport=InProcessTransport(create_app(small_state())))
    with Kimai1Tracker(client) as tracker:
        users = tracker.users()  # the port's TrackerUser, as the accounts flow passes them
    kimai2 = account(BASE + "/accounts/k2-ann", "ann", kimai_id="2", homepage=KIMAI)  # Kimai 2's ann, id 2 too
    plan = plan_accounts(users, {kimai2.uri: kimai2}, set(), base_uri=BASE, homepage=homepage, new_uuid=counter())
    store = apply({kimai2.uri: kimai2}, plan.changes)
    made = {next(iter(r.texts(ACCOUNT_NAME))): r for r in store.values() if homepage in r.texts(HOMEPAGE)}
    assert sorted(made) == ["admin", "ann", "bob", "carl"]
    assert made["ann"].texts(IDENTIFIER) == {"2"} and made["ann"].uri != kimai2.uri
    assert store[kimai2.uri].texts(HOMEPAGE) == {KIMAI}, "the Kimai 2 account is left as it was"
