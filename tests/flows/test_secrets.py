"""The Kimai token never shows: not in logs, Prefect records, exceptions, reports or CLI output.

Every flow, every receiver route and the CLI verbs run with a known, random token (as a Bearer
token and as the legacy X-AUTH-TOKEN password), on the good path and on the failing ones where a
secret most easily slips out: a Kimai (or a proxy in front of it) that answers 401, 403, 500, 429,
400, 404, a redirect, an HTML page, broken JSON or a wrong shape *and quotes the request's
credentials back* in its message, challenge, redirect target, status line, page or body; a
connection dropped without an answer; an unreachable Kimai; Kimai refusing the token; a token
that cannot be sent in a header; a password in KIMAI_ENDPOINT (sent as Basic auth); settings
that do not validate (pydantic and our validators quote input values).

Everything a person could read afterwards is gathered and searched for the token, pieces of it,
and its base64 at every alignment (as inside a Basic auth header or a pickled result), also when
a line break splits it: Python logging at DEBUG (httpx and httpcore included), stdout/stderr at
file-descriptor level (Prefect's console handler included), the Prefect server's logs, artifacts,
flow and task runs read back through its API, every row its SQLite database added or changed
(events and states included) and Prefect's result storage on disk, flow return values, the CSV
report, exceptions (str, repr, args, attributes, tracebacks; the client's also rendered with
local variables), HTTP answers, settings and client reprs, and `kimai-sync check` run as a
process.

A capture that holds nothing proves nothing, so each is first checked to hold what it should
(the failing Kimai's path, a record name, an httpx line about the Kimai port, a task's name).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import http.server
import json
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import traceback
from collections import Counter
from pathlib import Path

import pytest

import flows.timesheet_lock  # noqa: F401 - Prefect binds its console handler to sys.stderr on import: the real one
from emulators.kimai2.server import EmulatorServer
from emulators.kimai2.state import KimaiState
from kimaisync.fixtures import TimekeeperData
from kimaisync.rdf.vocab import TimesheetStatus

pytestmark = pytest.mark.usefixtures("prefect_server")

SECRET = "tok-SECRET-" + secrets.token_hex(16)
RANDOM = SECRET.rsplit("-", 1)[1]
RUN = secrets.token_hex(3)  # in this test's record names and paths: shows a capture holds this test's output
D = dt.date(2025, 3, 12)
CLI = str(Path(sys.executable).parent / "kimai-sync")


def _base64_cores(raw: bytes) -> list[bytes]:
    """The base64 text of `raw` at each of the three alignments it can have inside a longer
    encoded text ("user:token" in a Basic header, a pickled result): the characters that depend on
    `raw` alone, for both alphabets."""
    cores = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        core = encoded[4 if pad else 0:-4]
        cores += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return cores


FORMS: dict[str, bytes] = {
    "the token": SECRET.encode(),
    "the start of its random part": RANDOM[:12].encode(),  # a token cut short ("tok-SECRET-1a2b…")
    "the end of its random part": RANDOM[-12:].encode(),  # or shown by its tail
    **{f"its base64 ({i})": core for i, core in enumerate(_base64_cores(SECRET.encode()))},
}


def leaks(data: str | bytes) -> list[str]:
    """Which forms of the token `data` holds: also when line breaks or spaces split it (base64 in
    76-character lines, a wrapped console line), the plain forms in any letter case."""
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    views = [raw, re.sub(rb"\s+", b"", raw)]
    lowered = [v.lower() for v in views]
    return [name for name, form in FORMS.items()
            if any(form in v for v in views)
            or (not name.startswith("its base64") and any(form.lower() in v for v in lowered))]


class Seen:
    """Everything gathered from one scenario, by where it was seen."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str | bytes]] = []

    def add(self, where: str, data: str | bytes) -> None:
        self.parts.append((where, data))

    def text(self, prefix: str) -> str:
        return "\n".join(d if isinstance(d, str) else d.decode("utf-8", "replace")
                         for w, d in self.parts if w.startswith(prefix))

    def assert_no_token(self) -> None:
        found = []
        for where, data in self.parts:
            for form in leaks(data):
                raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
                at = max(raw.lower().find(FORMS[form].lower()), raw.find(FORMS[form]))
                found.append(f"{form} in {where}: …{raw[max(at - 300, 0):at + 100]!r}…")
        assert not found, "the token shows:\n" + "\n".join(found)


