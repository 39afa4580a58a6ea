"""KimaiClient against an in-process fake Kimai (httpx.MockTransport): paging, errors, retries,
time zones, auth headers and secrecy. No server, no sleeping (sleep is injected)."""

from __future__ import annotations

import json
import threading
import logging
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from kimaisync.errors import (
    KimaiAuthError,
    KimaiLockedError,
    KimaiNotFoundError,
    KimaiPermissionError,
    KimaiProtocolError,
    KimaiRateLimitedError,
    KimaiServerError,
    KimaiTransportError,
    KimaiValidationError,
    is_retryable,
)
from kimaisync.retry import BASE_DELAY
from kimaisync.trackers.kimai2 import KimaiClient, TimesheetWrite, parse_retry_after

TOKEN = "s3cret-4f1c2d9e8b7a6c5d4e3f2"
BASE = "https://kimai.test/api"
UTC = timezone.utc
NY = ZoneInfo("America/New_York")


def ts_row(i: int, user: int = 1) -> dict:
    begin = datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Europe/Brussels")) + timedelta(hours=i)
    return {"id": i, "begin": begin.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "end": (begin + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z"), "duration": 1800,
            "break": 0, "description": f"row {i}", "activity": 1, "project": 1, "user": user, "tags": [],
            "metaFields": [], "exported": False, "billable": True}


def jresp(status: int, data=None, headers=None) -> httpx.Response:
    if data is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=data, headers=headers)


