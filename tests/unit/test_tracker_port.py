"""The tracker port: the registry, the error families, and Kimai 2 behind the port against its emulator."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kimaisync import errors, retry
from kimaisync.errors import ConfigurationError, EntryNotFound, TrackerAuthError
from kimaisync.settings import load_settings
from kimaisync.trackers import TRACKERS, factory, open_tracker
from kimaisync.trackers.port import CredentialScope, EntryWrite, TimeModel, Tracker

kimai_state = pytest.importorskip("emulators.kimai2.state")
kimai_server = pytest.importorskip("emulators.kimai2.server")

TOKEN = "port-token-5b1c9e"
UTC = timezone.utc


def test_every_setting_value_of_tracker_is_registered_and_kimai_is_the_default(monkeypatch):
    from typing import get_args

    from kimaisync.settings import TrackerName

    assert set(get_args(TrackerName)) == set(TRACKERS)
    monkeypatch.delenv("TRACKER", raising=False)
    s = load_settings(api_token="tok-SECRET-91", kimai_endpoint="https://kimai.example.org/api")
    assert s.tracker == "kimai"
    with open_tracker(s) as tracker:
        assert isinstance(tracker, Tracker) and tracker.name == "kimai"
        assert tracker.capabilities.time_model is TimeModel.CLOCK and tracker.capabilities.can_delete
        assert tracker.capabilities.credentials is CredentialScope.SERVICE
        assert "tok-SECRET-91" not in tracker.describe() + repr(tracker.client)


def test_an_unknown_tracker_name_is_a_configuration_error_naming_tracker():
    with pytest.raises(ConfigurationError, match="TRACKER: 'nope' is not a tracker"):
        factory("nope")


def test_kimai_settings_are_required_only_for_kimai(monkeypatch, tmp_path):
    for k in ("API_TOKEN", "KIMAI_ENDPOINT", "TRACKER"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert sorted(p.split(":")[0] for p in info.value.problems) == ["API_TOKEN", "KIMAI_ENDPOINT"]
    creds = tmp_path / "timi.json"
    creds.write_text('{"ann@example.org": "abc123"}')
    creds.chmod(0o600)
    assert load_settings(tracker="timi", timi_credentials_file=str(creds)).api_token is None


def test_retrying_is_decided_by_the_error_family():
    assert errors.is_retryable(errors.KimaiServerError("x")) and errors.is_retryable(errors.KimaiTransportError("x"))
    assert errors.is_retryable(errors.TrackerTransient("x")) and errors.is_retryable(errors.SparqlUnavailableError("x"))
    for exc in (errors.KimaiProtocolError("x"), errors.KimaiLockedError("x"), errors.TrackerConfigError("x"),
                errors.RecordRejected("x"), errors.OutcomeUnknown("x"), errors.EntryNotFound("x")):
        assert not errors.is_retryable(exc), exc
    # what a write that may have landed looks like, whatever the tracker
    assert isinstance(errors.KimaiServerError("x"), errors.OutcomeUnknown)
    assert not isinstance(errors.KimaiRateLimitedError("x"), errors.OutcomeUnknown)
    assert retry.retry_delay(errors.KimaiRateLimitedError("x", retry_after=7), 1) == 7
    assert errors.is_fatal(errors.KimaiAuthError("x")) and not errors.is_fatal(errors.KimaiPermissionError("x"))


@pytest.fixture
def kimai():
    state = kimai_state.KimaiState()
    bot = state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=TOKEN, timezone="UTC")
    other = state.add_user("ann", timezone="Europe/Brussels")
    customer = state.add_customer("Acme")
    project = state.add_project("Web", customer.id)
    activity = state.add_activity("Dev", project.id)
    with kimai_server.EmulatorServer(state) as srv:
        settings = load_settings(api_token=TOKEN, kimai_endpoint=srv.url, tracker="kimai")
        with open_tracker(settings) as tracker:
            yield tracker, state, bot, other, project, activity


def test_kimai2_entries_round_trip_through_the_port(kimai):
    tracker, state, bot, other, project, activity = kimai
    s = tracker.session(other.id)
    assert s is tracker.session(None)  # one service credential: one session for everyone
    begin = datetime(2026, 3, 2, 8, tzinfo=UTC)
    made = s.create(EntryWrite(other.id, project.id, activity.id, "work [ts:abc]", begin=begin,
                               end=begin + timedelta(minutes=90)))
    assert (made.user, made.project, made.activity, made.minutes, made.locked) == (other.id, project.id, activity.id,
                                                                                   90, False)
    assert made.begin == begin and made.end == begin + timedelta(minutes=90)
    assert [e.id for e in s.entries(date(2026, 3, 2), date(2026, 3, 2))] == [made.id]
    assert [e.id for e in s.entries(date(2026, 3, 2), date(2026, 3, 2), user=bot.id)] == []
    assert [e.id for e in s.find_marked("[ts:abc]")] == [made.id]
    moved = s.update(made.id, {"end": begin + timedelta(hours=2), "description": "more"}, zone="Europe/Brussels")
    assert moved.minutes == 120 and moved.description == "more"
    found, missing = s.get_many([made.id, 999999])
    assert [e.id for e in found] == [made.id] and missing == {999999}
    assert s.mark_exported(made.id, True) and s.get(made.id).locked
    assert s.mark_exported(made.id, False) and not s.get(made.id).locked
    s.delete(made.id)
    with pytest.raises(EntryNotFound):
        s.get(made.id)
    s.delete(made.id, missing_ok=True)
    users = {u.name: u for u in tracker.users()}
    assert users["ann"].timezone == "Europe/Brussels" and users["sync-bot"].enabled
    ref = tracker.reference_data()
    assert [p.customer for p in ref.projects] == [ref.customers[0].id]
    assert [a.project for a in ref.activities] == [project.id]
    assert tracker.requests_made > 0


def test_a_refused_kimai_token_is_the_ports_auth_error(kimai):
    tracker, state, *_ = kimai
    settings = load_settings(api_token="wrong-token", kimai_endpoint=tracker.client.base_url)
    with open_tracker(settings) as bad, pytest.raises(TrackerAuthError):
        bad.users()