def exception_text(exc: BaseException, *, with_locals: bool = False) -> str:
    """What a person or a tool could see of an exception: its traceback (`with_locals`: also
    rendered with each frame's local variables, as Sentry, rich or `pytest -l` do), and the str,
    repr, args and attributes of each exception in its chain (as tracebacks and error trackers walk
    it: a context that `raise ... from None` suppressed is shown by neither), with any httpx request."""
    parts = ["".join(traceback.format_exception(exc))]
    if with_locals:
        rendered = traceback.TracebackException.from_exception(exc, capture_locals=True)
        chain = [rendered]
        while chain:  # this file's frames hold the token on purpose (they pass it in): not theirs
            t = chain.pop()
            for frame in t.stack:
                if frame.filename == __file__:
                    frame.locals = None
            chain += [c for c in (t.__cause__, t.__context__) if c is not None] + list(t.exceptions or [])
        parts.append("".join(rendered.format()))
    todo, done = [exc], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in done:
            continue
        done.add(id(e))
        parts += [str(e), repr(e), repr(e.args), repr(getattr(e, "__dict__", {}))]
        request = getattr(e, "_request", None)  # httpx errors keep the request they failed on
        if request is not None:
            parts.append(repr(request))
        todo.append(e.__cause__ if e.__cause__ is not None or e.__suppress_context__ else e.__context__)
        todo += list(getattr(e, "exceptions", []))
    return "\n".join(parts)


# ---------------------------------------------------------------------------- a Kimai that quotes the headers back


class HostileKimai:
    """Answers every request with a failure, each kind in turn, quoting the request's credentials
    back wherever a server or a proxy might: in the JSON message, validation errors, the
    WWW-Authenticate challenge, the redirect target, the status line, an HTML page, a broken body.
    `served` counts the kinds actually answered."""

    KINDS = ("401", "403", "403 legacy", "500", "502 status line", "html", "302", "400", "429", "404",
             "broken json", "wrong shape", "wrong shape list", "hang up")

    def __init__(self) -> None:
        self.prefix = f"/hostile-{RUN}"
        self.served: Counter[str] = Counter()
        self._next = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: this stands in for Kimai, its logs are not ours
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                with owner._lock:
                    kind = owner.KINDS[owner._next % len(owner.KINDS)]
                    owner._next += 1
                    owner.served[kind] += 1
                owner.answer(self, kind)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}/api"
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-kimai", daemon=True)
        self._thread.start()

    @staticmethod
    def answer(h: http.server.BaseHTTPRequestHandler, kind: str) -> None:
        token = h.headers.get("x-auth-token") or h.headers.get("authorization", "").removeprefix("Bearer ")
        echo = "; ".join(f"{k}: {v}" for k, v in h.headers.items())
        headers: dict[str, str] = {}
        status, reason, ctype = 500, None, "application/json"
        if kind == "401":
            status = 401
            headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="token {token} expired"'
            body = {"code": 401, "message": f"Invalid token {token}"}
        elif kind == "403":
            status, body = 403, {"code": 403, "message": f"Access denied. Request: {echo}"}
        elif kind == "403 legacy":  # the legacy authenticator's shape: no code
            status, body = 403, {"message": f"Invalid credentials for {echo}"}
        elif kind == "500":
            body = {"code": 500, "message": f"Uncaught PHP Exception; request headers: {echo}"}
        elif kind == "502 status line":
            status, reason, body = 502, f"Bad Gateway ({token})", {"message": echo}
        elif kind == "html":
            status, ctype, body = 200, "text/html", f"<html><body><h1>Log in</h1><pre>{echo}</pre></body></html>"
        elif kind == "302":
            status, body = 302, {"message": echo}
            headers["Location"] = f"https://sso.example.org/{token}/login?next=/api&access_token={token}"
        elif kind == "400":
            status = 400
            body = {"code": 400, "message": f"Validation Failed for {token}",
                    "errors": {"errors": [f"bad request: {echo}"], "children": {"begin": {"errors": [f"was {token}"]}}}}
        elif kind == "429":
            status, body = 429, {"code": 429, "message": f"Too many requests from {echo}"}
            headers["Retry-After"] = "0"
        elif kind == "404":
            status, body = 404, {"code": 404, "message": f"Not found: {echo}"}
        elif kind == "broken json":
            status, body = 200, '{"id": 1, "message": ' + json.dumps(echo)[:-5]
        elif kind in ("wrong shape", "wrong shape list"):  # a user whose zone, a timesheet whose begin is the token
            status = 200
            body = {"id": 1, "username": echo, "timezone": token, "begin": token, "user": 1, "project": 1,
                    "activity": 1}
            body = [body] if kind == "wrong shape list" else body
        else:  # hang up without an answer
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        h.send_response(status, reason)
        for name, value in {**headers, "Content-Type": ctype, "Content-Length": str(len(data))}.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- the world


