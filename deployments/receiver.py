"""The webhook receiver: the old service's HTTP routes, each turned into a Prefect run.

Open-source Prefect has no webhooks, so this small ASGI app takes the delta-notifier's POSTs and
the `mu script` calls of an existing stack, with the old status codes, and hands them to the
RunQueue (recorded in Prefect, executed at once). Bad input gets a 400 with a message saying
what was wrong; nothing a request sends can stop the receiver.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from deployments.run_queue import RunQueue
from kimaisync.delta import DeltaFormatError, work_logs_named
from kimaisync.errors import SparqlError
from kimaisync.sparql import escape

MAX_BODY = 5 * 1024 * 1024  # a delta of a large batch edit is well under this
_UUID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BadRequest(Exception):
    pass


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json(request: Request):
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise BadRequest(f"body larger than {MAX_BODY // (1024 * 1024)} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"body larger than {MAX_BODY // (1024 * 1024)} MB")
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("body is not JSON") from None
    except RecursionError:  # e.g. 100,000 '[': the sender's mistake, so a 400, not a 5xx
        raise BadRequest("body is JSON nested too deeply") from None


def parse_day(value, name: str) -> dt.date:
    """yyyy-MM-dd, or an ISO datetime as the old service's cron sent (its date part)."""
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a date string such as 2025-03-01, got {value!r}")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise BadRequest(f"'{name}' {value!r} is not a valid date (yyyy-MM-dd)") from None


def parse_month_year(body) -> tuple[int, int]:
    if not isinstance(body, dict):
        raise BadRequest('expected {"month": 1-12, "year": 2025}')
    out = []
    for key, lo, hi in (("month", 1, 12), ("year", 1000, 9999)):
        v = body.get(key)
        if isinstance(v, str) and v.strip().isdigit():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise BadRequest(f"'{key}' must be a number from {lo} to {hi}, got {body.get(key)!r}")
        out.append(v)
    return out[0], out[1]


def create_app(runs: RunQueue, sparql=None) -> FastAPI:
    app = FastAPI(title="timekeeper-kimai-sync receiver", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest):
        return _bad(str(exc))

    @app.exception_handler(Exception)
    async def _not_recorded(request: Request, exc: Exception):  # e.g. the Prefect API is down
        return JSONResponse({"error": f"the run could not be recorded in Prefect: {type(exc).__name__}: {exc}"},
                            status_code=503)

    @app.post("/delta")
    async def delta(request: Request):
        try:
            logs = work_logs_named(await _json(request))
        except DeltaFormatError as err:
            return _bad(str(err))
        if logs:  # recording the run is a blocking API call: keep it off the event loop
            await run_in_threadpool(runs.submit, "delta", {}, frozenset(logs))
        return Response(status_code=204)

    @app.post("/update-queue/work-logs/{uuid}")
    async def update_queue(uuid: str):
        if not _UUID.match(uuid):
            return _bad(f"{uuid!r} is not a work log id")
        try:
            rows = await run_in_threadpool(sparql.select, "SELECT DISTINCT ?log WHERE { ?log a cal:Vevent ; mu:uuid "
                                       f"{escape.string(uuid)} }}")
        except SparqlError as err:
            return JSONResponse({"error": f"the triplestore could not be asked: {err}"}, status_code=503)
        if not rows:
            return _bad(f"{uuid!r} is not a work log")
        await run_in_threadpool(runs.submit, "delta", {}, frozenset(r["log"] for r in rows))
        return Response(status_code=202)

    @app.put("/kimai-timesheets/{kimai_id}")
    async def orphan(kimai_id: str):
        if not kimai_id.isdigit() or len(kimai_id) > 12:
            return _bad(f"{kimai_id!r} is not a Kimai timesheet id")
        await run_in_threadpool(runs.submit, "orphan", {"kimai_id": int(kimai_id)})
        return Response(status_code=204)

    @app.post("/sync-from-kimai/{what}")
    async def from_kimai(what: str):
        if what not in ("customers", "tasks", "accounts"):
            return JSONResponse({"error": "expected customers, tasks or accounts"}, status_code=404)
        await run_in_threadpool(runs.submit, what, {})
        return Response(status_code=204)

    @app.post("/sync-to-kimai/work-logs")
    async def to_kimai(request: Request):
        body = await _json(request)
        if not isinstance(body, dict):
            return _bad('expected {"start": "yyyy-MM-dd", "end": "yyyy-MM-dd"}')
        start, end = parse_day(body.get("start"), "start"), parse_day(body.get("end"), "end")
        if start > end:
            return _bad(f"start {start} is after end {end}")
        await run_in_threadpool(runs.submit, "period", {"start": start.isoformat(), "end": end.isoformat()})
        return Response(status_code=202)

    @app.post("/timesheets/lock")
    async def lock(request: Request):
        month, year = parse_month_year(await _json(request))
        await run_in_threadpool(runs.submit, "lock", {"month": month, "year": year})
        return Response(status_code=204)

    return app


def flows_by_route() -> dict:
    """The flow each route runs (the names the RunQueue and the deployments share)."""
    from flows.accounts import sync_accounts
    from flows.reference_data import sync_customers, sync_tasks
    from flows.timesheet_lock import lock_timesheets
    from flows.worklog_delta import remove_orphan_timesheet, sync_work_log_changes
    from flows.worklog_period import sync_work_log_period

    return {"delta": sync_work_log_changes, "orphan": remove_orphan_timesheet, "customers": sync_customers,
            "tasks": sync_tasks, "accounts": sync_accounts, "period": sync_work_log_period, "lock": lock_timesheets}


class RunningReceiver:
    """The receiver served by uvicorn in a background thread on 127.0.0.1 (demo, tests)."""

    def __init__(self, runs: RunQueue, sparql, host: str = "127.0.0.1", port: int = 0):
        import socket

        import uvicorn

        self.runs = runs
        self._sock = socket.create_server((host, port))
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(runs, sparql), log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self.runs.join(timeout=120)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.runs.stop()


def run_in_thread() -> RunningReceiver:
    """A receiver for the current settings, executing runs in this process (not recorded first)."""
    from kimaisync.settings import load_settings
    from kimaisync.sparql.client import SparqlClient

    return RunningReceiver(RunQueue(flows_by_route()), SparqlClient.from_settings(load_settings()))