class FakeKimai:
    """Just enough Kimai: auth, /users/me, unpaginated lists, paginated /timesheets (headers,
    404 past the end), timesheet CRUD and the export toggle. `intercept` functions may answer
    first; `after_page` runs after each served timesheet page (to change the data meanwhile)."""

    def __init__(self, n_timesheets: int = 0, *, me_tz: str = "Europe/Brussels", headers: bool = True,
                 api_user: str | None = None):
        self.rows = {i: ts_row(i) for i in range(1, n_timesheets + 1)}
        self.next_id = n_timesheets + 1
        self.customers = [{"id": i, "name": f"C{i}", "visible": True, "color": None, "color-safe": "#000"}
                          for i in range(1, 151)]
        self.projects = [{"id": 1, "name": "P", "customer": 1, "visible": True, "globalActivities": True,
                          "color": None, "start": None, "end": None}]
        self.activities = [{"id": 1, "name": "Meeting", "project": None, "visible": True, "color": None}]
        self.users = [{"id": 1, "username": "bot", "alias": "Sync", "enabled": True, "timezone": me_tz}]
        self.me = {"id": 1, "username": "bot", "alias": "Sync", "enabled": True, "timezone": me_tz,
                   "roles": ["ROLE_SUPER_ADMIN"]}
        self.headers = headers
        self.api_user = api_user
        self.log: list[dict] = []
        self.intercepts: list = []
        self.after_page = None
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    # -- helpers for tests
    def client(self, **kw) -> KimaiClient:
        kw.setdefault("sleep", self.sleeps.append)
        return KimaiClient(BASE, TOKEN, api_user=self.api_user, transport=httpx.MockTransport(self.serve), **kw)

    def serve(self, req: httpx.Request) -> httpx.Response:
        with self.lock:  # one request at a time, as the pages read at once arrive from several threads
            return self.handle(req)

    def reqs(self, method: str | None = None, path: str | None = None) -> list[dict]:
        return [r for r in self.log if (method is None or r["method"] == method) and (path is None or r["path"] == path)]

    def fail(self, times: int, response_or_exc, *, method: str | None = None, path: str | None = None):
        """Answer the next `times` matching requests with a response (or raise an httpx error)."""
        left = [times]

        def hook(req: httpx.Request):
            if left[0] <= 0 or (method and req.method != method) or (path and req.url.path != path):
                return None
            left[0] -= 1
            value = response_or_exc(req) if callable(response_or_exc) else response_or_exc
            if isinstance(value, Exception):
                raise value
            return value

        self.intercepts.append(hook)

    # -- the server
    def handle(self, req: httpx.Request) -> httpx.Response:
        params = {k: v[-1] for k, v in parse_qs(req.url.query.decode(), keep_blank_values=True).items()}
        body = json.loads(req.content) if req.content else None
        self.log.append({"method": req.method, "path": req.url.path, "params": params, "body": body,
                         "headers": dict(req.headers), "url": str(req.url)})
        if self.api_user:
            if req.headers.get("x-auth-user") != self.api_user or req.headers.get("x-auth-token") != TOKEN:
                return jresp(403, {"message": "Invalid credentials"})
        elif req.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, headers={"WWW-Authenticate":
                                                'Bearer error="invalid_token",error_description="Invalid credentials."'})
        for hook in self.intercepts:
            answer = hook(req)
            if answer is not None:
                return answer
        path = req.url.path.removeprefix("/api")
        if req.method == "GET":
            fixed = {"/users/me": self.me, "/version": {"version": "2.65.0", "versionId": 26500},
                     "/customers": self.customers, "/projects": self.projects, "/activities": self.activities,
                     "/users": self.users, "/config/timesheet": {"trackingMode": "default"}}
            if path in fixed:
                if path in ("/customers", "/projects", "/activities", "/users") and \
                        len(self.reqs("GET", "/api" + path)) > 5:
                    raise AssertionError(f"{path} requested more than 5 times: a page loop on an unpaginated list")
                return jresp(200, fixed[path])
            if path == "/timesheets":
                return self.list_timesheets(params)
        m = re.fullmatch(r"/timesheets/(\d+)(/export)?", path)
        if m:
            tid = int(m.group(1))
            if tid not in self.rows:
                return jresp(404, {"code": 404, "message": "Not Found"})
            if m.group(2) and req.method == "PATCH":
                self.rows[tid]["exported"] = not self.rows[tid]["exported"]
                return jresp(200, self.rows[tid])
            if req.method == "GET":
                return jresp(200, self.rows[tid])
            if req.method == "PATCH":
                self.rows[tid].update(body)
                return jresp(200, self.stored(self.rows[tid]))
            if req.method == "DELETE":
                del self.rows[tid]
                return httpx.Response(204)
        if path == "/timesheets" and req.method == "POST":
            row = self.stored({**body, "id": self.next_id, "user": body.get("user", 1)})
            self.rows[self.next_id] = row
            self.next_id += 1
            return jresp(200, row)
        return jresp(404, {"code": 404, "message": "Not Found"})

    def stored(self, row: dict) -> dict:
        """As Kimai answers: wall clock + the API user's offset (a fixed +0000 here is enough)."""
        out = dict(row)
        for k in ("begin", "end"):
            if isinstance(out.get(k), str) and not re.search(r"[+-]\d{4}$", out[k]):
                out[k] = out[k] + "+0000"
        out.setdefault("duration", 0)
        out.setdefault("exported", False)
        out.setdefault("tags", [])
        return out

    def list_timesheets(self, params: dict) -> httpx.Response:
        size = int(params.get("size", 50))
        size = 50 if size < 1 else min(size, 500)
        page = int(params.get("page", 1)) or 1
        ids = sorted(self.rows)
        assert params.get("orderBy") == "id" and params.get("order") == "ASC"
        pages = max(1, -(-len(ids) // size))
        if page > pages:
            return jresp(404, {"code": 404, "message": "Not Found"})
        chunk = [self.rows[i] for i in ids[(page - 1) * size: page * size]]
        headers = {"X-Page": str(page), "X-Total-Count": str(len(ids)), "X-Total-Pages": str(pages),
                   "X-Per-Page": str(size)} if self.headers else {}
        resp = jresp(200, chunk, headers)
        if self.after_page:
            self.after_page(self, page)
        return resp


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("n", [0, 1, 500, 1000, 1001, 5500])  # empty, one page, on and past page boundaries
@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_timesheet_lists_come_back_whole_and_once(n, pages_at_once):
    fake = FakeKimai(n)
    with fake.client(page_concurrency=pages_at_once) as kimai:
        rows = kimai.timesheets()
    assert [r.id for r in rows] == list(range(1, n + 1))
    sent = fake.reqs("GET", "/api/timesheets")
    pages = sorted(int(r["params"]["page"]) for r in sent)
    assert pages == list(range(1, len(pages) + 1))  # each page asked once, none skipped
    for r in sent:
        assert {k: r["params"][k] for k in ("user", "orderBy", "order", "size")} == \
            {"user": "all", "orderBy": "id", "order": "ASC", "size": "500"}


def test_timesheet_rows_are_parsed_with_offsets():
    fake = FakeKimai(1)
    with fake.client() as kimai:
        (row,) = kimai.timesheets()
    assert row.begin == datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("Europe/Brussels")) + timedelta(hours=1)
    assert row.begin.utcoffset() == timedelta(hours=1)
    assert (row.user, row.project, row.activity, row.end - row.begin) == (1, 1, 1, timedelta(minutes=30))


def test_date_filters_are_wall_clock_in_the_api_users_zone():
    fake = FakeKimai(3, me_tz="America/New_York")
    with fake.client() as kimai:
        kimai.timesheets(datetime(2026, 8, 18, 12, tzinfo=UTC), datetime(2026, 1, 10, 5, 30, 15, 999, tzinfo=UTC),
                         exported=False, term="x")
    (listing,) = fake.reqs("GET", "/api/timesheets")
    assert listing["params"]["begin"] == "2026-08-18T08:00:00"  # EDT, UTC-4
    assert listing["params"]["end"] == "2026-01-10T00:30:15"  # EST, UTC-5; no fraction, no offset
    assert listing["params"]["exported"] == "0" and listing["params"]["term"] == "x"
    assert len(fake.reqs("GET", "/api/users/me")) == 1


def test_user_filter_can_be_one_user_or_own_records():
    fake = FakeKimai(1)
    with fake.client() as kimai:
        kimai.timesheets(user=7)
        kimai.timesheets(user=None)
    first, second = fake.reqs("GET", "/api/timesheets")
    assert first["params"]["user"] == "7"
    assert "user" not in second["params"]


@pytest.mark.parametrize("method, path, expected", [
    ("customers", "/api/customers", {"visible": "3"}),
    ("projects", "/api/projects", {"visible": "3", "ignoreDates": "1"}),
    ("activities", "/api/activities", {"visible": "3"}),
    ("users", "/api/users", {"visible": "3"}),
])
def test_unpaginated_lists_are_one_request(method, path, expected):
    fake = FakeKimai()  # 150 customers; like Kimai, the fake ignores page/size on these lists
    with fake.client() as kimai:
        result = getattr(kimai, method)()
    sent = fake.reqs("GET", path)
    assert len(sent) == 1 == kimai.requests_made
    assert sent[0]["params"] == expected
    if method == "customers":
        assert [c.id for c in result] == list(range(1, 151))


def test_a_404_past_the_end_ends_paging():
    fake = FakeKimai(1000)
    original = fake.list_timesheets

    def claims_three_pages(params):  # the headers promise page 3, but it is gone
        if params.get("page") == "3":
            return jresp(404, {"code": 404, "message": "Not Found"})
        resp = original(params)
        resp.headers["X-Total-Pages"] = "3"
        return resp

    fake.list_timesheets = claims_three_pages
    with fake.client() as kimai:
        rows = kimai.timesheets()
    assert [r.id for r in rows] == list(range(1, 1001))
    pages = [r["params"]["page"] for r in fake.reqs("GET", "/api/timesheets")]
    assert pages.count("3") == 1 and len(pages) <= 4


def test_a_server_without_paging_headers_is_paged_until_a_short_page_or_404():
    fake = FakeKimai(1000, headers=False)
    with fake.client() as kimai:
        assert [r.id for r in kimai.timesheets()] == list(range(1, 1001))
    assert [r["params"]["page"] for r in fake.reqs("GET", "/api/timesheets")] == ["1", "2", "3"]
    fake = FakeKimai(700, headers=False)
    with fake.client() as kimai:
        assert len(kimai.timesheets()) == 700
    assert len(fake.reqs("GET", "/api/timesheets")) == 2


def test_a_404_on_the_first_page_is_an_error_naming_the_endpoint():
    fake = FakeKimai(3)
    fake.fail(1, jresp(404, {"code": 404, "message": "Not Found"}), path="/api/timesheets")
    with fake.client() as kimai, pytest.raises(KimaiNotFoundError) as err:
        kimai.timesheets()
    assert "/api" in str(err.value) and "KIMAI_ENDPOINT" in str(err.value)


def _delete_after_page(page: int, ids):
    def hook(fake, served_page):
        if served_page == page:
            for i in ids:
                fake.rows.pop(i, None)
            fake.after_page = None
    return hook


@pytest.mark.parametrize("n, after_page, deleted", [
    (1000, 1, [1]),            # page 2 now starts one row later: row 501 would be skipped
    (1000, 1, [5, 17, 499]),
    (501, 1, [1]),              # page 2 no longer exists (404): row 501 is on page 1 now
    (1500, 2, range(1, 600)),   # more than a page vanished before our position
    (1200, 1, [1200, 1199]),    # rows after our position vanish: nothing shifts
])
@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_rows_deleted_between_pages_do_not_lose_or_duplicate_survivors(n, after_page, deleted, pages_at_once):
    fake = FakeKimai(n)
    fake.after_page = _delete_after_page(after_page, list(deleted))
    with fake.client(page_concurrency=pages_at_once) as kimai:
        ids = [r.id for r in kimai.timesheets()]
    assert len(ids) == len(set(ids))
    survivors = set(range(1, n + 1)) - set(deleted)
    assert survivors <= set(ids)
    assert set(ids) <= set(range(1, n + 1))


@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_rows_added_while_paging_do_not_break_the_listing(pages_at_once):
    fake = FakeKimai(1000)

    def add(fake, page):
        for _ in range(3):
            fake.rows[fake.next_id] = ts_row(fake.next_id)
            fake.next_id += 1
        fake.after_page = None
    fake.after_page = add
    with fake.client(page_concurrency=pages_at_once) as kimai:
        ids = [r.id for r in kimai.timesheets()]
    assert len(ids) == len(set(ids)) and set(range(1, 1001)) <= set(ids)


@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_a_deletion_hidden_by_more_insertions_is_still_caught(pages_at_once):
    fake = FakeKimai(1000)

    def churn(fake, page):  # count goes 1000 -> 1001, yet row 1 vanished and row 501 moved to page 1
        fake.rows.pop(1)
        for _ in range(2):
            fake.rows[fake.next_id] = ts_row(fake.next_id)
            fake.next_id += 1
        fake.after_page = None
    fake.after_page = churn
    with fake.client(page_concurrency=pages_at_once) as kimai:
        ids = [r.id for r in kimai.timesheets()]
    assert len(ids) == len(set(ids)) and set(range(2, 1003)) <= set(ids)


def test_a_listing_that_changes_on_every_request_is_refused_not_truncated():
    """The one-by-one reading's limit (with pages read at once the same churn drains the data
    first, and what is left is listed whole: the property test below covers that)."""
    pages_at_once = 1
    fake = FakeKimai(60)

    def churn(fake, page):  # a row before the reader's position vanishes after every page
        fake.rows.pop(min(fake.rows), None)
    fake.after_page = churn
    with fake.client(page_concurrency=pages_at_once) as kimai, pytest.raises(KimaiProtocolError, match="kept changing"):
        kimai.timesheets(size=5)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 40), size=st.integers(1, 7), data=st.data())
