"""Malformed input everywhere: the HTTP routes, the CLI, the data in the store, and Kimai's answers.

Each bad input gets a clear 4xx, a clear CLI error, or a reported skip / failure naming the
record; the service keeps serving; and the good records next to the bad ones still land.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket

import httpx
import pytest

import flows.timesheet_lock  # noqa: F401 - Prefect binds its log handler to sys.stderr on import: not to a capsys stream
from testbed import API_TOKEN, KIMAI_GRAPH, TIMEKEEPER_GRAPH, Store
from emulators.kimai2.server import EmulatorServer
from emulators.kimai2.state import KimaiState
from kimaisync.cli import main
from kimaisync.fixtures import TIMESHEET_GRAPH, TimekeeperData
from kimaisync.marker import marker_of
from receiver_stubs import CAL, LOG, StubStore, stub_flows

HUGE = b'{"pad": "' + b"x" * (65 * 1024 * 1024) + b'"}'


def delta_body(subject=LOG, predicate=CAL + "duration"):
    return [{"inserts": [{"subject": {"type": "uri", "value": subject}, "predicate": {"type": "uri", "value": predicate},
                          "object": {"type": "literal", "value": "PT1H"}}], "deletes": []}]


# ---------------------------------------------------------------------------- HTTP routes




@pytest.fixture(scope="module")
def receiver():
    """The receiver on a real socket (uvicorn), its runs going to stub flows."""
    from deployments.receiver import RunningReceiver
    from deployments.run_queue import RunQueue

    flows = stub_flows()
    srv = RunningReceiver(RunQueue(flows), StubStore())
    srv.flows = flows
    yield srv
    srv.stop()


GOOD = {  # route -> a good request for it, and the flow it starts
    "/delta": ("post", json.dumps(delta_body()).encode(), "delta"),
    "/sync-to-kimai/work-logs": ("post", b'{"start": "2025-03-01", "end": "2025-03-31"}', "period"),
    "/timesheets/lock": ("post", b'{"month": 3, "year": 2025}', "lock"),
    "/kimai-timesheets/": ("put", b"", "orphan"),
    "/update-queue/work-logs/": ("post", b"", "delta"),
    "/sync-from-kimai/": ("post", b"", "customers"),
}
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("method,path,content,status,needle", [
    # /delta
    ("post", "/delta", b"not json", 400, "not JSON"),
    ("post", "/delta", b"\xff\xfe\x00", 400, "not JSON"),
    ("post", "/delta", b"[" * 100_000, 400, "nested too deeply"),
    ("post", "/delta", b"NaN", 400, "expected a JSON array"),
    ("post", "/delta", b"{}", 400, "expected a JSON array"),
    ("post", "/delta", b'{"changeSets": "x"}', 400, "'changeSets' must be a list"),
    ("post", "/delta", b'[{"inserts": "x"}]', 400, "'inserts' must be a list"),
    ("post", "/delta", b'[{"inserts": [5]}]', 400, "each triple must be an object"),
    ("post", "/delta", b'[{"inserts": [{"subject": {"value": 5}, "predicate": {"value": "p"}}]}]', 400,
     "lacks its subject"),
    ("post", "/delta", HUGE, 400, "larger than"),
    # /sync-to-kimai/work-logs
    ("post", "/sync-to-kimai/work-logs", b"{", 400, "not JSON"),
    ("post", "/sync-to-kimai/work-logs", b'"2024-03-01"', 400, "expected {"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "2024-02-30", "end": "2024-03-01"}', 400, "not a valid date"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "2024-13-01", "end": "2024-12-31"}', 400, "not a valid date"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "2024-03-02", "end": "2024-03-01"}', 400, "is after end"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": null, "end": "2024-03-01"}', 400, "must be a date string"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "", "end": ""}', 400, "not a valid date"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "2024-03-01"}', 400, "'end' is missing"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": "2024-03-01T25:00:00Z", "end": "2024-03-02"}', 400,
     "not a valid date"),
    ("post", "/sync-to-kimai/work-logs", b'{"start": ["2024-03-01"], "end": "2024-03-02"}', 400, "must be a date"),
    ("post", "/sync-to-kimai/work-logs", HUGE, 400, "larger than"),
    # /timesheets/lock
    ("post", "/timesheets/lock", b"{", 400, "not JSON"),
    ("post", "/timesheets/lock", b'{"month": 0, "year": 2025}', 400, "'month' must be a number from 1 to 12"),
    ("post", "/timesheets/lock", b'{"month": -1, "year": 2025}', 400, "'month' must be"),
    ("post", "/timesheets/lock", b'{"month": "march", "year": 2025}', 400, "'month' must be"),
    ("post", "/timesheets/lock", b'{"month": 3.5, "year": 2025}', 400, "'month' must be"),
    ("post", "/timesheets/lock", b'{"month": 3}', 400, "'year' is missing"),
    ("post", "/timesheets/lock", b'{"month": 3, "year": "20x5"}', 400, "'year' must be"),
    ("post", "/timesheets/lock", b'{"month": 3, "year": 99999}', 400, "'year' must be"),
    ("post", "/timesheets/lock", b"[3, 2025]", 400, "expected {"),
    ("post", "/timesheets/lock", HUGE, 400, "larger than"),
    # ids in the path
    ("put", "/kimai-timesheets/-1", b"", 400, "not a Kimai timesheet id"),
    ("put", "/kimai-timesheets/1e3", b"", 400, "not a Kimai timesheet id"),
    ("put", "/kimai-timesheets/99999999999999999", b"", 400, "not a Kimai timesheet id"),
    ("post", "/update-queue/work-logs/0000000000000000DEADBEEF", b"", 400, "is not a work log"),
    ("post", "/update-queue/work-logs/" + "A" * 65, b"", 400, "is not a work log id"),
    ("post", "/sync-from-kimai/users", b"", 404, "expected customers, tasks or accounts"),
])
def test_a_bad_request_gets_a_clear_4xx_and_the_receiver_keeps_serving(receiver, method, path, content, status,
                                                                        needle):
    for f in receiver.flows.values():
        f.calls.clear()
    with httpx.Client(base_url=receiver.url, timeout=30) as http:
        r = http.request(method.upper(), path, content=content, headers=JSON)
        assert r.status_code == status, r.text
        assert needle in r.json()["error"], r.text
        receiver.runs.join(10)
        assert not any(f.calls for f in receiver.flows.values())  # nothing was started for it
        # The same route still takes a good request, and the good request's run happens.
        route = next(k for k in GOOD if path.startswith(k))
        good_method, good_body, flow = GOOD[route]
        good_path = {"/kimai-timesheets/": "/kimai-timesheets/42", "/sync-from-kimai/": "/sync-from-kimai/customers",
                     "/update-queue/work-logs/": "/update-queue/work-logs/67D184E2A3B8E1000A000077"}.get(route, route)
        assert http.request(good_method.upper(), good_path, content=good_body, headers=JSON).is_success
        assert receiver.runs.join(10)
        assert len(receiver.flows[flow].calls) == 1


def test_a_wrong_method_is_405_and_an_unknown_route_404(receiver):
    with httpx.Client(base_url=receiver.url, timeout=10) as http:
        assert http.get("/delta").status_code == 405
        assert http.post("/sync-to-kimai/everything").status_code == 404


# ---------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize("args,code,needle", [
    (["to-kimai", "2024-02-29", "2023-03-01"], 2, "start 2024-02-29 is after end 2023-03-01"),
    (["to-kimai", "20240301", "2024-03-31"], 2, "'start' '20240301' is not a valid date"),
    (["to-kimai", "2024-03-01", ""], 2, "'end' '' is not a valid date"),
    (["to-kimai", "2024-03-01 00:00", "2024-03-31"], 2, "is not a valid date (yyyy-MM-dd"),
    (["to-kimai", "\uff12\uff10\uff12\uff14-03-01", "2024-03-31"], 2, "is not a valid date (yyyy-MM-dd"),
    (["to-kimai", "0001-01-01", "0001-01-02"], 2, "'start' must be in the years 2000 to 2100"),
    (["to-kimai", "2024-01-01", "2025-03-01"], 2, "more than 400: sync it in parts"),
    (["to-kimai", "2023-02-29", "2023-03-31"], 2, "'start' '2023-02-29' is not a valid date"),
    (["lock-timesheets", "0", "2025"], 2, "'month' must be a number from 1 to 12"),
    (["lock-timesheets", "13", "2025"], 2, "'month' must be a number from 1 to 12"),
    (["lock-timesheets", "\u00b2", "2025"], 2, "'month' must be a number from 1 to 12"),
    (["lock-timesheets", "march", "2025"], 2, "'month' must be a number from 1 to 12, got 'march'"),
    (["lock-timesheets", "3", "25"], 2, "'year' must be in the years 2000 to 2100"),
    (["lock-timesheets", "3", "20x5"], 2, "'year' must be a number such as 2025"),
    (["lock-timesheets", "3.0", "2025"], 2, "'month' must be a number from 1 to 12, got '3.0'"),
    (["lock-timesheets", "--", "-1", "2025"], 2, "'month' must be a number from 1 to 12"),
])
def test_the_cli_refuses_bad_arguments_before_any_request(args, code, needle, capsys, monkeypatch):
    monkeypatch.setenv("API_TOKEN", API_TOKEN)
    monkeypatch.setenv("KIMAI_ENDPOINT", "http://127.0.0.1:9/api")  # nothing listens: no request may be tried
    assert main(args) == code
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("args", [["to-kimai", "2024-03-01"], ["lock-timesheets"], ["sync-everything"],
                                  ["to-kimai", "2024-03-01", "2024-03-31", "--force-all"]])
def test_argument_errors_exit_2_with_usage(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert "usage: kimai-sync" in capsys.readouterr().err


@pytest.mark.parametrize("var,value,needle", [
    ("KIMAI_ENDPOINT", "not a url", "KIMAI_ENDPOINT:"),
    ("API_TOKEN", "   ", "API_TOKEN: Value error, is empty"),
    ("API_TOKEN", "two words", "API_TOKEN: Value error, contains characters that cannot be sent"),
    ("API_TOKEN", "t\u00f6ken-0123456789", "API_TOKEN: Value error, contains characters that cannot be sent"),
    ("TIMEZONE", "Mars/Olympus", "TIMEZONE: Value error, 'Mars/Olympus' is not an IANA time zone name"),
    ("WORKDAY_START", "25:00", "WORKDAY_START: Value error, '25:00' is not a time of day"),
    ("KIMAI_CONCURRENCY", "0", "KIMAI_CONCURRENCY:"),
    ("DELETE_SCOPE", "everything", "DELETE_SCOPE:"),
    ("DELETE_GUARD_SHARE", "2", "DELETE_GUARD_SHARE:"),
    ("FALLBACK_SYNC_CRON", "every minute", "FALLBACK_SYNC_CRON:"),
    ("MU_SPARQL_ENDPOINT", "database:8890", "MU_SPARQL_ENDPOINT:"),
])
def test_bad_settings_are_named_one_line_each_and_the_token_is_not_echoed(var, value, needle, capsys, monkeypatch):
    monkeypatch.setenv("API_TOKEN", API_TOKEN)
    monkeypatch.setenv("KIMAI_ENDPOINT", "http://127.0.0.1:9/api")
    monkeypatch.setenv(var, value)
    assert main(["to-kimai", "2025-03-01", "2025-03-31"]) == 2  # bad input: refused before any request
    err = capsys.readouterr().err
    assert "Configuration problems:" in err and needle in err, err
    assert "Traceback" not in err
    if var == "API_TOKEN":
        assert value.strip() not in err or not value.strip()


# ---------------------------------------------------------------------------- data in the store


@pytest.fixture(scope="module")
def data_world(oxigraph_server, prefect_server):
    """One Kimai and one store for the data cases: a person with good and broken work logs."""
    store = Store("oxigraph", oxigraph_server)
    store.clear()
    state = KimaiState()
    state.config.allow_overlapping = False
    state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=API_TOKEN, timezone="Europe/Brussels")
    with EmulatorServer(state) as kimai, pytest.MonkeyPatch.context() as mp:
        for k, v in {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": store.query_url,
                     "MU_SPARQL_UPDATE_ENDPOINT": store.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                     "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH, "TIMEZONE": "Europe/Brussels"}.items():
            mp.setenv(k, v)
        w = type("World", (), {})()
        w.state, w.store, w.kimai = state, store, kimai
        yield w


def _subjects(store, iri):
    return {r["p"]: r["o"] for r in store.client().select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")}


@pytest.fixture(scope="module")
def data_run(data_world):
    """Good work logs beside broken ones, synced in one period run (and the awkward ones by a delta)."""
    import asyncio

    from flows.worklog_delta import sync_work_log_changes
    from flows.worklog_period import sync_work_log_period

    k, tk = data_world.state, TimekeeperData()
    lotte, jan = k.add_user("lotte"), k.add_user("jan")
    off = k.add_user("gone", enabled=False)
    cust = k.add_customer("C")
    proj = k.add_project("P", cust.id)
    act = k.add_activity("General", proj.id)
    project = tk.project(proj.id, "P")
    activity = tk.activity(act.id, project, "General")
    no_kimai_id = tk.activity(999, project, "no id")  # its dct:identifier is removed below
    unknown_in_kimai = tk.activity(4242, project, "not in Kimai")
    no_project = tk.activity(act.id, None, "no project")
    person = tk.person("Lotte", lotte.id)
    twice = tk.person("Jan", jan.id)
    tk.link_account(twice, tk.account(lotte.id, "lotte-again"))
    nobody = tk.person("Zonder Account")
    ghost = tk.person("Ghost", 777)  # a Kimai user id that does not exist
    disabled = tk.person("Disabled", off.id)
    day = dt.date(2025, 3, 12)
    good = [tk.work_log(person, activity, day, d) for d in ("PT2H", "PT45M", "PT1H30M")]
    good.append(tk.work_log(person, activity, day + dt.timedelta(days=1), "PT3H", kimai_id=None))
    cases = {
        "duration PT": tk.work_log(person, activity, day, "PT"),
        "duration 7h30": tk.work_log(person, activity, day, "7h30"),
        "duration -PT1H": tk.work_log(person, activity, day, "-PT1H"),
        "duration P1Y": tk.work_log(person, activity, day, "P1Y"),
        "duration too long": tk.work_log(person, activity, day, "PT99999H"),
        "duration empty": tk.work_log(person, activity, day, ""),
        "no duration": tk.work_log(person, activity, day, None),
        "no task": tk.work_log(person, None, day, "PT1H"),
        "dangling task": tk.work_log(person, "http://timekeeper.redpencil.io/tasks/deleted-long-ago", day, "PT1H"),
        "task is a project": tk.work_log(person, project, day, "PT1H"),
        "activity without Kimai id": tk.work_log(person, no_kimai_id, day, "PT1H"),
        "activity without project": tk.work_log(person, no_project, day, "PT1H"),
        "no person": tk.work_log(None, activity, day, "PT1H"),
        "person without account": tk.work_log(nobody, activity, day, "PT1H"),
        "person with two accounts": tk.work_log(twice, activity, day, "PT1H"),
        "Kimai user missing": tk.work_log(ghost, activity, day, "PT1H"),
        "Kimai user disabled": tk.work_log(disabled, activity, day, "PT1H"),
        "two durations": tk.work_log(person, activity, day, "PT1H"),
        "Kimai refuses the activity": tk.work_log(person, unknown_in_kimai, day, "PT1H"),
        "invalid date": tk.work_log(person, activity, "2025-02-30", "PT1H"),
    }
    no_uuid = tk.work_log(person, activity, day + dt.timedelta(days=2), "PT1H")
    garbage_id = tk.work_log(person, activity, day + dt.timedelta(days=2), "PT1H", kimai_id="not-a-number")  # type: ignore[arg-type]
    gone_in_kimai = tk.work_log(person, activity, day + dt.timedelta(days=3), "PT1H", kimai_id=31337)
    good += [garbage_id, gone_in_kimai]
    tk.load(data_world.store.client())
    c = data_world.store.client()
    g = TIMESHEET_GRAPH
    c.update(f'INSERT DATA {{ GRAPH <{g}> {{ <{cases["two durations"]}> cal:duration "PT2H" }} }}')
    c.update(f"DELETE WHERE {{ GRAPH <{KIMAI_GRAPH}> {{ <{no_kimai_id}> dct:identifier ?i }} }}")
    c.update(f"DELETE WHERE {{ GRAPH <{g}> {{ <{no_uuid}> mu:uuid ?u }} }}")
    cases["no mu:uuid"] = no_uuid
    period = sync_work_log_period(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    not_a_log = "http://timekeeper.redpencil.io/timesheets/not-a-work-log"
    delta = asyncio.run(sync_work_log_changes(work_logs=[cases["invalid date"], not_a_log]))
    return type("Run", (), dict(period=period, delta=delta, good=good, cases=cases, not_a_log=not_a_log,
                                world=data_world))()


DATA_CASES = {
    "duration PT": ("skipped", "cal:duration 'PT' is not an ISO 8601 duration"),
    "duration 7h30": ("skipped", "cal:duration '7h30' is not an ISO 8601 duration"),
    "duration -PT1H": ("skipped", "cal:duration '-PT1H' is not an ISO 8601 duration"),
    "duration P1Y": ("skipped", "cal:duration 'P1Y' is not an ISO 8601 duration"),
    "duration too long": ("skipped", "longer than Kimai's maximum of one year"),
    "duration empty": ("skipped", "no cal:duration"),
    "no duration": ("skipped", "no cal:duration"),
    "no task": ("skipped", "no task (dct:subject)"),
    "dangling task": ("skipped", "does not exist in the triplestore"),
    "task is a project": ("skipped", "is a Kimai project, not an activity"),
    "activity without Kimai id": ("skipped", "has no Kimai ids (dct:identifier)"),
    "activity without project": ("skipped", "has no Kimai project"),
    "no person": ("skipped", "no person (prov:wasAssociatedWith)"),
    "person without account": ("skipped", "Zonder Account has no Kimai account linked"),
    "person with two accounts": ("skipped", "Jan has 2 Kimai accounts linked"),
    "Kimai user missing": ("skipped", "Kimai user 777 of person Ghost does not exist in Kimai"),
    "Kimai user disabled": ("skipped", "is disabled in Kimai"),
    "two durations": ("skipped", "work log has 2 values for cal:duration"),
    "no mu:uuid": ("skipped", "has no mu:uuid"),
    "Kimai refuses the activity": ("failed", "Kimai refused the data"),
}


def _row_of(summary: dict, iri: str) -> dict | None:
    uuid = iri.rsplit("/", 1)[1]
    rows = summary["failures"] + summary["skips"]
    return next((r for r in rows if r["key"].startswith(uuid) or r["key"].startswith(iri)), None)


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_a_broken_work_log_is_reported_with_its_reason(data_run, case):
    outcome, needle = DATA_CASES[case]
    row = _row_of(data_run.period, data_run.cases[case])
    assert row is not None, f"{case} not reported: {data_run.period['skips']}"
    assert row["outcome"] == outcome and needle in row["reason"], row
    uuid = data_run.cases[case].rsplit("/", 1)[1]
    assert not any(marker_of(t.description) == uuid for t in data_run.world.state.timesheets.values())


def test_an_invalid_date_is_reported_by_the_delta_that_names_it(data_run):
    row = _row_of(data_run.delta, data_run.cases["invalid date"])
    assert row and row["outcome"] == "skipped" and "cal:dtstart '2025-02-30' is not a date" in row["reason"], \
        data_run.delta["skips"]


def test_a_delta_naming_something_else_reports_it_and_does_nothing(data_run):
    rows = [r for r in data_run.delta["rows"] if r["key"] == data_run.not_a_log]
    assert rows and rows[0]["outcome"] == "skipped" and "not a work log" in rows[0]["reason"]
    assert not data_run.delta["failed"]


def test_no_good_work_log_is_lost_next_to_the_broken_ones(data_run):
    sheets = list(data_run.world.state.timesheets.values())
    for iri in data_run.good:
        mine = [t for t in sheets if marker_of(t.description) == iri.rsplit("/", 1)[1]]
        assert len(mine) == 1, iri
        kid = _subjects(data_run.world.store, iri)["http://purl.org/dc/terms/identifier"]
        assert kid == str(mine[0].id)
    gone = _row_of(data_run.period, data_run.good[-1])  # its id pointed at a timesheet deleted in Kimai
    assert gone is None  # created again, not skipped
    counts = data_run.period["counts"]
    assert counts["created"] == len(data_run.good) and counts["failed"] == 1


def test_an_unknown_kimai_id_for_the_orphan_route_is_reported_not_an_error(data_world):
    from flows.worklog_delta import remove_orphan_timesheet

    summary = remove_orphan_timesheet(kimai_id=424242)
    assert not summary["failed"] and summary["counts"]["unchanged"] == 1
    assert summary["rows"][-1]["key"] == "1 record"  # "not in Kimai", counted as unchanged


# ---------------------------------------------------------------------------- Kimai's answers


class Tamper:
    """An httpx transport in front of the emulator that spoils chosen answers (after the request ran)."""

    def __init__(self, spoil):
        self.spoil = spoil  # (request, response) -> httpx.Response | None
        self.inner = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self.spoiled = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        bad = self.spoil(request, response)
        if bad is None:
            return response
        self.spoiled += 1
        return bad

    def close(self):
        self.inner.close()


@contextlib.contextmanager
def tampered(spoil):
    """Every KimaiClient the flows build talks through a Tamper."""
    from kimaisync.trackers.kimai2.client import KimaiClient

    original = KimaiClient.from_settings.__func__
    tamper = Tamper(spoil)

    def from_settings(cls, settings, **kw):
        return original(cls, settings, transport=httpx.MockTransport(tamper.handle_request), **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(KimaiClient, "from_settings", classmethod(from_settings))
        try:
            yield tamper
        finally:
            tamper.close()


def _html(status=200):
    return httpx.Response(status, headers={"content-type": "text/html"},
                          content=b"<html><body><h1>Login</h1><form>...</form></body></html>")


def _truncated(response):
    return httpx.Response(response.status_code, headers={"content-type": "application/json"},
                          content=response.content[: max(1, len(response.content) // 2)])


def _is(method, path_end):
    return lambda r: r.method == method and r.url.path.endswith(path_end)


KIMAI_CASES = {  # what Kimai (or a proxy) answers -> what the run does: stop, fail that record, or recover
    "listing answers HTML": (_is("GET", "/api/timesheets"), lambda r, resp: _html(), "stops",
                             "answered HTML instead of JSON"),
    "listing truncated": (_is("GET", "/api/timesheets"), lambda r, resp: _truncated(resp), "stops",
                          "answered invalid or truncated JSON"),
    "users not a list": (_is("GET", "/api/users"), lambda r, resp: httpx.Response(200, json={"users": []}), "stops",
                         "expected a JSON array of KimaiUser"),
    "me answers HTML": (_is("GET", "/api/users/me"), lambda r, resp: _html(), "stops", "answered HTML instead of JSON"),
    # the create committed but its answer is garbage: before giving up the sync looks for the record by its
    # marker, finds it, and adopts it (nothing reported failed, nothing created twice)
    "create answers HTML": (_is("POST", "/api/timesheets"), lambda r, resp: _html(), "recovers",
                            "found by its marker, not created twice"),
    "create truncated": (_is("POST", "/api/timesheets"), lambda r, resp: _truncated(resp), "recovers",
                         "found by its marker, not created twice"),
    "create wrong shape": (_is("POST", "/api/timesheets"), lambda r, resp: httpx.Response(200, json={"id": "x"}),
                           "recovers", "found by its marker, not created twice"),
    # a proxy's 502 after the create committed: retried, and the record is found by its marker at once
    "create 502 page": (_is("POST", "/api/timesheets"), lambda r, resp: _html(502), "recovers",
                        "found by its marker, not created twice"),
}


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("case", sorted(KIMAI_CASES))
def test_kimai_answering_garbage_is_a_clear_error_and_the_next_run_converges(case, kimai_state, kimai, oxigraph,
                                                                           monkeypatch):
    from flows.worklog_period import sync_work_log_period

    for k, v in {"API_TOKEN": API_TOKEN, "KIMAI_ENDPOINT": kimai.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
                 "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": KIMAI_GRAPH,
                 "TIMEKEEPER_GRAPH": TIMEKEEPER_GRAPH}.items():
        monkeypatch.setenv(k, v)
    user = kimai_state.add_user("lotte")
    proj = kimai_state.add_project("P", kimai_state.add_customer("C").id)
    act = kimai_state.add_activity("General", proj.id)
    tk = TimekeeperData()
    task = tk.activity(act.id, tk.project(proj.id, "P"), "General")
    person = tk.person("Lotte", user.id)
    logs = [tk.work_log(person, task, dt.date(2025, 3, 10 + i % 3), "PT1H") for i in range(6)]
    tk.load(oxigraph.client())
    match, spoil, effect, needle = KIMAI_CASES[case]
    spoiled_posts = []

    def spoil_first_create(request, response):
        if not match(request):
            return None
        if request.method == "POST":  # only the first create: the others must land
            if spoiled_posts:
                return None
            spoiled_posts.append(request)
        return spoil(request, response)

    period = dict(start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))
    with tampered(spoil_first_create) as tamper:
        if effect == "stops":
            with pytest.raises(Exception) as info:
                sync_work_log_period(**period)
            message = str(info.value)
            assert not kimai_state.timesheets  # stopped before writing anything
        else:
            summary = sync_work_log_period(**period)
            failed = 1 if effect == "fails one" else 0
            assert summary["counts"]["failed"] == failed and summary["counts"]["created"] == len(logs) - failed
            message = " ".join(r["reason"] for r in summary["failures"] + summary["rows"])
        assert tamper.spoiled
    assert needle in message, message
    assert API_TOKEN not in message
    again = sync_work_log_period(**period)  # Kimai answers properly again
    assert not again["failed"], again["failures"]
    per_log = [sum(marker_of(t.description) == l.rsplit("/", 1)[1] for t in kimai_state.timesheets.values())
               for l in logs]
    assert per_log == [1] * len(logs)  # nothing lost, nothing twice
