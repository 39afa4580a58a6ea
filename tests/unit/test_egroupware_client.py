"""The EGroupware client against the emulator on a real socket: auth modes, reads, sync-token,
ETag-guarded writes and the 412 path, lost replies, error types, secrets kept out of sight."""

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from pydantic import SecretStr

from emulators.egroupware.seeds import ALL_USERS_TOKEN, RALF_TOKEN, small_state
from emulators.egroupware.server import EmulatorServer
from emulators.egroupware.state import Faults
from kimaisync.errors import (
    EntryNotFound,
    OutcomeUnknown,
    RecordRejected,
    TrackerAuthError,
    TrackerConfigError,
    TrackerTransient,
    is_retryable,
)
from kimaisync.trackers.egroupware import EGroupwareClient, EGroupwareConflict, TimesheetWrite

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=1)))  # 08:00 UTC


@pytest.fixture
def served():
    state = small_state()
    with EmulatorServer(state) as srv:
        yield state, srv


def client(srv, user="sync", secret="sync-password", **kw):
    kw.setdefault("sleep", lambda s: None)
    return EGroupwareClient(srv.url, user, SecretStr(secret), **kw)


def write(**over):
    fields = dict(title="Timekeeper work", start=START, duration=90, description="notes [tk:wl-1]",
                  project="Alpha", category="development")
    fields.update(over)
    return TimesheetWrite(**fields)


def test_create_sends_utc_minutes_and_a_one_key_category(served):
    state, srv = served
    with client(srv) as c:
        rec = c.create("anna", write())
    sent = state.requests[-1]
    assert sent.method == "POST" and sent.path.endswith("/anna/timesheet/")
    assert sent.body["start"] == "2026-03-02T08:00:00Z" and sent.body["duration"] == 90
    assert sent.body["category"] == {"development": True}
    assert rec.id > 0 and rec.etag == f"{rec.id}:{state.timesheets[rec.id].modified}"
    assert rec.owner == "anna@example.org" and rec.start == START and rec.category == "development"
    assert state.timesheets[rec.id].owner == 7


def test_password_logs_in_as_the_service_user_and_needs_a_grant(served):
    state, srv = served
    with client(srv) as c:
        c.create("ralf", write())
        assert state.requests[-1].auth_user_id == 5  # sync
        with pytest.raises(TrackerConfigError) as err:
            c.timesheets("piet")
    assert "grant" in str(err.value) and not is_retryable(err.value)


def test_an_all_users_token_acts_as_each_person(served):
    state, srv = served
    with client(srv, secret=ALL_USERS_TOKEN) as c:
        c.create("piet", write())
        assert state.requests[-1].auth_user_id == 8  # piet himself, no grant needed
        assert [r.owner for r in c.timesheets("piet")] == ["piet@example.org"]


def test_a_one_user_token_is_a_clear_auth_error_for_anyone_else(served):
    _, srv = served
    with client(srv, user="ralf", secret=RALF_TOKEN) as c:
        assert len(c.timesheets("ralf")) == 2
        with pytest.raises(TrackerAuthError) as err:
            c.timesheets("anna")
    assert "for all users" in str(err.value)


def test_wrong_password_is_an_auth_error_without_the_secret(served):
    _, srv = served
    with client(srv, secret="Wrong-Secret-123") as c:
        with pytest.raises(TrackerAuthError) as err:
            c.probe()
        assert "Wrong-Secret-123" not in str(err.value) and "Wrong-Secret-123" not in repr(c)
    assert not is_retryable(err.value)


def test_update_sends_if_match_and_only_what_changed(served):
    state, srv = served
    with client(srv) as c:
        rec = c.create("anna", write())
        changes = write(duration=120).differences(rec)
        assert changes == {"duration": 120}
        after = c.update("anna", rec.id, changes, rec.etag)
    sent = state.requests[-1]
    assert sent.method == "PATCH" and sent.body == {"duration": 120}
    assert after.duration == 120 and after.etag != rec.etag and after.description == "notes [tk:wl-1]"


def test_a_persons_edit_is_never_overwritten(served):
    state, srv = served
    with client(srv) as c:
        rec = c.create("anna", write())
        state.edit_as(rec.id, state.accounts[7], title="Anna's own words")
        with pytest.raises(EGroupwareConflict) as err:
            c.update("anna", rec.id, {"duration": 30}, rec.etag)
        assert err.value.current.title == "Anna's own words"  # no extra read needed to re-plan
        with pytest.raises(EGroupwareConflict):
            c.delete("anna", rec.id, rec.etag)
    assert state.timesheets[rec.id].title == "Anna's own words" and not state.timesheets[rec.id].deleted
    assert not is_retryable(err.value)


def test_a_patch_whose_reply_was_lost_is_not_a_conflict_on_retry(served):
    state, srv = served
    heal = lambda _seconds: setattr(state, "faults", Faults())  # noqa: E731 (the retry goes out healed)
    with client(srv, sleep=heal) as c:
        rec = c.create("anna", write())
        state.faults = Faults(lost_response_rate=1.0, methods={"PATCH"})
        after = c.update("anna", rec.id, {"duration": 45}, rec.etag)
    assert after.duration == 45
    assert [r.status for r in state.requests if r.method == "PATCH"] == [200, 412]


