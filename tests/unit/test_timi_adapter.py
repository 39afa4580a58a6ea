"""The Timi adapter behind the tracker port, against the emulator on a real socket: capabilities,
links, reference data as project x service activities, personal sessions, entries with their
service, full-field updates, the zeroing that stands in for a delete, check."""

from __future__ import annotations

import json
import os
from datetime import date

import pytest
from pydantic import SecretStr

from emulators.timi.seeds import small_state
from emulators.timi.server import TimiServer
from kimaisync.errors import EntryNotFound, RecordRejected, TrackerConfigError
from kimaisync.settings import load_settings
from kimaisync.trackers import open_tracker
from kimaisync.trackers.port import EntryWrite, TimeModel
from kimaisync.trackers.timi.adapter import LINKS, RETIRED_MARK, TimiTracker, is_retired
from kimaisync.trackers.timi.credentials import TimiCredentials

DAY = date(2016, 3, 1)


@pytest.fixture
def emulator():
    state = small_state()
    with TimiServer(state, today=lambda: date(2016, 3, 28)) as server:
        yield state, server


def tracker(server, **tokens) -> TimiTracker:
    tokens = tokens or {"ann@example.org": "ann-token", "rowan@example.org": "rowan-token"}
    return TimiTracker(server.url, TimiCredentials({k: SecretStr(v) for k, v in tokens.items()}),
                       sleep=lambda s: None)


def write(user="ann@example.org", activity="47/1", minutes=90, body="[tk:WL1]", day=DAY) -> EntryWrite:
    return EntryWrite(user=user, project=int(activity.split("/")[0]), activity=activity, description=body,
                      date=day, minutes=minutes)


def test_capabilities_and_links_say_day_no_delete_per_person():
    caps = TimiTracker.capabilities
    assert caps.time_model is TimeModel.DAY and not caps.can_delete and caps.per_person
    assert LINKS.entry_predicate.endswith("timiEntryId") and LINKS.activity_type.endswith("TimiService")
    assert LINKS.parse_id("108085") == 108085 and LINKS.parse_id(" 3327/1 ") == "3327/1"
    assert LINKS.parse_id("abc") is None
    assert LINKS.parse_user_id("Ann@Example.org") == "ann@example.org"


def test_reference_data_is_the_union_with_an_activity_per_project_and_service(emulator):
    _state, server = emulator
    with tracker(server) as timi:
        ref = timi.reference_data()
    assert {c.name for c in ref.customers} == {"Timi", "Klant A"}
    assert {(p.id, p.customer) for p in ref.projects} == {(47, 1), (3327, 1), (3328, 618)}
    assert len(ref.activities) == 3 * 3
    pairs = {(a.id, a.name, a.project) for a in ref.activities}
    assert ("3328/2", "Design", 3328) in pairs and ("47/1", "Development", 47) in pairs


def test_a_person_without_a_credential_gets_a_reason_not_a_session(emulator):
    _state, server = emulator
    with tracker(server) as timi:
        sessions, problems = timi.sessions(["ann@example.org", "carl@example.org"])
    assert list(sessions) == ["ann@example.org"]
    assert "no Timi credential for carl@example.org in TIMI_CREDENTIALS_FILE" in problems["carl@example.org"]
    assert [u.id for u in tracker(server).users()] == ["ann@example.org", "rowan@example.org"]


def test_entries_carry_their_service_so_a_rerun_can_compare(emulator):
    state, server = emulator
    typed = state.add_entry(3, "handwerk", DAY, 600, 47, None)  # typed in Timi without a service
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        made = ann.create(write(activity="3328/2"))
        state.clear_requests()
        rows = {e.id: e for e in ann.entries(DAY, DAY)}
    assert rows[made.id].activity == "3328/2" and rows[made.id].minutes == 90 and rows[made.id].date == DAY
    assert rows[typed.id].activity is None and rows[typed.id].project == 47
    assert all(r.user == "ann@example.org" for r in rows.values())