@pytest.mark.parametrize("pages_at_once", [1, 4])
def test_paging_property_survivors_are_listed_exactly_once(n, size, data, pages_at_once):
    """Whatever is deleted or added between page requests, every row that exists from start to
    end is listed, and no row twice."""
    fake = FakeKimai(n)
    initial = set(fake.rows)
    # Drawn here, not in the hook: with pages read at once the hook runs in the client's threads.
    events = data.draw(st.lists(st.tuples(st.booleans(), st.lists(st.integers(0, 10**6), min_size=1, max_size=3)),
                                max_size=6))
    queue = list(events)

    def mutate(fake, page):
        if not queue:
            return
        delete, picks = queue.pop(0)
        k = len(picks)
        if delete:
            present = sorted(fake.rows)
            for i in ([present[p % len(present)] for p in picks] if present else []):
                fake.rows.pop(i, None)
        else:
            for _ in range(k):
                fake.rows[fake.next_id] = ts_row(fake.next_id)
                fake.next_id += 1
    fake.after_page = mutate
    with fake.client(page_concurrency=pages_at_once) as kimai:
        ids = [r.id for r in kimai.timesheets(size=size)]
    assert len(ids) == len(set(ids))
    assert initial & set(fake.rows) <= set(ids)


# --------------------------------------------------------------------------- errors


