"""KimaiClient against the Kimai emulator on a real socket: paging, time zones, errors, auth and
the emulator's injected faults (rate limits, 5xx, timeouts, replies lost after commit)."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import httpx
import pytest

from kimaisync.errors import (
    KimaiAuthError,
    KimaiLockedError,
    KimaiNotFoundError,
    KimaiPermissionError,
    KimaiTransportError,
    KimaiValidationError,
)
from kimaisync.trackers.kimai2 import KimaiClient, TimesheetWrite

kimai_state = pytest.importorskip("emulators.kimai2.state")
kimai_server = pytest.importorskip("emulators.kimai2.server")
Faults, KimaiState = kimai_state.Faults, kimai_state.KimaiState
EmulatorServer = kimai_server.EmulatorServer

TOKEN = "emu-token-7d1e0c5b9a8f"
PASSWORD = "emu-legacy-pw-3c2b1a"
PLAIN_TOKEN = "emu-plain-token-42ab"
UTC = timezone.utc
NY = ZoneInfo("America/New_York")


class Hooked(httpx.BaseTransport):
    """A real HTTP transport that lets a test act after each answer (or failure)."""

    def __init__(self, after=None, on_error=None):
        self.inner = httpx.HTTPTransport()
        self.after = after
        self.on_error = on_error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            resp = self.inner.handle_request(request)
            resp.read()
        except httpx.TransportError:
            if self.on_error:
                self.on_error(request)
            raise
        if self.after:
            self.after(request, resp)
        return resp

    def close(self) -> None:
        self.inner.close()


def recorded(state, *clients: KimaiClient) -> list:
    """The emulator's request log once it holds every request these clients sent: one whose reply
    was lost (a timeout, a dropped connection) is logged when the emulator is done with it, which
    can be a moment after the client gave up on it."""
    sent = sum(c.requests_made for c in clients)
    deadline = time.monotonic() + 10
    while len(state.requests) < sent:
        assert time.monotonic() < deadline, f"the emulator logged {len(state.requests)} of {sent} requests"
        time.sleep(0.02)
    return list(state.requests)


@pytest.fixture
def emu():
    state = KimaiState()
    bot = state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=TOKEN, api_password=PASSWORD,
                         timezone="UTC")
    owner = state.add_user("nyc", timezone="America/New_York")
    plain = state.add_user("plain", api_token=PLAIN_TOKEN, timezone="Europe/Brussels")
    customer = state.add_customer("Acme")
    project = state.add_project("Web", customer.id)
    activity = state.add_activity("Dev", project.id)
    with EmulatorServer(state) as srv:
        ns = SimpleNamespace(state=state, url=srv.url, bot=bot, owner=owner, plain=plain, customer=customer,
                             project=project, activity=activity, sleeps=[])

        def client(token=TOKEN, **kw):
            kw.setdefault("sleep", ns.sleeps.append)
            return KimaiClient(srv.url, token, **kw)

        def seed(n, user=None):
            start = datetime(2026, 1, 1, 8, tzinfo=UTC)
            for i in range(n):
                b = start + timedelta(hours=i)
                state.add_timesheet(user or bot.id, project.id, activity.id, b, b + timedelta(minutes=30))

        def listing_requests(kimai):
            return [r for r in recorded(state, kimai) if r.method == "GET" and r.path == "/api/timesheets"]

        ns.client, ns.seed, ns.listing_requests = client, seed, listing_requests
        yield ns


@pytest.mark.parametrize("n", [0, 1, 500, 1000, 1001, 2600])  # empty, one page, on and past page boundaries
@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_timesheet_lists_come_back_whole_and_once(emu, n, pages_at_once):
    emu.seed(n)
    with emu.client(page_concurrency=pages_at_once) as kimai:
        ids = [t.id for t in kimai.timesheets()]
    assert ids == sorted(emu.state.timesheets) and len(ids) == n
    pages = sorted(int(r.query["page"]) for r in emu.listing_requests(kimai))
    assert pages == list(range(1, len(pages) + 1))  # each page asked once, none skipped


def test_all_users_records_are_listed(emu):
    emu.seed(3)
    emu.seed(2, user=emu.owner.id)
    with emu.client() as kimai:
        assert sorted({t.user for t in kimai.timesheets()}) == [emu.bot.id, emu.owner.id]


def test_150_customers_come_in_one_request_including_hidden_and_ended(emu):
    for i in range(149):
        emu.state.add_customer(f"Customer {i:03}", visible=(i % 10 != 0))
    emu.state.add_project("Old", emu.customer.id, end=date(2020, 12, 31))
    emu.state.add_project("Hidden", emu.customer.id, visible=False)
    emu.state.add_activity("Global", None)
    with emu.client() as kimai:
        customers = kimai.customers()
        projects = kimai.projects()
        activities = kimai.activities()
        users = kimai.users()
    assert len(customers) == 150 and sum(not c.visible for c in customers) == 15
    assert {p.name for p in projects} == {"Web", "Old", "Hidden"}
    assert {a.name: a.project for a in activities} == {"Dev": emu.project.id, "Global": None}
    assert {u.username for u in users} == {"sync-bot", "nyc", "plain"}
    for path in ("/api/customers", "/api/projects", "/api/activities", "/api/users"):
        assert len([r for r in recorded(emu.state, kimai) if r.path == path]) == 1


def test_rows_deleted_between_pages_are_not_lost(emu):
    emu.seed(1200)
    deleted = [1, 2, 3, 700]

    def after(request, resp):
        if request.url.path == "/api/timesheets" and request.url.params.get("page") == "1" and deleted:
            with emu.state.lock:
                for i in deleted:
                    emu.state.timesheets.pop(i)
            deleted.clear()

    with KimaiClient(emu.url, TOKEN, transport=Hooked(after=after)) as kimai:
        ids = [t.id for t in kimai.timesheets()]
    assert len(ids) == len(set(ids))
    assert set(emu.state.timesheets) <= set(ids)  # rows 501-503 moved to page 1 meanwhile


def test_date_filters_use_the_api_users_zone(emu):
    emu.state.users[emu.bot.id].timezone = "America/New_York"
    emu.seed(48)  # hourly from 2026-01-01 08:00 UTC
    with emu.client() as kimai:
        rows = kimai.timesheets(datetime(2026, 1, 1, 20, tzinfo=UTC), datetime(2026, 1, 2, 2, tzinfo=UTC))
    assert [t.begin for t in rows] == [datetime(2026, 1, 1, 20 + i, tzinfo=UTC) for i in range(4)] + \
        [datetime(2026, 1, 2, i, tzinfo=UTC) for i in range(3)]


def test_post_in_api_users_zone_and_patch_in_records_zone(emu):
    """API user in UTC, record owner in New York: both writes land on the intended instants."""
    begin, end = datetime(2026, 8, 18, 9, tzinfo=NY), datetime(2026, 8, 18, 10, 30, tzinfo=NY)
    with emu.client() as kimai:
        created = kimai.create_timesheet(TimesheetWrite(begin=begin, end=end, project=emu.project.id,
                                                        activity=emu.activity.id, user=emu.owner.id,
                                                        description="[tk:1] planning"))
        assert (created.begin, created.end, created.user) == (begin, end, emu.owner.id)
        assert created.begin.utcoffset() == timedelta(hours=-4)  # labelled with the owner's zone
        new_end = datetime(2026, 8, 18, 15, 0, tzinfo=UTC)  # 11:00 in New York
        updated = kimai.update_timesheet(created.id, {"end": new_end}, zone=NY)
        assert updated.end == new_end and updated.begin == begin
        again = kimai.update_timesheet(created.id, TimesheetWrite(
            begin=begin + timedelta(days=1), end=end + timedelta(days=1), project=emu.project.id,
            activity=emu.activity.id, description="moved"), zone=NY)
    stored = emu.state.timesheets[created.id]
    assert stored.begin == again.begin == begin + timedelta(days=1)
    assert stored.end == end + timedelta(days=1) and stored.description == "moved"
    post = next(r for r in recorded(emu.state, kimai) if r.method == "POST")
    assert post.body["begin"] == "2026-08-18T13:00:00"


def test_validation_errors_from_kimai_keep_global_and_field_messages(emu):
    other = emu.state.add_project("Other", emu.customer.id)
    foreign = emu.state.add_activity("Foreign", other.id)
    with emu.client() as kimai, pytest.raises(KimaiValidationError) as err:
        kimai.create_timesheet(TimesheetWrite(begin=datetime(2026, 8, 18, 10, tzinfo=UTC),
                                              end=datetime(2026, 8, 18, 9, tzinfo=UTC),
                                              project=emu.project.id, activity=foreign.id))
    d = err.value.details
    assert "The end date must not be earlier than the start date." in d.global_errors
    assert "activity" in d.field_errors or "project" in d.field_errors
    assert not emu.state.timesheets


def test_crud_delete_and_export_toggle(emu):
    emu.seed(1)
    with emu.client() as kimai:
        assert kimai.set_exported(1, True) is True
        assert emu.state.timesheets[1].exported is True
        assert kimai.set_exported(1, True) is False
        assert kimai.get_timesheet(1).exported is True
        assert kimai.set_exported(1, False) is True
        kimai.delete_timesheet(1)
        with pytest.raises(KimaiNotFoundError):
            kimai.get_timesheet(1)
        with pytest.raises(KimaiNotFoundError):
            kimai.delete_timesheet(1)
    assert not emu.state.timesheets
    # written when it changes (twice), not when it already had the value asked for
    assert len([r for r in recorded(emu.state, kimai) if r.method == "PATCH" and r.path.endswith("/export")]) == 2


def test_a_plain_user_gets_permission_and_locked_errors(emu):
    rec = emu.state.add_timesheet(emu.plain.id, emu.project.id, emu.activity.id,
                                  datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC),
                                  exported=True)
    with emu.client(PLAIN_TOKEN) as kimai:
        with pytest.raises(KimaiPermissionError, match="view_user"):
            kimai.users()
        with pytest.raises(KimaiLockedError, match="exported"):
            kimai.update_timesheet(rec.id, {"description": "x"}, zone="Europe/Brussels")
        with pytest.raises(KimaiLockedError):
            kimai.delete_timesheet(rec.id)
    assert rec.id in emu.state.timesheets and emu.sleeps == []


def test_wrong_token_fails_at_once_with_a_hint(emu):
    with emu.client("not-the-token") as kimai, pytest.raises(KimaiAuthError, match="API_TOKEN") as err:
        kimai.timesheets()
    assert "Invalid credentials." in str(err.value)
    assert kimai.retries_made == 0 and emu.sleeps == []  # said at once: not retried


def test_legacy_auth(emu):
    with emu.client(PASSWORD, api_user="sync-bot") as kimai:
        assert kimai.me().username == "sync-bot"
    with emu.client("wrong", api_user="sync-bot") as kimai, pytest.raises(KimaiAuthError, match="KIMAI_API_USER"):
        kimai.me()


# --------------------------------------------------------------------------- faults


def test_listing_survives_rate_limits_and_server_errors(emu):
    emu.seed(1001)
    emu.state.faults = Faults(seed=11, error_rate=0.3, rate_limit_every=3, retry_after=2)
    with emu.client(retries=8) as kimai:
        ids = [t.id for t in kimai.timesheets()]
        assert ids == list(range(1, 1002))
        assert kimai.retries_made > 0 and kimai.retries_made == kimai.requests_made - 3
    kinds = {kind for _m, _p, kind in emu.state.fault_log}
    assert "rate_limit" in kinds
    assert emu.sleeps.count(2.0) >= sum(1 for *_, k in emu.state.fault_log if k == "rate_limit")


def test_timeouts_are_retried(emu):
    emu.seed(3)
    emu.state.faults = Faults(seed=1, timeout_rate=0.5, timeout_delay=3.0)  # timeouts on requests 1, 4, 5, 6
    with emu.client(timeout=0.3, retries=10) as kimai:
        for i in (1, 2, 3):
            assert kimai.get_timesheet(i).id == i
        assert kimai.retries_made >= 3 and kimai.requests_made == 3 + kimai.retries_made
    assert emu.sleeps[:1] == [0.5]


def test_a_create_whose_reply_is_lost_is_not_retried(emu):
    emu.state.faults = Faults(lost_response_rate=1.0, methods={"POST"})
    w = TimesheetWrite(begin=datetime(2026, 8, 18, 9, tzinfo=UTC), end=datetime(2026, 8, 18, 10, tzinfo=UTC),
                       project=emu.project.id, activity=emu.activity.id, description="[tk:42]")
    with emu.client() as kimai:
        kimai.me()
        with pytest.raises(KimaiTransportError):
            kimai.create_timesheet(w)
        emu.state.faults = Faults()
        # committed although we never saw the answer: the caller finds its marker instead of re-creating
        assert [t.description for t in kimai.timesheets(term="[tk:42]")] == ["[tk:42]"]
    assert len([r for r in recorded(emu.state, kimai) if r.method == "POST"]) == 1


def test_a_delete_whose_reply_is_lost_counts_as_done(emu):
    emu.seed(1)
    emu.state.faults = Faults(lost_response_rate=1.0, methods={"DELETE"})

    def healed(request):
        emu.state.faults = Faults()

    with KimaiClient(emu.url, TOKEN, transport=Hooked(on_error=healed), sleep=emu.sleeps.append) as kimai:
        kimai.delete_timesheet(1)
    assert not emu.state.timesheets
    assert [r.status for r in recorded(emu.state, kimai) if r.method == "DELETE"] == [204, 404]


def test_an_export_toggle_whose_reply_is_lost_is_not_toggled_back(emu):
    emu.seed(1)
    emu.state.faults = Faults(lost_response_rate=1.0, methods={"PATCH"})

    def healed(request):
        emu.state.faults = Faults()

    with KimaiClient(emu.url, TOKEN, transport=Hooked(on_error=healed), sleep=emu.sleeps.append) as kimai:
        assert kimai.set_exported(1, True) is True
    assert emu.state.timesheets[1].exported is True
    assert len([r for r in recorded(emu.state, kimai) if r.path.endswith("/export")]) == 1


def test_the_token_never_appears_in_logs_or_errors(emu, caplog):
    caplog.set_level(logging.DEBUG)
    emu.seed(600)
    emu.state.faults = Faults(seed=3, error_rate=0.3, rate_limit_every=4, retry_after=1)
    errors = []
    with emu.client(retries=10) as kimai:
        kimai.timesheets()
        for call in (lambda: kimai.get_timesheet(10_000),
                     lambda: kimai.create_timesheet(TimesheetWrite(
                         begin=datetime(2026, 8, 18, 10, tzinfo=UTC), end=datetime(2026, 8, 18, 9, tzinfo=UTC),
                         project=emu.project.id, activity=999), retry=True)):
            try:
                call()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        text = repr(kimai)
    with emu.client("wrong-" + TOKEN) as bad:
        try:
            bad.me()
        except KimaiAuthError as e:
            errors.append(e)
    assert len(errors) == 3
    assert "GET /api/timesheets" in caplog.text
    for t in [caplog.text, text] + [str(e) for e in errors] + [repr(e) for e in errors]:
        assert TOKEN not in t
    assert all(TOKEN not in str(r.query) for r in recorded(emu.state, kimai, bad))