def test_a_delete_whose_reply_was_lost_counts_as_done(served):
    state, srv = served
    heal = lambda _seconds: setattr(state, "faults", Faults())  # noqa: E731
    with client(srv, sleep=heal) as c:
        rec = c.create("anna", write())
        state.faults = Faults(lost_response_rate=1.0, methods={"DELETE"})
        c.delete("anna", rec.id, rec.etag)
        with pytest.raises(EntryNotFound):
            c.get("anna", rec.id)


def test_a_lost_create_reply_is_not_retried_and_the_marker_finds_it(served):
    state, srv = served
    state.faults = Faults(lost_response_rate=1.0, methods={"POST"})
    with client(srv) as c:
        with pytest.raises(OutcomeUnknown) as err:
            c.create("anna", write(description="x [tk:lost-1]"))
        state.faults = Faults()
        found = c.timesheets("anna", search="[tk:lost-1]")
    assert is_retryable(err.value)  # the type says transient; the caller looks before creating again
    assert [r.description for r in found] == ["x [tk:lost-1]"]
    assert sum(1 for r in state.requests if r.method == "POST") == 1


def test_transient_reads_are_retried(served):
    state, srv = served
    state.faults = Faults(seed=3, error_rate=1.0, methods={"GET"})
    calls = []

    def heal(seconds):
        calls.append(seconds)
        if len(calls) == 2:
            state.faults = Faults()

    with client(srv, sleep=heal) as c:
        assert len(c.timesheets("ralf")) == 2
        assert c.retries_made == 2


def test_server_errors_surface_typed_after_the_retries(served):
    state, srv = served
    state.faults = Faults(error_rate=1.0)
    with client(srv, retries=1) as c:
        with pytest.raises(TrackerTransient) as err:
            c.timesheets("ralf")
    assert is_retryable(err.value)


def test_refused_body_is_a_validation_error_with_egroupwares_message(served):
    _, srv = served
    with client(srv) as c:
        rec = c.create("anna", write())
        with pytest.raises(RecordRejected) as err:
            c.update("anna", rec.id, {"status": "nonsense"}, rec.etag)
    assert "Invalid status value" in str(err.value) and not is_retryable(err.value)


def test_sync_reads_everything_then_only_changes(served):
    state, srv = served
    with client(srv, sync_chunk=2) as c:
        made = [c.create("anna", write(title=f"t{i}")) for i in range(5)]
        first = c.changes("anna", None)
        assert first.full and set(first.records) == {r.id for r in made} and first.requests >= 3
        assert c.changes("anna", first.token).records == {}
        state.edit_as(made[0].id, state.accounts[7], duration=10)
        c.delete("anna", made[1].id, made[1].etag)
        later = c.changes("anna", first.token)
    assert not later.full
    assert set(later.records) == {made[0].id} and later.records[made[0].id].duration == 10
    assert later.deleted == {made[1].id}


def test_a_refused_sync_token_falls_back_to_a_full_read(served):
    state, srv = served
    with client(srv) as c:
        c.create("anna", write())
        token = c.changes("anna", None).token
        state.purge_tombstones()
        again = c.changes("anna", token)
    assert again.full and len(again.records) == 1


def test_get_returns_the_current_etag_and_404_is_not_found(served):
    _, srv = served
    with client(srv) as c:
        rec = c.create("anna", write())
        assert c.get("anna", rec.id).etag == rec.etag
        with pytest.raises(EntryNotFound):
            c.get("anna", 424242)


def test_html_answer_names_the_setting(served):
    def html(request):
        return httpx.Response(200, html="<html>login</html>")

    c = EGroupwareClient("https://egw.example.org/egroupware", "sync", "pw", transport=httpx.MockTransport(html))
    with pytest.raises(Exception) as err:
        c.timesheets("ralf")
    assert "EGROUPWARE_URL" in str(err.value)


def test_redirect_is_not_followed(served):
    def moved(request):
        return httpx.Response(302, headers={"Location": "https://elsewhere/login"})

    c = EGroupwareClient("https://egw.example.org/egroupware/groupdav.php", "sync", "pw",
                         transport=httpx.MockTransport(moved))
    with pytest.raises(Exception) as err:
        c.probe()
    assert "302" in str(err.value)


def test_the_secret_never_reaches_a_url_or_an_error(served):
    state, srv = served
    secret = "S3cret-Password-xyz"
    with client(srv, secret=secret) as c:
        with pytest.raises(TrackerAuthError) as err:
            c.timesheets("ralf")
    assert all(secret not in str(r.query) and secret not in r.path for r in state.requests)
    assert secret not in str(err.value) and secret not in repr(err.value)


def test_bad_settings_are_refused_at_construction():
    with pytest.raises(ValueError, match="EGROUPWARE_PASSWORD"):
        EGroupwareClient("https://egw/egroupware/groupdav.php", "sync", " ")
    with pytest.raises(ValueError, match="EGROUPWARE_URL"):
        EGroupwareClient("ftp://egw/groupdav.php", "sync", "pw")
    with pytest.raises(ValueError, match="EGROUPWARE_USER"):
        EGroupwareClient("https://egw/egroupware/groupdav.php", "", "pw")