FORM_ERROR = {"code": 400, "message": "Validation Failed",
              "errors": {"errors": ["The end date must not be earlier than the start date."],
                         "children": {"begin": {}, "end": {}, "project": {},
                                      "activity": {"errors": ["The selected choice is invalid."]},
                                      "description": {}, "tags": {}}}}


def _write(**kw) -> TimesheetWrite:
    base = dict(begin=datetime(2026, 8, 18, 9, tzinfo=UTC), end=datetime(2026, 8, 18, 10, tzinfo=UTC),
                project=1, activity=1)
    return TimesheetWrite(**{**base, **kw})


def test_a_400_surfaces_global_and_field_messages_and_is_not_retried():
    fake = FakeKimai()
    fake.fail(1, jresp(400, FORM_ERROR), method="POST")
    with fake.client() as kimai, pytest.raises(KimaiValidationError) as err:
        kimai.create_timesheet(_write(activity=99), retry=True)
    e = err.value
    assert e.status == 400
    assert e.details.global_errors == ["The end date must not be earlier than the start date."]
    assert e.details.field_errors == {"activity": ["The selected choice is invalid."]}
    assert "The end date must not be earlier" in str(e) and "activity: The selected choice is invalid." in str(e)
    assert "POST /api/timesheets" in str(e)
    assert len(fake.reqs("POST")) == 1 and fake.sleeps == []


