"""The webhook receiver: the old service's HTTP routes, each turned into a Prefect run.

Open-source Prefect has no webhooks, so this small ASGI app takes the delta-notifier's POSTs and
the `mu script` calls of an existing stack, with the old status codes, and hands them to the
RunQueue (recorded in Prefect, executed at once). Bad input gets a 400 with a message saying
what was wrong; nothing a request sends can stop the receiver.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from deployments.run_queue import RunQueue
from kimaisync.delta import DeltaFormatError, parse_delta
from kimaisync.errors import SparqlError, SyncError
from kimaisync.inputs import InputError, InputLimits, KimaiId, LockMonth, Period, parse
from kimaisync.sparql import escape

log = logging.getLogger("kimaisync.receiver")

MAX_BODY = 64 * 1024 * 1024  # a delta naming 20,000 work logs is about 7 MB in v0.0.1
_UUID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
# The only thing a 503 says: nothing about where or why (the log has that), so no internals leak.
NOT_RECORDED = "the work could not be recorded; nothing was done: please retry"


class BadRequest(Exception):
    pass


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def _not_recorded() -> JSONResponse:
    return JSONResponse({"error": NOT_RECORDED}, status_code=503, headers={"Retry-After": "5"})


async def _json(request: Request):
    """The body as JSON (application/json, application/vnd.api+json or no type: all read alike)."""
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
    except RecursionError:  # e.g. 100,000 '['
        raise BadRequest("body is JSON nested too deeply") from None


def create_app(runs: RunQueue, sparql=None, limits: InputLimits | None = None) -> FastAPI:
    app = FastAPI(title="timekeeper-kimai-sync receiver", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dropped_subjects = 0  # parts of deltas dropped as not IRIs (or not triples), all time
    limits = limits or InputLimits()

    @app.exception_handler(BadRequest)
    async def _bad_request(request: Request, exc: BadRequest):
        return _bad(str(exc))

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError):
        return _bad(str(exc))

    @app.exception_handler(Exception)
    async def _unrecorded(request: Request, exc: Exception):  # e.g. the Prefect API is down
        log.warning("%s %s: not recorded: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _not_recorded()

    @app.post("/delta")
    async def delta(request: Request):
        try:
            found = parse_delta(await _json(request))
        except DeltaFormatError as err:
            return _bad(str(err))
        if found.dropped_count:
            app.state.dropped_subjects += found.dropped_count
            log.warning("delta: %d part(s) dropped, the rest synced: %s", found.dropped_count,
                        "; ".join(found.dropped))
        if found.work_logs:  # recording the run is a blocking API call: keep it off the event loop
            await run_in_threadpool(runs.submit, "delta", {}, found.work_logs, found.dropped)
        return Response(status_code=204)

    @app.post("/update-queue/work-logs/{uuid}")
    async def update_queue(uuid: str):
        if not _UUID.fullmatch(uuid):
            return _bad(f"{ascii(uuid)[:80]} is not a work log id")
        try:
            rows = await run_in_threadpool(sparql.select, "SELECT DISTINCT ?log WHERE { ?log a cal:Vevent ; mu:uuid "
                                       f"{escape.string(uuid)} }}")
        except SparqlError as err:
            log.warning("update-queue %s: the triplestore could not be asked: %s", uuid, err)
            return _not_recorded()
        if not rows:
            return _bad(f"{uuid!r} is not a work log")
        await run_in_threadpool(runs.submit, "delta", {}, [r["log"] for r in rows])
        return Response(status_code=202)

    @app.put("/kimai-timesheets/{kimai_id}")
    async def orphan(kimai_id: str):
        timesheet = parse(KimaiId, {"id": kimai_id})
        await run_in_threadpool(runs.submit, "orphan", {"kimai_id": timesheet.id})
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
        period = parse(Period, body, limits)
        parameters = {"start": period.start.isoformat(), "end": period.end.isoformat()}
        if period.allow_long_period:
            parameters["allow_long_period"] = True
        await run_in_threadpool(runs.submit, "period", parameters)
        return Response(status_code=202)

    @app.post("/timesheets/lock")
    async def lock(request: Request):
        body = await _json(request)
        if not isinstance(body, dict):
            return _bad('expected {"month": 1-12, "year": 2025}')
        chosen = parse(LockMonth, body, limits)
        await run_in_threadpool(runs.submit, "lock", {"month": chosen.month, "year": chosen.year})
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


class ListenError(SyncError):
    """The receiver cannot listen where it was told to (the port is taken, the address is not ours)."""


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free port (read it back from ``getsockname``)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)  # a burst of deltas arrives as that many connections at once
    except OSError as err:
        raise ListenError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock


def deadline_protocol(header_timeout: float, body_timeout: float):
    """uvicorn's h11 protocol, closing a connection whose client takes longer than `header_timeout`
    seconds to send a request's headers (from the connection's start, or the end of the previous
    answer) or `body_timeout` to send its body: a slow client would otherwise hold the connection
    and its buffers for as long as it likes (uvicorn has no such option of its own)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    tick = min(1.0, header_timeout / 4, body_timeout / 4)

    class DeadlineH11Protocol(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._phase, self._since = None, self.loop.time()
            self._watch = self.loop.call_later(tick, self._check)

        def _check(self) -> None:
            if self.transport.is_closing():
                return
            now, phase = self.loop.time(), self.conn.their_state  # h11's view: what the client still owes
            if phase is not self._phase:
                self._phase, self._since = phase, now
            limit = {h11.IDLE: header_timeout, h11.SEND_BODY: body_timeout}.get(phase)
            if limit is not None and now - self._since > limit:
                log.info("closing a connection from %s: %s not sent within %g s", self.client,
                         "request headers" if phase is h11.IDLE else "request body", limit)
                self.transport.close()
                return
            self._watch = self.loop.call_later(tick, self._check)

        def connection_lost(self, exc) -> None:
            self._watch.cancel()
            super().connection_lost(exc)

    return DeadlineH11Protocol


class RunningReceiver:
    """The receiver served by uvicorn in a background thread (serve, the receiver alone, the demo, tests)."""

    def __init__(self, runs: RunQueue, sparql, host: str = "127.0.0.1", port: int = 0, settings=None):
        import uvicorn

        self.runs = runs
        self._sock = _listen(host, port)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        header_timeout = settings.receiver_header_timeout if settings is not None else 10.0
        body_timeout = settings.receiver_body_timeout if settings is not None else 60.0
        self.app = create_app(runs, sparql, settings.input_limits if settings is not None else None)
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                http=deadline_protocol(header_timeout, body_timeout), backlog=1024)
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

    settings = load_settings()
    return RunningReceiver(RunQueue(flows_by_route(), grace=settings.receiver_grace_seconds),
                           SparqlClient.from_settings(settings), settings=settings)