def test_the_window_costs_a_request_per_service_plus_one_when_every_entry_has_a_known_one(emulator):
    """Timi allows a few requests a minute per person: what a window's read spends of that."""
    state, server = emulator
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        ann.create(write())
        ann.entries(DAY, DAY)  # the first read also learns the services (once)
        state.clear_requests()
        ann.entries(DAY, DAY)
    assert {r.path for r in state.requests} == {"/api/v1/time_entries.json"}  # the services are not read again
    assert len(state.requests) == len(state.services) + 1  # one per service, and the count to compare


def test_an_update_sends_every_field_so_recognition_decides_nothing(emulator):
    state, server = emulator
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        made = ann.create(write(body="[tk:WL1]"))
        ann.update(made.id, {"description": "2,5 uur met Rowan aan Timi gewerkt [tk:WL1]"})
    stored = state.entries[made.id]
    assert (stored.duration, stored.project, stored.service, stored.date) == (5400, 47, 1, DAY)
    assert state.requests[-1].form == {"body": "2,5 uur met Rowan aan Timi gewerkt [tk:WL1]", "date": "01-03-2016",
                                       "duration": "5400", "project_id": "47", "service_id": "1"}


def test_a_deleted_work_logs_entry_is_zeroed_and_marked_once(emulator):
    state, server = emulator
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        made = ann.create(write(body="[tk:WL1]"))
        retired = ann.retire(made.id)
        assert is_retired(retired)
        sent = len(state.requests)
        assert ann.retire(made.id) == retired
        assert [r.method for r in state.requests[sent:] if r.method != "GET"] == []  # already done: nothing written
    stored = state.entries[made.id]
    assert stored.duration == 0 and stored.body == f"{RETIRED_MARK} [tk:WL1]"
    assert (stored.project, stored.service, stored.date) == (47, 1, DAY)
    with tracker(server) as fresh:  # a later run: the retired entry is gone for the sync
        ann = fresh.session("ann@example.org")
        assert ann.entries(DAY, DAY) == [] and ann.find_marked("[tk:WL1]") == []
        assert ann.get_many([made.id]) == ([], {made.id})
        assert ann.retire(made.id).id == made.id  # and retiring it again writes nothing
        assert [r.method for r in state.requests if r.method == "PATCH"] == ["PATCH"]


def test_get_many_and_find_marked_look_among_the_persons_own_entries(emulator):
    _state, server = emulator
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        made = ann.create(write(body="[tk:WL7]", day=date(2015, 6, 1)))
        found, missing = ann.get_many([made.id, 108085, 999999])
        assert [e.id for e in found] == [made.id] and missing == {108085, 999999}  # 108085 is Jankees'
        assert [e.id for e in ann.find_marked("[tk:WL7]")] == [made.id]
        with pytest.raises(EntryNotFound):
            ann.get(108085)


def test_an_entry_cannot_move_to_another_person(emulator):
    _state, server = emulator
    with tracker(server) as timi:
        ann = timi.session("ann@example.org")
        made = ann.create(write())
        with pytest.raises(RecordRejected):
            ann.update(made.id, {"user": "rowan@example.org"})


def test_check_names_each_credential_and_never_a_token(emulator):
    _state, server = emulator
    with tracker(server, **{"ann@example.org": "ann-token", "rowan@example.org": "stale-token-9"}) as timi:
        lines = timi.check()
    assert [ok for ok, _ in lines] == [True, True, False]
    assert "ok, ann@example.org: token accepted (3 services)" == lines[1][1]
    assert "rowan@example.org" in lines[2][1] and "stale-token-9" not in lines[2][1]


def test_tracker_timi_from_the_settings(emulator, tmp_path, monkeypatch):
    _state, server = emulator
    creds = tmp_path / "timi.json"
    creds.write_text(json.dumps({"ann@example.org": "ann-token"}))
    os.chmod(creds, 0o600)
    for k, v in {"TRACKER": "timi", "TIMI_ENDPOINT": server.url, "TIMI_CREDENTIALS_FILE": str(creds)}.items():
        monkeypatch.setenv(k, v)
    settings = load_settings()
    assert settings.timi_account_service_homepage == "https://timiapp.com"
    with open_tracker(settings) as timi:
        assert isinstance(timi, TimiTracker)
        assert timi.session("ann@example.org").entries(DAY, DAY) == []
        with pytest.raises(TrackerConfigError):
            timi.session(None)