def test_a_400_in_the_string_code_shape_keeps_its_field_messages():
    body = {"code": "400", "message": "There was a problem saving.",
            "errors": {"children": {"duration": {"errors": ["Maximum 12:30 hours allowed."]}}}}
    fake = FakeKimai(1)
    fake.fail(1, jresp(400, body), method="PATCH")
    with fake.client() as kimai, pytest.raises(KimaiValidationError) as err:
        kimai.update_timesheet(1, {"description": "x"}, zone=UTC)
    assert err.value.details.field_errors == {"duration": ["Maximum 12:30 hours allowed."]}
    assert "There was a problem saving." in str(err.value)


def test_a_plain_bad_request_says_there_are_no_details():
    fake = FakeKimai(1)
    fake.fail(1, jresp(400, {"code": 400, "message": "Bad Request"}))
    with fake.client() as kimai, pytest.raises(KimaiValidationError) as err:
        kimai.timesheets()
    assert err.value.details.global_errors == [] and err.value.details.field_errors == {}
    assert "Bad Request" in str(err.value) and "without details" in str(err.value)


def test_a_429_is_retried_after_retry_after():
    fake = FakeKimai(2)
    fake.fail(1, jresp(429, {"code": 429, "message": "Too Many Requests"}, {"Retry-After": "7"}))
    with fake.client() as kimai:
        assert len(kimai.timesheets()) == 2
    assert fake.sleeps == [7.0] and kimai.retries_made == 1  # the wait Kimai asked for; the run report's count