@pytest.fixture
def world(oxigraph, monkeypatch):
    """Kimai (the emulator; its API user's token and legacy API password are both SECRET) with a
    person, a customer, a project, an activity and a timesheet typed by hand; Timekeeper with two
    work logs (one of a person without account) and a submitted month. The environment points the
    sync at both, with quick retries."""
    state = KimaiState()
    state.add_user("sync-bot", roles=["ROLE_SUPER_ADMIN"], api_token=SECRET, api_password=SECRET,
                   timezone="Europe/Brussels")
    lotte = state.add_user("lotte", timezone="Europe/Brussels")
    customer = state.add_customer(f"Havenbedrijf {RUN}")
    project = state.add_project(f"Platform {RUN}", customer.id)
    activity = state.add_activity("Build", project.id)
    by_hand = state.add_timesheet(lotte.id, project.id, activity.id, f"{D}T16:00:00", f"{D}T17:00:00")
    tk = TimekeeperData()
    task = tk.activity(activity.id, tk.project(project.id, f"Platform {RUN}"), "Build")
    person = tk.person(f"Lotte {RUN}", lotte.id)
    logs = [tk.work_log(person, task, D, "PT2H"), tk.work_log(tk.person("Jan Zonder Account"), task, D, "PT1H")]
    tk.timesheet(person, dt.date(2025, 3, 1), TimesheetStatus.SUBMITTED)
    tk.load(oxigraph.client())
    server = EmulatorServer(state).start()
    env = {"API_TOKEN": SECRET, "KIMAI_ENDPOINT": server.url, "MU_SPARQL_ENDPOINT": oxigraph.query_url,
           "MU_SPARQL_UPDATE_ENDPOINT": oxigraph.update_url, "KIMAI_GRAPH": "http://mu.semte.ch/graphs/kimai",
           "TIMEKEEPER_GRAPH": "http://mu.semte.ch/graphs/redpencil", "TIMEZONE": "Europe/Brussels",
           "KIMAI_RETRIES": "1", "KIMAI_TIMEOUT": "5", "LOCK_MARK_EXPORTED_IN_KIMAI": "true"}
    monkeypatch.delenv("KIMAI_API_USER", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    hostile = HostileKimai()
    w = type("World", (), {})()
    w.state, w.server, w.logs, w.env, w.hostile, w.by_hand = state, server, logs, env, hostile, by_hand.id
    yield w
    hostile.close()
    server.stop()


def point_at(world, monkeypatch, kimai: str, auth: str) -> str:
    """Set KIMAI_ENDPOINT (the emulator, the hostile Kimai or nothing listening) and the auth kind;
    returns the endpoint's path, which every Kimai error message of the scenario names."""
    url = {"emulator": world.server.url, "hostile": world.hostile.url,
           "unreachable": f"http://127.0.0.1:{closed_port()}/unreachable-{RUN}/api"}[kimai]
    monkeypatch.setenv("KIMAI_ENDPOINT", url)
    if auth == "legacy":
        monkeypatch.setenv("KIMAI_API_USER", "sync-bot")
    else:
        monkeypatch.delenv("KIMAI_API_USER", raising=False)
    return url.split("/", 3)[3].rsplit("/api", 1)[0] if kimai != "emulator" else "/api"


def quick_retries(monkeypatch) -> None:
    """Kimai requests still retry (their log lines are searched too), without waiting."""
    from kimaisync.trackers.kimai2 import KimaiClient

    monkeypatch.setitem(KimaiClient.__init__.__kwdefaults__, "sleep", lambda seconds: None)


def debug_logging(caplog, monkeypatch) -> None:
    """Every logger that could print a header at DEBUG, into caplog (levels restored after), and
    Prefect's console handler writing to the current stderr (capfd's; it holds the stderr of the
    moment Prefect was imported)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "kimaisync", "prefect", "prefect.flow_runs", "prefect.task_runs", "uvicorn",
                 "fastapi"):
        caplog.set_level(logging.DEBUG, logger=name)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            monkeypatch.setattr(handler, "stream", sys.stderr)
            monkeypatch.setattr(handler.console, "file", sys.stderr)


def logged(caplog) -> str:
    """Every captured record: its message, its arguments' reprs, its traceback and stack."""
    formatter = logging.Formatter()
    out = []
    for r in caplog.records:
        out.append(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}")
        if r.exc_info:
            out.append(formatter.formatException(r.exc_info))
            out.append(exception_text(r.exc_info[1]))
        if r.exc_text:
            out.append(r.exc_text)
        if r.stack_info:
            out.append(r.stack_info)
    return "\n".join(out)


def run_flows(world, tmp_path, switch_auth=None) -> list[tuple[str, str]]:
    """Every flow once (the customers and tasks flows run through their routes): (name, what it
    returned or raised, as text). `switch_auth(i)` is called before the i-th."""
    from flows.accounts import sync_accounts
    from flows.fallback import fallback_work_log_sync
    from flows.reference_data import sync_reference_data
    from flows.timesheet_lock import lock_timesheets
    from flows.worklog_delta import remove_orphan_timesheet, sync_work_log_changes
    from flows.worklog_period import sync_work_log_period
    from kimaisync.cli.to_kimai import write_hours_csv

    def period_with_report():  # the hours table as `to-kimai --report` writes it
        summary = sync_work_log_period(start=D, end=D)
        write_hours_csv(summary.get("hours", []), str(tmp_path / "hours.csv"))
        return summary

    runs = {
        "reference data": lambda: sync_reference_data(),
        "accounts": lambda: sync_accounts(),
        "work-log period": period_with_report,
        "delta": lambda: asyncio.run(sync_work_log_changes(work_logs=world.logs + [world.logs[0] + "-gone"])),
        "orphan": lambda: remove_orphan_timesheet(kimai_id=world.by_hand),
        "timesheet lock": lambda: lock_timesheets(month=3, year=2025),
        "fallback": lambda: fallback_work_log_sync(days_back=1, days_ahead=1),
    }
    out = []
    for i, (name, run) in enumerate(runs.items()):
        if switch_auth:
            switch_auth(i)
        try:
            out.append((name, "returned " + repr(run())))
        except Exception as exc:  # noqa: BLE001 - the failing paths are the point
            out.append((name, "raised " + exception_text(exc)))
    return out


# ---------------------------------------------------------------------------- what Prefect keeps


def prefect_records(since: dt.datetime) -> dict[str, str]:
    """What the Prefect server holds of the runs since `since`, read back through its API: logs,
    artifacts, flow and task runs (names, parameters, state names and messages)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter,
                                                FlowRunFilterExpectedStartTime, LogFilter, LogFilterTimestamp,
                                                TaskRunFilter, TaskRunFilterFlowRunId)
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs still batched in this process

    async def read_all(read, **filters):
        out, offset = [], 0
        while True:
            page = await read(**filters, limit=200, offset=offset)
            out += page
            offset += len(page)
            if len(page) < 200:
                return out

    async def read():
        async with get_client() as client:
            runs = await read_all(client.read_flow_runs, flow_run_filter=FlowRunFilter(
                expected_start_time=FlowRunFilterExpectedStartTime(after_=since)))
            ids = [r.id for r in runs]
            tasks = await read_all(client.read_task_runs, task_run_filter=TaskRunFilter(
                flow_run_id=TaskRunFilterFlowRunId(any_=ids))) if ids else []
            logs = await read_all(client.read_logs, log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=since)))
            artifacts = await read_all(client.read_artifacts, artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=ids))) if ids else []
        return runs, tasks, logs, artifacts

    runs, tasks, logs, artifacts = asyncio.run(read())
    state = lambda r: f"{r.state.name if r.state else ''} {r.state.message if r.state else ''}"  # noqa: E731
    return {
        "flow runs": "\n".join(f"{r.name} {r.parameters} {state(r)} {r.model_dump_json()}" for r in runs),
        "task runs": "\n".join(f"{t.name} {state(t)} {t.model_dump_json()}" for t in tasks),
        "logs": "\n".join(f"{log.level} {log.message}" for log in logs),
        "artifacts": "\n".join(f"{a.key} {a.type} {a.description} {json.dumps(a.data, default=str)}"
                               for a in artifacts),
    }


def prefect_stored(since: dt.datetime) -> dict[str, str | bytes]:
    """What Prefect wrote to disk since `since`: every row the server's database added or changed
    (logs, states, artifacts, events and all, read straight from its SQLite file) and every file
    under PREFECT_HOME (result storage: pickled results and exceptions)."""
    import sqlite3

    from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL

    found: dict[str, str | bytes] = {}
    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or ""
    assert url.startswith("sqlite"), f"expected the test server's SQLite database, got {url.split(':')[0]}"
    stamp = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    db = sqlite3.connect(f"file:{url.split(':///', 1)[1]}?mode=ro", uri=True, timeout=30)
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [c[1] for c in db.execute(f"PRAGMA table_info('{table}')")]
            if "updated" in columns:
                rows = db.execute(f"SELECT * FROM '{table}' WHERE updated >= ?", (stamp,)).fetchall()
                found[f"database table {table}"] = "\n".join(repr(row) for row in rows)
    finally:
        db.close()
    home = Path(PREFECT_HOME.value())
    for p in home.rglob("*"):
        if p.is_file() and p.stat().st_mtime >= since.timestamp():
            data = p.read_bytes()
            found[f"PREFECT_HOME/{p.relative_to(home)}"] = data
            with contextlib.suppress(ValueError):  # a stored result: a pickle in base64, in 76-character lines
                found[f"PREFECT_HOME/{p.relative_to(home)} decoded"] = base64.b64decode(data, validate=False)
    return found


def gather_prefect(seen: Seen, since: dt.datetime) -> None:
    for where, text in prefect_records(since).items():
        seen.add(f"prefect {where}", text)
    for where, data in prefect_stored(since).items():
        seen.add(f"prefect stored: {where}", data)


# ---------------------------------------------------------------------------- flows


def gather_output(seen: Seen, caplog, capfd) -> None:
    seen.add("logging", logged(caplog))
    out, err = capfd.readouterr()
    seen.add("stdout", out)
    seen.add("stderr", err)


def kimai_port(world) -> str:
    return os.environ["KIMAI_ENDPOINT"].split(":")[2].split("/")[0]


@pytest.mark.parametrize("kimai", ["emulator", "hostile"])
def test_no_flow_shows_the_token(world, tmp_path, caplog, capfd, monkeypatch, kimai):
    """Every flow against Kimai with the Bearer token; then against the hostile Kimai, each flow
    with the other login than the one before (Bearer, legacy, Bearer, ...)."""
    path = point_at(world, monkeypatch, kimai, "bearer")
    quick_retries(monkeypatch)
    debug_logging(caplog, monkeypatch)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    seen = Seen()
    switch = None
    if kimai == "hostile":
        def switch(i: int) -> None:
            point_at(world, monkeypatch, kimai, ("bearer", "legacy")[i % 2])
    results = run_flows(world, tmp_path, switch)
    for name, text in results:
        seen.add(f"what the {name} flow returned or raised", text)
    gather_output(seen, caplog, capfd)
    if (tmp_path / "hours.csv").exists():
        seen.add("the hours report", (tmp_path / "hours.csv").read_text())
    gather_prefect(seen, since)

    # The captures hold this scenario's output, so an empty or wrong capture cannot pass.
    port = kimai_port(world)
    assert any(r.name == "httpx" and f":{port}/" in r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("httpcore") and "headers.complete" in r.getMessage() for r in caplog.records)
    assert "Finished in state" in seen.text("prefect logs") and "Finished in state" in seen.text("stderr")
    assert "kimai-users" in seen.text("prefect task runs")
    assert "kimai-users" in seen.text("prefect stored: database table task_run")
    if kimai == "emulator":
        assert all(text.startswith("returned") for _, text in results), results
        assert f"Havenbedrijf {RUN}" in seen.text("prefect artifacts")
        assert f"Lotte {RUN}" in seen.text("the hours report")
        assert f"Lotte {RUN}" in seen.text("prefect stored: database table artifact")
        assert len(world.state.timesheets) >= 2  # the work log landed
    else:
        raised = [name for name, text in results if text.startswith("raised")]
        assert {"reference data", "accounts", "work-log period", "timesheet lock"} <= set(raised), results
        for where in ("what the", "logging", "prefect logs", "prefect flow runs", "prefect stored: database table log",
                      "prefect stored: database table flow_run_state", "prefect stored: PREFECT_HOME/storage"):
            assert f"{path}/api/" in seen.text(where), f"no Kimai error in {where}"
        assert len(world.hostile.served) >= 7, world.hostile.served  # each flow met another kind of failure
    seen.assert_no_token()


# ---------------------------------------------------------------------------- routes


def test_no_route_shows_the_token(world, caplog, capfd, monkeypatch):
    """Every route, executed by the receiver's run queue: against Kimai with the legacy login, then
    against the hostile Kimai with the Bearer token; and bad requests."""
    from fastapi.testclient import TestClient

    from deployments.receiver import create_app, flows_by_route
    from deployments.run_queue import RunQueue
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient

    quick_retries(monkeypatch)
    debug_logging(caplog, monkeypatch)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    runs = RunQueue(flows_by_route())
    app = TestClient(create_app(runs, SparqlClient.from_settings(load_settings())))
    log = world.logs[0]
    delta = [{"inserts": [{"subject": {"type": "uri", "value": log},
                           "predicate": {"type": "uri", "value": "http://www.w3.org/2002/12/cal/ical#duration"},
                           "object": {"type": "literal", "value": "PT2H"}}], "deletes": []}]
    requests = [("post", "/delta", delta), ("post", f"/update-queue/work-logs/{log.rsplit('/', 1)[1]}", None),
                ("put", f"/kimai-timesheets/{world.by_hand}", None), ("post", "/sync-from-kimai/customers", None),
                ("post", "/sync-from-kimai/tasks", None), ("post", "/sync-from-kimai/accounts", None),
                ("post", "/sync-to-kimai/work-logs", {"start": str(D), "end": str(D)}),
                ("post", "/timesheets/lock", {"month": 3, "year": 2025})]
    seen = Seen()
    try:
        for kimai, auth, routes in (("emulator", "legacy", requests), ("hostile", "bearer", requests[::3])):
            path = point_at(world, monkeypatch, kimai, auth)
            executed = len(runs.executed)
            for method, route, body in routes:
                answer = getattr(app, method)(route, **({"json": body} if body is not None else {}))
                seen.add(f"the answer to {method} {route} ({kimai})",
                         f"{answer.status_code} {answer.headers} {answer.text}")
                assert answer.status_code in (202, 204), answer.text
            assert runs.join(timeout=300)
            outcomes = Counter(state for _, _, state in runs.executed[executed:])
            assert outcomes == ({"COMPLETED": 8} if kimai == "emulator" else {"FAILED": 3}), outcomes
        for route, content in (("/delta", b"{not json"), ("/sync-to-kimai/work-logs", b'{"start": "x"}'),
                               ("/timesheets/lock", b'{"month": 13}'), ("/update-queue/work-logs/NOPE", b"")):
            answer = app.post(route, content=content, headers={"content-type": "application/json"})
            seen.add(f"the answer to a bad {route}", f"{answer.status_code} {answer.headers} {answer.text}")
            assert answer.status_code == 400 and answer.json()["error"]
    finally:
        runs.stop()
    seen.add("the run queue's record", repr(runs.executed))
    gather_output(seen, caplog, capfd)
    gather_prefect(seen, since)

    assert any(r.name == "httpx" and f":{kimai_port(world)}/" in r.getMessage() for r in caplog.records)
    assert f"Lotte {RUN}" in seen.text("prefect artifacts") and f"Havenbedrijf {RUN}" in seen.text("prefect artifacts")
    for where in ("logging", "stderr", "prefect logs", "prefect stored: database table log"):
        assert f"{path}/api/" in seen.text(where), f"no Kimai error in {where}"
    seen.assert_no_token()


# ---------------------------------------------------------------------------- the command line


def run_cli(args: list[str]) -> tuple[int | str, str]:
    """`kimai-sync ARGS` in this process (its flows report to the test's Prefect server): the exit
    code, or what Python would print of an exception that got out."""
    from kimaisync.cli import main

    root, kimaisync_level = logging.getLogger(), logging.getLogger("kimaisync").level
    handlers = list(root.handlers)
    try:
        return main(args), ""
    except SystemExit as exc:
        return exc.code, ""
    except Exception as exc:  # noqa: BLE001 - the interpreter would print it: so do we
        return "raised", exception_text(exc)
    finally:
        for handler in set(root.handlers) - set(handlers):  # main() adds a stderr handler: not for the next test
            root.removeHandler(handler)
        logging.getLogger("kimaisync").setLevel(kimaisync_level)


@pytest.mark.parametrize("kimai,auth", [("emulator", "bearer"), ("hostile", "legacy")])
def test_no_cli_verb_shows_the_token(world, tmp_path, caplog, capfd, monkeypatch, kimai, auth):
    path = point_at(world, monkeypatch, kimai, auth)
    quick_retries(monkeypatch)
    debug_logging(caplog, monkeypatch)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    report = tmp_path / "hours.csv"
    verbs = [["-v", "check"], ["-v", "from-kimai"], ["-v", "to-kimai", str(D), str(D), "--report", str(report)],
             ["-v", "lock-timesheets", "3", "2025"], ["to-kimai", "2025-02-30", str(D)],
             ["lock-timesheets", "13", "2025"]]
    seen, codes = Seen(), []
    for args in verbs:
        code, raised = run_cli(args)
        codes.append(code)
        seen.add(f"what `kimai-sync {' '.join(args)}` raised", raised)
    gather_output(seen, caplog, capfd)
    if report.exists():
        seen.add("the --report file", report.read_text())
    gather_prefect(seen, since)

    expected = [0, 0, 0, 0, 2, 2] if kimai == "emulator" else [1, 1, 1, 1, 2, 2]
    assert codes == expected, (codes, seen.text("std")[-3000:])
    out = seen.text("stdout") + seen.text("stderr")
    assert "settings: ok (Kimai http://127.0.0.1:" in out and "is not a valid date" in out
    assert any(r.name == "httpx" and f":{kimai_port(world)}/" in r.getMessage() for r in caplog.records)
    if kimai == "emulator":
        assert f"Lotte {RUN}" in seen.text("the --report file") and "all is well" in out
        assert f"Havenbedrijf {RUN}" in seen.text("prefect artifacts")
    else:
        assert f"{path}/api/" in out and "FAILED" in out
        assert f"{path}/api/" in seen.text("prefect logs") and f"{path}/api/" in seen.text("prefect stored: database")
    seen.assert_no_token()


def check_in_a_process(env: dict[str, str]) -> tuple[int, str]:
    """`kimai-sync -v check` as a process of its own (the installed entry point): exit code and output."""
    done = subprocess.run([CLI, "-v", "check"], env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


SETTINGS_ERRORS = {  # values that do not validate, each with the token in it: pydantic quotes input values
    "KIMAI_ENDPOINT": f"kimai.example.org/api?token={SECRET}", "KIMAI_CONCURRENCY": SECRET,
    "TIMEZONE": f"Europe/{SECRET}", "WORKDAY_START": SECRET, "FALLBACK_SYNC_CRON": SECRET, "DELETE_SCOPE": SECRET,
    "DELETE_GUARD_SHARE": SECRET, "KIMAI_TIMEOUT": SECRET, "LOCK_MARK_EXPORTED_IN_KIMAI": SECRET,
    "RESOURCE_BASE_URI": f"not an IRI {SECRET}", "MU_SPARQL_ENDPOINT": f"ftp://sync:{SECRET}@database/sparql",
}


@pytest.mark.parametrize("case", ["legacy", "bearer refused", "legacy refused", "unreachable",
                                  "password in KIMAI_ENDPOINT", "token with a line break",
                                  "settings that do not validate"])
def test_kimai_sync_check_never_shows_the_token(world, case):
    env = {**os.environ, **world.env}
    env.pop("KIMAI_API_USER", None)
    if "legacy" in case:
        env["KIMAI_API_USER"] = "sync-bot"
    if "refused" in case:
        world.state.users[1].api_token = world.state.users[1].api_password = "another-secret-entirely"
    expect = "kimai: ok"
    if case == "unreachable":
        env["KIMAI_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}/unreachable-{RUN}/api"
        expect = f"kimai: FAILED: GET /unreachable-{RUN}/api/version: connection failed"
    elif case == "password in KIMAI_ENDPOINT":  # someone's proxy login: httpx sends it as Basic auth
        env["KIMAI_ENDPOINT"] = world.server.url.replace("http://", f"http://sync-bot:{SECRET}@")
        expect = "kimai: FAILED: GET /api/version: Kimai rejected the credentials (401"
    elif case == "token with a line break":
        env["API_TOKEN"] = f"{SECRET}\n{SECRET}"  # (a space, non-ASCII: see the test below)
        expect = "contains characters that cannot be sent in an HTTP header"
    elif case == "settings that do not validate":
        env.update(SETTINGS_ERRORS)
        expect = "Configuration problems"
    elif "refused" in case:
        expect = "kimai: FAILED: GET /api/version: Kimai rejected the credentials (40"
    code, output = check_in_a_process(env)
    bad_input = case in ("token with a line break", "settings that do not validate")  # refused at start: exit 2
    assert code == (0 if case == "legacy" else 2 if bad_input else 1), output
    assert expect in output, output
    if case == "settings that do not validate":  # one line per problem: each variable is named
        assert all(f"{name}:" in output for name in SETTINGS_ERRORS), output
    elif case != "token with a line break":
        assert "DEBUG kimaisync.kimai: GET " in output, output  # -v: the client's debug lines are printed
    assert not leaks(output), f"`kimai-sync -v check` ({case}) shows the token:\n{output}"


# ---------------------------------------------------------------------------- objects and errors themselves


def test_settings_and_client_never_show_the_token(world, monkeypatch):
    from pydantic import ValidationError

    from kimaisync.errors import ConfigurationError, KimaiError
    from kimaisync.trackers.kimai2 import KimaiClient
    from kimaisync.settings import Settings, load_settings

    quick_retries(monkeypatch)
    seen = Seen()
    for auth in ("bearer", "legacy"):
        point_at(world, monkeypatch, "emulator", auth)
        settings = load_settings()
        assert settings.api_token.get_secret_value() == SECRET  # it is there, behind this call only
        client = KimaiClient.from_settings(settings)
        assert client.me().username == "sync-bot"  # and it works
        seen.add(f"settings ({auth})", "\n".join([repr(settings), str(settings), str(settings.model_dump()),
                                                  settings.model_dump_json(), settings.describe(),
                                                  str(settings.warnings()), repr(settings.api_token)]))
        seen.add(f"the client ({auth})", f"{client!r} {client}")
        client.close()

    # Every failure a client call can meet, from its exception: str, repr, attributes, traceback.
    errors = []
    for kimai in ("hostile", "unreachable", "refused"):
        point_at(world, monkeypatch, "emulator" if kimai == "refused" else kimai, "bearer")
        if kimai == "refused":
            world.state.users[1].api_token = "another-secret-entirely"
        with KimaiClient.from_settings(load_settings()) as client:
            calls = [client.version, client.me, client.users, client.customers, client.timesheet_config,
                     lambda: client.get_timesheet(1), lambda: client.delete_timesheet(1),
                     lambda: client.set_exported(1, True)]
            for call in calls * (2 if kimai == "hostile" else 1):
                try:
                    call()
                except KimaiError as exc:
                    errors.append(exc)
                    # A traceback rendered with local variables too, where Kimai did not quote the token
                    # (the hostile one's own answer, echo and all, is a local of the code reading it).
                    seen.add(f"a client error ({kimai})", exception_text(exc, with_locals=kimai != "hostile"))
    assert len(errors) >= 2 * 8 + 2, errors
    assert set(world.hostile.served) == set(HostileKimai.KINDS), world.hostile.served  # each kind of failure met

    # Settings that do not validate; a token that cannot be sent in a header, to the settings and to
    # the client itself.
    monkeypatch.setenv("KIMAI_ENDPOINT", world.server.url)
    for name, value in SETTINGS_ERRORS.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as failed:
        load_settings()
    seen.add("a configuration error", exception_text(failed.value, with_locals=True))
    assert all(f"{name}:" in str(failed.value) for name in SETTINGS_ERRORS)
    for name in SETTINGS_ERRORS:
        monkeypatch.delenv(name)
    for name in ("KIMAI_ENDPOINT", "MU_SPARQL_ENDPOINT"):
        monkeypatch.setenv(name, world.env[name])
    for bad in (f"{SECRET} {SECRET}", f"{SECRET}\r\n{SECRET}", f"{SECRET}é", f"{SECRET}\x7f"):
        monkeypatch.setenv("API_TOKEN", bad)
        with pytest.raises(ConfigurationError) as failed:
            load_settings()
        seen.add("a configuration error for the token", exception_text(failed.value, with_locals=True))
        assert str(failed.value).count("API_TOKEN: ") == 1 and len(failed.value.problems) == 1, failed.value
        with pytest.raises(ValidationError) as invalid:  # pydantic's own message, were the class used directly
            Settings()  # (its structured .errors() hold the input: load_settings needs them)
        seen.add("pydantic's error for the token", f"{invalid.value}\n{invalid.value!r}")
        with pytest.raises(ValueError) as refused:
            KimaiClient(world.server.url, bad)
        seen.add("the client refusing the token", exception_text(refused.value))
    assert "api_token" in seen.text("pydantic's error") and "header" in seen.text("the client refusing")
    assert "KimaiAuthError" in seen.text("a client error (refused)")
    assert f"{world.hostile.prefix}/api/users" in seen.text("a client error (hostile)")
    assert "self = KimaiClient(base_url=" in seen.text("a client error (unreachable)")  # the locals were rendered
    seen.assert_no_token()
