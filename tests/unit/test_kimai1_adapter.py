"""The Kimai 1 adapter behind the tracker port, against the emulator in-process."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest

from emulators.kimai1.app import create_app
from emulators.kimai1.seeds import small_state
from emulators.kimai1.transport import InProcessTransport
from kimaisync.errors import EntryNotFound, TrackerConfigError
from kimaisync.settings import Settings
from kimaisync.trackers import factory
from kimaisync.trackers.port import EntryWrite

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture
def state():
    return small_state()


@pytest.fixture
def tracker(state, tmp_path):
    creds = tmp_path / "kimai1.json"
    creds.write_text('{"ann": "ann-pw", "admin": "admin-pw"}')
    os.chmod(creds, 0o600)
    settings = Settings(tracker="kimai1", kimai1_endpoint="https://kimai1.test/core/json.php", kimai1_user="admin",
                        kimai1_password="admin-pw", kimai1_credentials_file=str(creds))
    with factory("kimai1")(settings, transport=InProcessTransport(create_app(state)), sleep=lambda s: None) as t:
        yield t


def test_settings_default_the_account_homepage_to_the_endpoints_origin(tracker):
    settings = Settings(tracker="kimai1", kimai1_endpoint="https://kimai1.example.org/core/json.php",
                        kimai1_user="admin", kimai1_password="pw")
    assert settings.kimai1_account_service_homepage == "https://kimai1.example.org"
    assert tracker.capabilities.per_person and tracker.capabilities.can_mark_exported
    assert "admin-pw" not in tracker.describe() + repr(tracker.client)


def test_a_credentials_file_others_may_read_is_refused_at_start(tmp_path):
    creds = tmp_path / "open.json"
    creds.write_text('{"ann": "s3cret"}')
    os.chmod(creds, 0o644)
    with pytest.raises(ValueError) as err:
        Settings(tracker="kimai1", kimai1_endpoint="https://k.example.org/core/json.php", kimai1_user="a",
                 kimai1_password="b", kimai1_credentials_file=str(creds))
    assert "chmod 600" in str(err.value) and "s3cret" not in str(err.value)


def test_reference_data_and_users(tracker):
    ref = tracker.reference_data()
    assert [c.name for c in ref.customers] == ["Acme"]
    assert {p.name: p.customer for p in ref.projects} == {"Website": 1, "Support": 1}
    assert sorted((a.id, a.name, a.project) for a in ref.activities) == [
        ("1-1", "Development", 1), ("1-2", "Meeting", 1),
        ("2-1", "Development", 2), ("2-2", "Meeting", 2), ("2-3", "Hotline", 2)], "a task as each project offers it"
    assert [tracker.links.parse_id(x) for x in ("12", "2-3", "x-3", "")] == [12, "2-3", None, None]
    assert [(u.id, u.name) for u in tracker.users()] == [(1, "admin"), (2, "ann"), (3, "bob"), (4, "carl")]


def test_a_person_without_a_credential_is_skipped_with_the_reason(tracker):
    sessions, problems = tracker.sessions([2, 3])
    assert list(sessions) == [2] and "KIMAI1_CREDENTIALS_FILE" in problems[3]
    with pytest.raises(TrackerConfigError):
        tracker.session(99)


def test_the_service_session_reads_and_deletes_any_record_and_writes_through_the_owner(tracker, state):
    service = tracker.session(None)
    assert service.user_id == 1 and service.get(2).user == 3, "bob's record, read with the admin key"
    service.update(1, {"description": "[tk:x]"})
    assert state.entries[1].user == 2, "written with ann's key: the record stays hers"
    assert state.calls_of("setTimesheetRecord")[-1].user == "ann"
    service.delete(2)
    assert 2 not in state.entries


def test_create_update_lock_delete_through_the_port(tracker, state):
    ann = tracker.session(2)
    begin = dt.datetime(2026, 6, 2, 9, 0, tzinfo=BRUSSELS)
    made = ann.create(EntryWrite(2, 1, "1-1", "[tk:wl-1]", begin, begin + dt.timedelta(hours=2)))
    assert state.entries[made.id].user == 2 and made.minutes == 120 and made.activity == "1-1"
    assert state.entries[made.id].activity == 1
    listed = ann.entries(dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert [e.id for e in listed] == [1, made.id]
    assert [e.id for e in ann.find_marked("[tk:wl-1]")] == [made.id]
    later = begin + dt.timedelta(hours=1)
    changed = ann.update(made.id, {"begin": later, "end": later + dt.timedelta(minutes=30)}, zone="Europe/Brussels")
    assert changed.minutes == 30 and ann.get(made.id).begin == later
    assert ann.get(made.id).description == "[tk:wl-1]", "fields not named are kept"
    assert ann.mark_exported(made.id, True) is True and ann.get(made.id).locked
    assert ann.mark_exported(made.id, True) is False
    ann.delete(made.id)
    with pytest.raises(EntryNotFound):
        ann.delete(made.id)
    ann.delete(made.id, missing_ok=True)


def test_get_many_splits_found_and_missing(tracker):
    found, missing = tracker.session(2).get_many([1, 3, 77])
    assert sorted(e.id for e in found) == [1, 3] and missing == {77}
    assert [e.locked for e in sorted(found, key=lambda e: e.id)] == [False, True]


def test_an_update_of_a_vanished_record_is_not_found(tracker, state):
    ann = tracker.session(2)
    state.entries.pop(1)
    with pytest.raises(EntryNotFound):
        ann.update(1, {"description": "x"})


def test_moving_a_record_to_another_person_writes_with_their_key(tracker, state):
    ann = tracker.session(2)
    moved = ann.update(1, {"user": 1})
    assert moved.user == 1 and state.entries[1].user == 1
    assert state.calls_of("setTimesheetRecord")[-1].user == "admin"


def test_check_reaches_kimai1_and_tries_each_personal_login(tracker, state):
    [(ok, said)] = tracker.check()
    assert ok and said.startswith("ok, version 1.3.1-1391; KIMAI1_USER lists 4 user(s)")
    assert "2 of 2 personal login(s) accepted" in said
    state.user_by_name("ann").password = "changed"
    fresh = type(tracker)(type(tracker.client)(tracker.client.rpc.endpoint, user="admin", password="admin-pw",
                                                credentials={"ann": "ann-pw", "admin": "admin-pw"},
                                                transport=InProcessTransport(create_app(state))))
    [(ok, said)] = fresh.check()
    assert not ok and "personal login of ann (1 of 2 accepted)" in said
    assert "ann-pw" not in said and "admin-pw" not in said


def test_settings_describe_names_kimai1_without_secrets():
    settings = Settings(tracker="kimai1", kimai1_endpoint="https://kimai1.example.org/core/json.php",
                        kimai1_user="admin", kimai1_password="pw-secret")
    text = settings.describe()
    assert "Kimai 1 https://kimai1.example.org/core/json.php (login admin)" in text and "pw-secret" not in text
    shown = dict(settings.shown())
    assert shown["KIMAI1_PASSWORD"] == "***" and "pw-secret" not in str(shown)


def test_settings_warn_about_plain_http_a_wrong_path_and_no_personal_logins():
    settings = Settings(tracker="kimai1", kimai1_endpoint="http://kimai1.example.org/core/", kimai1_user="admin",
                        kimai1_password="pw")
    text = " | ".join(settings.warnings())
    assert "http://" in text and "json.php" in text and "KIMAI1_CREDENTIALS_FILE" in text
    local = Settings(tracker="kimai1", kimai1_endpoint="http://127.0.0.1:8001/core/json.php", kimai1_user="admin",
                     kimai1_password="pw", kimai1_credentials_file=None)
    assert [w for w in local.warnings() if "KIMAI1_ENDPOINT" in w] == []