def test_a_429_with_an_http_date_waits_until_then():
    now = datetime(2026, 8, 18, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 18 Aug 2026 12:00:05 GMT", now=now) == 5.0
    assert parse_retry_after("Tue, 18 Aug 2026 11:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after("soon", now=now) is None and parse_retry_after(None) is None


def test_a_429_that_never_ends_gives_up_with_the_rate_limit_error():
    fake = FakeKimai()
    fake.fail(100, jresp(429, None, {"Retry-After": "2"}))
    with fake.client(retries=2) as kimai, pytest.raises(KimaiRateLimitedError) as err:
        kimai.customers()
    assert err.value.retry_after == 2.0 and is_retryable(err.value)
    assert fake.sleeps == [2.0] * kimai.retries and kimai.retries_made == kimai.retries  # each retry waited as told


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_then_succeeds(status):
    fake = FakeKimai(3)
    fake.fail(2, jresp(status, {"code": status, "message": "x"}), path="/api/timesheets/2")
    with fake.client() as kimai:
        assert kimai.get_timesheet(2).id == 2
    assert fake.sleeps == [BASE_DELAY, 2 * BASE_DELAY]  # the one policy's backoff
    assert kimai.retries_made == 2


def test_5xx_that_persists_fails_after_the_configured_attempts():
    fake = FakeKimai()
    fake.fail(100, httpx.Response(502, text="<html>Bad Gateway</html>"))
    with fake.client(retries=4) as kimai, pytest.raises(KimaiServerError) as err:
        kimai.version()
    assert err.value.status == 502 and "502" in str(err.value) and "GET /api/version" in str(err.value)
    assert kimai.retries_made == kimai.retries == len(fake.sleeps) and is_retryable(err.value)


def test_401_fails_at_once_with_a_hint():
    fake = FakeKimai()
    with KimaiClient(BASE, "wrong-token", transport=httpx.MockTransport(fake.handle), sleep=fake.sleeps.append) as kimai:
        with pytest.raises(KimaiAuthError) as err:
            kimai.me()
    msg = str(err.value)
    assert err.value.status == 401
    assert "API_TOKEN" in msg and "expired" in msg and "enabled" in msg and "Invalid credentials." in msg
    assert kimai.retries_made == 0 and fake.sleeps == []  # said at once: not retried


def test_legacy_login_failure_is_an_auth_error_naming_the_api_user_setting():
    fake = FakeKimai(api_user="bot")
    with KimaiClient(BASE, "wrong", api_user="bot", transport=httpx.MockTransport(fake.handle),
                     sleep=fake.sleeps.append) as kimai, pytest.raises(KimaiAuthError) as err:
        kimai.me()
    assert "KIMAI_API_USER" in str(err.value) and "API password" in str(err.value)
    assert kimai.retries_made == 0 and fake.sleeps == []  # said at once: not retried


@pytest.mark.parametrize("call, error, words", [
    (lambda k: k.users(), KimaiPermissionError, ["view_user", "super-admin"]),
    (lambda k: k.version(), KimaiAuthError, ["api_access"]),
    (lambda k: k.customers(), KimaiAuthError, ["api_access"]),
    (lambda k: k.timesheets(), KimaiPermissionError, ["view_other_timesheet"]),
    (lambda k: k.update_timesheet(1, {"description": "x"}, zone=UTC), KimaiLockedError,
     ["exported", "locked period"]),
    (lambda k: k.delete_timesheet(1), KimaiLockedError, ["exported", "locked period"]),
    (lambda k: k.create_timesheet(_write()), KimaiPermissionError, ["create_own_timesheet"]),
])
def test_403_names_what_is_missing(call, error, words):
    fake = FakeKimai(1)
    with fake.client() as kimai:
        kimai.me()  # cached: create_timesheet asks for the API user's zone first
        fake.log.clear()
        fake.fail(1, jresp(403, {"code": 403, "message": "Forbidden"}))
        with pytest.raises(error) as err:
            call(kimai)
    assert err.value.status == 403
    for w in words:
        assert w in str(err.value)
    assert kimai.retries_made == 0 and fake.sleeps == []  # said at once: not retried


def test_404_on_a_record_is_not_found():
    fake = FakeKimai(1)
    with fake.client() as kimai, pytest.raises(KimaiNotFoundError) as err:
        kimai.get_timesheet(99)
    assert "GET /api/timesheets/99" in str(err.value) and kimai.retries_made == 0


@pytest.mark.parametrize("exc", [
    httpx.ConnectError("connection refused"),
    httpx.ReadTimeout("timed out"),
    httpx.ConnectTimeout("timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    httpx.ReadError("connection reset"),
])
def test_transport_failures_are_retried_then_surface_as_transport_errors(exc):
    fake = FakeKimai(1)
    fake.fail(100, exc)
    with fake.client(retries=2) as kimai, pytest.raises(KimaiTransportError) as err:
        kimai.get_timesheet(1)
    assert "GET /api/timesheets/1" in str(err.value) and err.value.status is None
    assert kimai.retries_made == kimai.retries and is_retryable(err.value)


def test_a_transport_failure_once_is_recovered():
    fake = FakeKimai(1)
    fake.fail(1, httpx.ReadTimeout("timed out"))
    with fake.client() as kimai:
        assert kimai.get_timesheet(1).id == 1


def test_create_is_not_retried_by_default_but_can_be():
    fake = FakeKimai()
    fake.fail(1, httpx.ReadTimeout("timed out"), method="POST")
    with fake.client() as kimai, pytest.raises(KimaiTransportError):
        kimai.create_timesheet(_write())
    assert len(fake.reqs("POST")) == 1 and fake.sleeps == []

    fake = FakeKimai()
    fake.fail(1, jresp(503, {"code": 503, "message": "x"}), method="POST")
    with fake.client() as kimai:
        created = kimai.create_timesheet(_write(), retry=True)
    assert created.id == 1 and len(fake.reqs("POST")) == 2


@pytest.mark.parametrize("response, words", [
    (httpx.Response(200, text="<!DOCTYPE html><html><body>Login</body></html>",
                    headers={"content-type": "text/html"}), ["HTML", "/api"]),
    (httpx.Response(200, content=b'[{"id": 1, "name": "C', headers={"content-type": "application/json"}),
     ["truncated"]),
    (httpx.Response(200, content=b"", headers={"content-type": "application/json"}), ["empty"]),
    (httpx.Response(200, json={"id": 1}), ["array"]),
    (httpx.Response(200, json=[{"id": "x"}]), ["KimaiCustomer"]),
])
def test_unreadable_2xx_bodies_are_protocol_errors(response, words):
    fake = FakeKimai()
    fake.fail(1, response)
    with fake.client() as kimai, pytest.raises(KimaiProtocolError) as err:
        kimai.customers()
    for w in words:
        assert w in str(err.value)
    assert kimai.retries_made == 0 and fake.sleeps == []  # an answer that cannot be read is not asked again


def test_a_redirect_is_not_followed_and_explains_the_endpoint():
    fake = FakeKimai()
    fake.fail(1, httpx.Response(301, headers={"Location": "https://kimai.test/en/login?x=1"}))
    with fake.client() as kimai, pytest.raises(KimaiProtocolError) as err:
        kimai.customers()
    assert "KIMAI_ENDPOINT" in str(err.value) and "x=1" not in str(err.value)
    assert [r["path"] for r in fake.log] == ["/api/customers"]  # the login page was not asked for


# --------------------------------------------------------------------------- writes and zones


def test_post_writes_wall_clock_in_the_api_users_zone():
    fake = FakeKimai(me_tz="UTC")
    with fake.client() as kimai:
        kimai.create_timesheet(_write(begin=datetime(2026, 8, 18, 9, tzinfo=NY),
                                      end=datetime(2026, 8, 18, 10, 30, tzinfo=NY),
                                      description="d", user=5, tags=["a", "b"]))
    (post,) = fake.reqs("POST", "/api/timesheets")
    assert post["body"] == {"begin": "2026-08-18T13:00:00", "end": "2026-08-18T14:30:00", "project": 1,
                            "activity": 1, "user": 5, "description": "d", "tags": "a,b"}
    assert post["headers"]["content-type"] == "application/json"


def test_patch_writes_wall_clock_in_the_records_zone():
    fake = FakeKimai(1, me_tz="UTC")
    with fake.client() as kimai:
        kimai.update_timesheet(1, _write(begin=datetime(2026, 8, 18, 13, tzinfo=UTC),
                                         end=datetime(2026, 8, 18, 14, 30, tzinfo=UTC)), zone=NY)
        kimai.update_timesheet(1, {"end": datetime(2026, 12, 1, 15, tzinfo=UTC), "tags": ["x"]},
                               zone="America/New_York")
    first, second = fake.reqs("PATCH")
    assert first["body"]["begin"] == "2026-08-18T09:00:00" and first["body"]["end"] == "2026-08-18T10:30:00"
    assert second["body"] == {"end": "2026-12-01T10:00:00", "tags": "x"}  # EST in December
    assert not fake.reqs("GET", "/api/users/me")  # PATCH does not need the API user's zone


def test_update_is_retried_create_is_not():
    fake = FakeKimai(1)
    fake.fail(1, httpx.RemoteProtocolError("dropped"), method="PATCH")
    with fake.client() as kimai:
        assert kimai.update_timesheet(1, {"description": "new"}, zone=UTC).description == "new"
    assert len(fake.reqs("PATCH")) == 2


def test_naive_datetimes_are_refused_before_anything_is_sent():
    fake = FakeKimai(1)
    with fake.client() as kimai:
        with pytest.raises(ValueError):
            kimai.update_timesheet(1, {"begin": datetime(2026, 8, 18, 9)}, zone=UTC)
        with pytest.raises(ValueError):
            kimai.iter_timesheets(datetime(2026, 8, 18, 9))  # at the call, not at the first next()
    assert fake.log == []


def test_delete_and_a_lost_delete_reply():
    fake = FakeKimai(3)
    with fake.client() as kimai:
        kimai.delete_timesheet(1)
        assert 1 not in fake.rows
        with pytest.raises(KimaiNotFoundError):
            kimai.delete_timesheet(1)
        kimai.delete_timesheet(1, missing_ok=True)

        # the DELETE is committed but the reply is lost: the retry's 404 means done
        def lost(req):
            fake.rows.pop(2, None)
            return httpx.ReadError("connection reset")
        fake.fail(1, lost, method="DELETE")
        kimai.delete_timesheet(2)
    assert 2 not in fake.rows and len(fake.reqs("DELETE", "/api/timesheets/2")) == 2


def test_set_exported_toggles_only_when_needed():
    fake = FakeKimai(2)
    with fake.client() as kimai:
        assert kimai.set_exported(1, True) is True
        assert fake.rows[1]["exported"] is True
        assert kimai.set_exported(1, True) is False  # already exported: no toggle
        assert kimai.set_exported(2, False, current=False) is False  # caller knows: no request at all
    toggles = fake.reqs("PATCH")
    assert [r["path"] for r in toggles] == ["/api/timesheets/1/export"]
    assert len(fake.reqs("GET", "/api/timesheets/2")) == 0


def test_set_exported_after_a_lost_reply_does_not_toggle_back():
    fake = FakeKimai(1)

    def lost(req):
        fake.rows[1]["exported"] = not fake.rows[1]["exported"]  # committed...
        return httpx.RemoteProtocolError("peer closed connection")  # ...but the reply is lost
    fake.fail(1, lost, method="PATCH")
    with fake.client() as kimai:
        assert kimai.set_exported(1, True, current=False) is True
    assert fake.rows[1]["exported"] is True
    assert len(fake.reqs("PATCH")) == 1  # the retry re-read the flag instead of toggling again


# --------------------------------------------------------------------------- auth headers, secrecy, setup


def test_bearer_headers():
    fake = FakeKimai()
    with fake.client() as kimai:
        kimai.version()
    h = fake.log[0]["headers"]
    assert h["authorization"] == f"Bearer {TOKEN}" and h["accept"] == "application/json"
    assert "x-auth-token" not in h and "x-auth-user" not in h


def test_legacy_headers_when_an_api_user_is_set():
    fake = FakeKimai(api_user="bot")
    with fake.client() as kimai:
        assert kimai.me().username == "bot"
    h = fake.log[0]["headers"]
    assert h["x-auth-user"] == "bot" and h["x-auth-token"] == TOKEN and "authorization" not in h
    assert repr(kimai) == "KimaiClient(base_url='https://kimai.test/api', auth='legacy')"


def test_the_token_never_leaks(caplog):
    caplog.set_level(logging.DEBUG)
    fake = FakeKimai(3)
    fake.fail(1, jresp(503, {"code": 503, "message": "x"}), path="/api/timesheets")
    fake.fail(2, httpx.LocalProtocolError(f"Illegal header value b'Bearer {TOKEN}'"), path="/api/timesheets/1")
    fake.fail(1, jresp(400, {"code": 400, "message": f"echo {TOKEN}",
                             "errors": {"errors": [f"bad {TOKEN}"]}}), method="POST")
    errors = []
    with fake.client(retries=1) as kimai:
        kimai.timesheets()
        try:
            kimai.get_timesheet(1)
        except KimaiTransportError as e:
            errors.append(e)
        for call in (lambda: kimai.create_timesheet(_write()), lambda: kimai.get_timesheet(42)):
            try:
                call()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
    with KimaiClient(BASE, "wrong-" + TOKEN, transport=httpx.MockTransport(fake.handle)) as bad:
        try:
            bad.me()
        except KimaiAuthError as e:
            errors.append(e)
        assert TOKEN not in repr(bad)
    assert len(errors) == 4
    texts = [caplog.text, repr(kimai)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [str(getattr(e, "details", "")) for e in errors]
    for text in texts:
        assert TOKEN not in text
    assert all(TOKEN not in r["url"] for r in fake.log)
    assert "GET /api/timesheets" in caplog.text and "-> 200" in caplog.text and "-> 503" in caplog.text


def test_debug_log_names_method_path_status_and_time(caplog):
    caplog.set_level(logging.DEBUG, logger="kimaisync.kimai")
    fake = FakeKimai(1)
    with fake.client() as kimai:
        kimai.get_timesheet(1)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "kimaisync.kimai"]
    assert re.fullmatch(r"GET /api/timesheets/1 -> 200 in \d+ ms", line)


def test_me_is_cached():
    fake = FakeKimai()
    with fake.client() as kimai:
        assert kimai.me().timezone == "Europe/Brussels"
        assert kimai.api_zone() == ZoneInfo("Europe/Brussels")
    assert len(fake.reqs("GET", "/api/users/me")) == 1


def test_version_and_timesheet_config():
    fake = FakeKimai()
    with fake.client() as kimai:
        assert kimai.version()["versionId"] == 26500
        assert kimai.timesheet_config()["trackingMode"] == "default"


def test_from_settings_uses_endpoint_token_user_and_timeout():
    from kimaisync.settings import Settings

    s = Settings(api_token=TOKEN, kimai_endpoint="https://kimai.example.org/api/", kimai_timeout=12,
                 kimai_api_user="bot", kimai_concurrency=3)
    with KimaiClient.from_settings(s) as kimai:
        assert kimai.base_url == "https://kimai.example.org/api" and kimai.auth_kind == "legacy"
        t = kimai._http.timeout
        assert (t.connect, t.read, t.write, t.pool) == (12, 12, 12, 12)
        assert TOKEN not in repr(kimai)


@pytest.mark.parametrize("bad", ["", "   ", "tok en", "tok\nen", "tök"])
def test_unusable_tokens_are_refused_without_echoing_them(bad):
    with pytest.raises(ValueError) as err:
        KimaiClient(BASE, bad)
    if bad.strip():
        assert bad not in str(err.value)
