"""The Kimai 1 client against the emulator, in-process: keys, paging, errors, secrets."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from emulators.kimai1.app import create_app
from emulators.kimai1.faults import Faults
from emulators.kimai1.seeds import small_state
from emulators.kimai1.transport import InProcessTransport
from kimaisync.errors import (
    ConfigurationError,
    EntryNotFound,
    KimaiAuthError,
    KimaiProtocolError,
    KimaiServerError,
    KimaiTransportError,
    OutcomeUnknown,
    RecordRejected,
    TrackerConfigError,
    is_retryable,
)
from kimaisync.trackers.kimai1 import K1EntryWrite, Kimai1Client, NoCredential, format_time, load_credentials

BRUSSELS = ZoneInfo("Europe/Brussels")
URL = "http://kimai1.test/core/json.php"
JUNE = (datetime(2026, 6, 1, tzinfo=BRUSSELS), datetime(2026, 7, 1, tzinfo=BRUSSELS))


@pytest.fixture
def state():
    return small_state()


def make_client(state, **kw) -> Kimai1Client:
    kw.setdefault("credentials", {"ann": "ann-pw", "bob": "bob-pw"})
    kw.setdefault("sleep", lambda s: None)
    return Kimai1Client(URL, user="admin", password="admin-pw", transport=InProcessTransport(create_app(state)), **kw)


def write(day: int, hh: int, mm: int = 0, minutes: int = 60, marker: str = "[tk:w]") -> K1EntryWrite:
    start = datetime(2026, 6, day, hh, mm, tzinfo=BRUSSELS)
    return K1EntryWrite(project=1, task=1, start=start, end=start.replace(hour=hh + minutes // 60,
                                                                          minute=mm + minutes % 60),
                        description=marker)


def test_times_go_out_in_the_persons_zone_with_the_offset():
    moment = datetime(2026, 3, 29, 7, 30, tzinfo=timezone.utc)  # the morning after DST began
    assert format_time(moment, BRUSSELS) == "2026-03-29T09:30:00+02:00"
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1), BRUSSELS)


def test_reference_data_through_the_service_login(state):
    with make_client(state) as c:
        svc = c.service()
        assert [u.name for u in svc.users()] == ["admin", "ann", "bob", "carl"]
        projects = {p.name: p for p in svc.projects()}
        assert set(projects) == {"Website", "Support"}
        assert [t.name for t in projects["Support"].tasks] == ["Development", "Hotline", "Meeting"]
        assert [c_.name for c_ in svc.customers()] == ["Acme"]
    assert len(state.calls_of("authenticate")) == 1, "one key per user per run"


def test_an_empty_list_is_empty_not_an_error(state):
    state.customers.clear()
    state.projects.clear()
    with make_client(state) as c:
        assert c.service().customers() == [] and c.service().projects() == []


def test_each_persons_records_are_theirs_and_writes_carry_their_own_key(state):
    with make_client(state) as c:
        ann = c.session("ann")
        new_id = ann.create(write(2, 9), BRUSSELS)
        assert state.entries[new_id].user == 2
        assert [e.id for e in ann.entries(*JUNE, BRUSSELS)] == [1, new_id]
        assert [e.user for e in c.session("bob").entries(*JUNE, BRUSSELS)] == [3]
        entry = ann.entry(new_id)
        assert entry.start == datetime(2026, 6, 2, 9, tzinfo=BRUSSELS) and entry.duration == 3600
        ann.update(new_id, write(2, 10, minutes=30), BRUSSELS)
        assert ann.entry(new_id).end == datetime(2026, 6, 2, 10, 30, tzinfo=BRUSSELS)
        ann.remove(new_id)
        ann.remove(new_id)  # already gone: still fine
        with pytest.raises(EntryNotFound):
            ann.entry(new_id)
    keys = {call.params[0] for call in state.calls if call.rpc_method == "setTimesheetRecord"}
    assert keys == {state.user_by_name("ann").apikey}


def test_a_person_without_a_credential_is_a_config_problem_not_an_auth_failure(state):
    with make_client(state, credentials={"ann": "ann-pw"}) as c:
        with pytest.raises(NoCredential) as err:
            c.session("bob")
    assert isinstance(err.value, TrackerConfigError) and "KIMAI1_CREDENTIALS_FILE" in str(err.value)


def test_paging_reads_every_record_once_over_small_pages(state):
    with make_client(state, page_size=3) as c:
        ann = c.session("ann")
        made = [ann.create(write(day, 9), BRUSSELS) for day in range(2, 12)]
        state.clear_calls()
        got = ann.entries(*JUNE, BRUSSELS)
    assert [e.id for e in got] == [1] + made
    pages = state.calls_of("getTimesheet")
    assert [p.params[4] for p in pages] == [0, 3, 6, 9] and all(p.params[5] == 3 for p in pages)


def test_paging_survives_rows_with_equal_starts_in_a_new_order_per_query(state):
    import random

    with make_client(state, page_size=4) as c:
        ann = c.session("ann")
        same = [ann.create(write(3, 9, marker=f"[tk:s{n}]"), BRUSSELS) for n in range(10)]
        state.tie_order = random.Random(7)
        state.clear_calls()
        got = ann.entries(*JUNE, BRUSSELS)
    assert sorted(e.id for e in got) == sorted([1] + same)
    assert state.calls_of("getTimesheet")[-1].params[5] == 11 + 4, "pages did not add up: one read of it all"


def test_records_near_the_window_edges_are_read_unclamped(state):
    with make_client(state) as c:
        ann = c.session("ann")
        late = ann.create(write(30, 23, 0, minutes=45), BRUSSELS)
        got = {e.id: e for e in ann.entries(datetime(2026, 6, 30, tzinfo=BRUSSELS),
                                            datetime(2026, 7, 1, tzinfo=BRUSSELS), BRUSSELS)}
    assert list(got) == [late] and got[late].end == datetime(2026, 6, 30, 23, 45, tzinfo=BRUSSELS)


def test_a_key_that_stops_working_is_renewed_once_and_the_call_repeated(state):
    with make_client(state) as c:
        ann = c.session("ann")
        ann.entries(*JUNE, BRUSSELS)
        state.revoke_key("ann")
        assert [e.id for e in ann.entries(*JUNE, BRUSSELS)] == [1]
        assert len(state.calls_of("authenticate")) == 2
        state.revoke_key("ann")
        with pytest.raises(KimaiAuthError, match="again"):
            ann.entries(*JUNE, BRUSSELS)


def test_a_refused_or_empty_key_is_a_clear_auth_error(state):
    with make_client(state, credentials={"ann": "wrong", "bob": "bob-pw"}) as c:
        with pytest.raises(KimaiAuthError, match="'ann'"):
            c.session("ann").entries(*JUNE, BRUSSELS)
        state.user_by_name("bob").empty_key = True
        with pytest.raises(KimaiAuthError, match="refused the login of 'bob'"):
            c.session("bob").entries(*JUNE, BRUSSELS)
        for _ in range(3):
            with pytest.raises(KimaiAuthError):
                c.session("ann").create(write(2, 9), BRUSSELS)
    logins = [call.user for call in state.calls_of("authenticate")]
    assert logins.count("ann") == 1 and logins.count("bob") == 1, "a refused login is asked once per run"


def test_kimai_refusals_are_record_rejections_with_the_message_kept(state):
    with make_client(state) as c:
        bad = K1EntryWrite(project=1, task=1, start=JUNE[0], end=JUNE[0], description="x")
        with pytest.raises(RecordRejected) as err:
            c.session("ann").create(bad, BRUSSELS)
    assert "at least a second difference" in str(err.value) and not is_retryable(err.value)


def test_a_deactivated_account_is_an_auth_error(state):
    with make_client(state) as c:
        ann = c.session("ann")
        ann.entries(*JUNE, BRUSSELS)
        state.user_by_name("ann").active = False
        with pytest.raises(KimaiAuthError, match="deactivated"):
            ann.entries(*JUNE, BRUSSELS)
    with make_client(state, credentials={"carl": "carl-pw"}) as c:
        with pytest.raises(KimaiAuthError, match="deactivated"):
            c.session("carl").key()


def test_transient_faults_are_retried_for_reads_not_for_creates(state):
    state.faults = Faults(seed=1, error_rate=1.0, after=1)
    with make_client(state, retries=2) as c:
        ann = c.session("ann")
        ann.entries(*JUNE, BRUSSELS)  # the one let through
        with pytest.raises(KimaiServerError):
            ann.entries(*JUNE, BRUSSELS)
        assert c.retries_made == 2  # the failing read, repeated as often as `retries` allows
        before = len(state.calls_of("setTimesheetRecord"))
        with pytest.raises(KimaiServerError) as err:
            ann.create(write(3, 9), BRUSSELS)
        assert len(state.calls_of("setTimesheetRecord")) == before + 1
        assert isinstance(err.value, OutcomeUnknown) and is_retryable(err.value)


def test_a_lost_create_reply_is_outcome_unknown_and_the_record_exists(state):
    with make_client(state) as c:
        ann = c.session("ann")
        ann.entries(*JUNE, BRUSSELS)
        state.faults = Faults(lost_response_rate=1.0, rpc_methods={"setTimesheetRecord"})
        with pytest.raises(KimaiTransportError) as err:
            ann.create(write(4, 9, marker="[tk:lost]"), BRUSSELS)
        assert isinstance(err.value, OutcomeUnknown)
        state.faults = Faults()
        assert [e.description for e in ann.entries(*JUNE, BRUSSELS)].count("[tk:lost]") == 1


def test_wrong_endpoints_say_what_to_check():
    def html(request):
        return httpx.Response(200, text="<html>Kimai login</html>", headers={"content-type": "text/html"})

    def wrong_id(request):
        return httpx.Response(200, json={"result": "1.3", "id": "999", "jsonrpc": "2.0"})

    for handler, text in ((html, "KIMAI1_ENDPOINT"), (wrong_id, "id does not match")):
        with Kimai1Client(URL, transport=httpx.MockTransport(handler)) as c:
            with pytest.raises(KimaiProtocolError, match=text):
                c.version()


def test_secrets_stay_out_of_reprs_errors_and_logs(state, caplog):
    caplog.set_level("DEBUG")
    with make_client(state, credentials={"ann": "s3cret-ann"}) as c:
        with pytest.raises(KimaiAuthError) as err:
            c.session("ann").entries(*JUNE, BRUSSELS)
        text = " ".join([repr(c), repr(c.session("ann")), str(err.value), caplog.text])
    assert "s3cret-ann" not in text and "admin-pw" not in text


def test_credentials_file(tmp_path):
    path = tmp_path / "kimai1.json"
    path.write_text('{"ann": "s3cret", "bob": "pw"}')
    os.chmod(path, 0o600)
    creds = load_credentials(path)
    assert set(creds) == {"ann", "bob"} and creds["ann"].get_secret_value() == "s3cret"
    assert "s3cret" not in repr(creds)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_credentials(path)
    os.chmod(path, 0o600)
    path.write_text('{"ann": "s3cret",}')
    with pytest.raises(ConfigurationError) as err:
        load_credentials(path)
    assert "s3cret" not in str(err.value) and "not valid JSON" in str(err.value)
    path.write_text('["ann"]')
    with pytest.raises(ConfigurationError, match="one JSON object"):
        load_credentials(path)
    with pytest.raises(ConfigurationError, match="no such file"):
        load_credentials(tmp_path / "missing.json")
