"""EGroupware behind the tracker port, against its emulator: settings, registry, capabilities, the
session per person, ETag-guarded updates and deletes (a person's edit is never overwritten),
sync-token changes, and what cannot be listed."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from emulators.egroupware.seeds import ALL_USERS_TOKEN, small_state
from emulators.egroupware.server import EmulatorServer
from kimaisync.errors import ConfigurationError, EntryNotFound, RecordRejected, TrackerConfigError
from kimaisync.settings import load_settings
from kimaisync.trackers import open_tracker
from kimaisync.trackers.egroupware.adapter import EGroupwareTracker
from kimaisync.trackers.port import CredentialScope, CursorKind, EntryWrite, TimeModel

UTC = timezone.utc
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=1)))


@pytest.fixture
def served():
    state = small_state()
    with EmulatorServer(state) as srv:
        yield state, srv


def settings_for(srv, password="sync-password", **over):
    return load_settings(tracker="egroupware", egroupware_url=srv.url, egroupware_user="sync",
                         egroupware_password=password, kimai_retries=1, **over)


@pytest.fixture
def tracker(served):
    _, srv = served
    with open_tracker(settings_for(srv)) as t:
        yield t


def write(user="anna", minutes=90, **over):
    fields = dict(user=user, project="Alpha", activity="development", description="[tk:wl-1]",
                  begin=NINE, end=NINE + timedelta(minutes=minutes))
    fields.update(over)
    return EntryWrite(**fields)


def test_settings_needed_only_for_egroupware_and_the_password_never_shown(monkeypatch):
    for k in ("EGROUPWARE_URL", "EGROUPWARE_USER", "EGROUPWARE_PASSWORD", "TRACKER", "API_TOKEN", "KIMAI_ENDPOINT"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigurationError) as info:
        load_settings(tracker="egroupware")
    assert sorted(p.split(":")[0] for p in info.value.problems) == [
        "EGROUPWARE_PASSWORD", "EGROUPWARE_URL", "EGROUPWARE_USER"]
    with pytest.raises(ConfigurationError) as info:
        load_settings(tracker="egroupware", egroupware_url="https://egw.example.org/egroupware/groupdav.php",
                      egroupware_user="a b", egroupware_password="   ")
    lines = {p.split(":")[0]: p for p in info.value.problems}
    assert "login name" in lines["EGROUPWARE_USER"] and "'a b'" in lines["EGROUPWARE_USER"]
    assert "is empty" in lines["EGROUPWARE_PASSWORD"] and "(got" not in lines["EGROUPWARE_PASSWORD"]
    s = load_settings(tracker="egroupware", egroupware_url="https://egw.example.org:8443/egroupware/groupdav.php/",
                      egroupware_user="sync", egroupware_password="Pw-Secret-77")
    assert s.egroupware_base == "https://egw.example.org:8443/egroupware/groupdav.php"
    assert s.egroupware_homepage == "https://egw.example.org:8443"  # the default: the URL's origin
    assert getattr(s, EGroupwareTracker.links.account_homepage_setting) == "https://egw.example.org:8443"
    assert "Pw-Secret-77" not in repr(s) + str(s.model_dump())
    s = load_settings(tracker="egroupware", egroupware_url="https://egw.example.org/egroupware/groupdav.php",
                      egroupware_user="sync", egroupware_password="x",
                      egroupware_account_service_homepage="http://egw.redpencil.io")
    assert s.egroupware_homepage == "http://egw.redpencil.io"


def test_registry_opens_it_with_its_capabilities(tracker):
    assert isinstance(tracker, EGroupwareTracker) and tracker.name == "egroupware"
    caps = tracker.capabilities
    assert caps.time_model is TimeModel.CLOCK and caps.can_delete and not caps.can_mark_exported
    assert caps.credentials is CredentialScope.PER_PERSON and caps.cursor is CursorKind.TOKEN
    assert "sync-password" not in tracker.describe() and tracker.check()[0][1].startswith("ok, logged in as")


def test_no_projects_categories_or_accounts_can_be_listed(tracker):
    ref = tracker.reference_data()
    assert (list(ref.customers), list(ref.projects), list(ref.activities)) == ([], [], [])
    with pytest.raises(TrackerConfigError, match="lists no accounts"):
        tracker.users()


def test_create_lands_in_the_persons_collection_in_utc_minutes(served, tracker):
    state, _ = served
    e = tracker.session("anna").create(write())
    stored = state.timesheets[int(e.id)]
    assert stored.owner == 7 and stored.start == int(NINE.timestamp()) and stored.duration == 90
    assert state.categories[stored.cat_id] == "development" and stored.project == "Alpha"
    assert stored.title == "development" and stored.description == "[tk:wl-1]"
    assert (e.user, e.project, e.activity, e.begin, e.end, e.minutes, e.locked) == (
        "anna", "Alpha", "development", NINE, NINE + timedelta(minutes=90), 90, False)


def test_window_read_and_marker_search(tracker):
    s = tracker.session("anna")
    s.create(write())
    s.create(write(begin=NINE + timedelta(days=20), end=NINE + timedelta(days=20, hours=1), description="[tk:wl-2]"))
    assert [e.description for e in s.entries(date(2026, 3, 1), date(2026, 3, 5))] == ["[tk:wl-1]"]
    assert [e.description for e in s.find_marked("[tk:wl-2]")] == ["[tk:wl-2]"]
    assert tracker.session("ralf").find_marked("[tk:wl-2]") == []


def test_update_sends_only_what_differs_with_if_match(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    e = s.create(write())
    later = NINE + timedelta(hours=2)
    after = s.update(e.id, {"begin": later, "end": later + timedelta(minutes=30)})
    sent = state.requests[-1]
    assert sent.method == "PATCH" and set(sent.body) == {"start", "duration"}
    assert after.begin == later and after.minutes == 30
    n = len(state.requests)
    assert s.update(e.id, {"begin": later, "end": later + timedelta(minutes=30)}).minutes == 30
    assert [r.method for r in state.requests[n:] if r.method != "GET"] == []  # nothing differs: nothing written


def test_a_persons_edit_since_our_read_is_not_overwritten(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    e = s.create(write())
    state.edit_as(int(e.id), state.accounts[7], duration=45, title="my own title")
    with pytest.raises(RecordRejected, match="changed in EGroupware by anna@example.org"):
        s.update(e.id, {"minutes": 120})
    assert state.timesheets[int(e.id)].duration == 45 and state.timesheets[int(e.id)].title == "my own title"
    # re-planned on the fresh read, the same wish goes through
    assert s.update(e.id, {"minutes": 120}).minutes == 120


def test_a_conflict_that_already_has_our_values_is_success(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    e = s.create(write())
    state.edit_as(int(e.id), state.accounts[7], duration=120)
    assert s.update(e.id, {"minutes": 120}).minutes == 120


def test_delete_is_guarded_too(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    e = s.create(write())
    state.edit_as(int(e.id), state.accounts[7], title="keep me")
    with pytest.raises(RecordRejected, match="not deleted"):
        s.delete(e.id)
    assert not state.timesheets[int(e.id)].deleted
    s.get(e.id)  # read again: now the delete is ours to make
    s.delete(e.id)
    with pytest.raises(EntryNotFound):
        s.get(e.id)
    s.delete(e.id, missing_ok=True)


def test_moving_to_another_person_is_refused_clearly(tracker):
    s = tracker.session("anna")
    e = s.create(write())
    with pytest.raises(RecordRejected, match="another person"):
        s.update(e.id, {"user": "ralf"})


def test_get_many_splits_found_and_missing(tracker):
    s = tracker.session("anna")
    a, b = s.create(write()), s.create(write(description="[tk:wl-9]"))
    found, missing = s.get_many([a.id, b.id, "987654"])
    assert sorted(e.id for e in found) == sorted([a.id, b.id]) and missing == {"987654"}


def test_changes_since_a_token(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    a, b = s.create(write()), s.create(write(description="[tk:wl-2]"))
    first = s.changes_since(None)
    assert {e.id for e in first.entries} == {a.id, b.id} and first.cursor
    state.edit_as(int(a.id), state.accounts[7], duration=5)
    s.delete(b.id)
    later = s.changes_since(first.cursor)
    assert [e.id for e in later.entries] == [a.id] and list(later.deleted) == [b.id]


def test_a_person_without_a_grant_fails_alone(served, tracker):
    with pytest.raises(TrackerConfigError, match="grant"):
        tracker.session("piet").create(write(user="piet"))
    assert tracker.session("anna").create(write()).id  # the others go on


def test_an_all_users_token_needs_no_grants(served):
    state, srv = served
    with open_tracker(settings_for(srv, password=ALL_USERS_TOKEN)) as t:
        e = t.session("piet").create(write(user="piet"))
        assert state.timesheets[int(e.id)].owner == 8 and state.requests[-1].auth_user_id == 8
        [(ok, line)] = t.check()
        assert ok and "acting as each person" in line


def test_wrong_password_is_an_auth_error(served):
    _, srv = served
    with open_tracker(settings_for(srv, password="nope-nope")) as t:
        [(ok, line)] = t.check()
        assert not ok and "EGROUPWARE_PASSWORD" in line


def test_links_read_names_and_logins_as_they_are():
    links = EGroupwareTracker.links
    assert links.parse_id(" 140 ") == "140" and links.parse_id("Backend development") == "Backend development"
    assert links.parse_id("  ") is None
    assert links.parse_user_id("anna.b@example.org") == "anna.b@example.org"
    assert links.parse_user_id("two words") is None and links.parse_user_id("a/b") is None
    assert links.account_id_predicate.endswith("accountName") and links.activity_type.endswith("#Task")


def test_window_reads_after_the_first_ask_only_for_changes(served, tracker):
    state, _ = served
    s = tracker.session("anna")
    a = s.create(write())
    b = s.create(write(description="[tk:wl-2]", begin=NINE + timedelta(hours=2), end=NINE + timedelta(hours=3)))
    assert {e.id for e in s.entries(date(2026, 3, 1), date(2026, 3, 5))} == {a.id, b.id}
    state.edit_as(int(a.id), state.accounts[7], duration=10)
    state.delete_as(int(b.id), state.accounts[7])
    state.requests.clear()
    again = s.entries(date(2026, 3, 1), date(2026, 3, 5))
    assert [(e.id, e.minutes) for e in again] == [(a.id, 10)]
    (read,) = state.requests
    assert read.query.get("sync-token", "").startswith("https://")  # the token of the first read
    assert s.update(a.id, {"minutes": 20}).minutes == 20  # and its ETag is the fresh one


def test_a_later_run_reads_only_what_changed_through_the_kept_collection(served, tmp_path):
    state, srv = served
    settings = settings_for(srv, egroupware_mirror_dir=str(tmp_path))
    with open_tracker(settings) as first:
        s = first.session("anna")
        a, b = s.create(write()), s.create(write(description="[tk:wl-2]"))
        assert len(s.entries(date(2026, 3, 1), date(2026, 3, 5))) == 2
    state.edit_as(int(a.id), state.accounts[7], duration=10)
    state.delete_as(int(b.id), state.accounts[7])
    state.requests.clear()
    with open_tracker(settings) as later:  # a new run: a new process, the same directory
        seen = later.session("anna").entries(date(2026, 3, 1), date(2026, 3, 5))
    assert [(e.id, e.minutes) for e in seen] == [(a.id, 10)]
    (read,) = state.requests
    assert read.query.get("sync-token", "").startswith("https://")  # only the changes were asked for
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"


def test_a_kept_collection_the_server_refuses_costs_one_full_read(served, tmp_path):
    state, srv = served
    settings = settings_for(srv, egroupware_mirror_dir=str(tmp_path))
    with open_tracker(settings) as first:
        e = first.session("anna").create(write())
        first.session("anna").entries(date(2026, 3, 1), date(2026, 3, 5))
    state.delete_as(int(e.id), state.accounts[7])
    state.purge_tombstones()  # the token kept with it is refused from now on
    with open_tracker(settings) as later:
        assert later.session("anna").entries(date(2026, 3, 1), date(2026, 3, 5)) == []
    assert state.requests[-1].query.get("sync-token") == ""  # refused, then read whole
    (next(tmp_path.rglob("*.json"))).write_text("{not json")  # a damaged file is only a cache too
    state.requests.clear()
    with open_tracker(settings) as again:
        assert again.session("anna").entries(date(2026, 3, 1), date(2026, 3, 5)) == []
    assert [r.query.get("sync-token") for r in state.requests] == [""]  # one full read
