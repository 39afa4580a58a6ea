"""The FastAPI application emulating Timi's ``/api/v1``.

Only the routes the API document shows exist (no ``GET /time_entries/{id}.json``, no delete).
Every request is first counted against the caller's per-minute budget (429), then authenticated
(401), then served. Write bodies are read as form fields (``application/x-www-form-urlencoded``,
as the document's curl examples send them) or JSON; the ``email``/``token`` parameters may come in
the query or the form, as in the document.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from typing import Any, Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from .faults import TimiFaultInjector
from .recognise import recognise
from .recording import RequestRecorder
from .state import Project, TimeEntry, TimiState, User

UNAUTHORIZED = {"message": "unauthorized"}
RATE_LIMITED = {"message": "rate limit exceeded"}
NOT_FOUND = {"message": "not found"}

REQUIRED = "moet opgegeven zijn"
NOT_A_NUMBER = "is geen getal"
NOT_AN_INTEGER = "moet een geheel getal zijn"
NEGATIVE = "moet groter dan of gelijk zijn aan 0"
INVALID = "is ongeldig"
MISSING = "bestaat niet"
ARCHIVED = "is gearchiveerd"


class ApiError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class Invalid(ApiError):
    """Timi's validation failure: ``{"errors": {"field": ["message", ...]}}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(422, {"errors": errors})


def parse_day(text: str) -> date:
    """``27-03-2016`` (the document's write format) or ``2016-03-27`` (the format it answers in)."""
    text = text.strip()
    try:
        return datetime.strptime(text, "%d-%m-%Y").date()
    except ValueError:
        return date.fromisoformat(text)


async def _params(request: Request) -> dict[str, str]:
    """Query and body parameters, merged (the body wins), as a Rails controller sees them."""
    params = dict(request.query_params)
    raw = await request.body()
    if raw:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            try:
                data = json.loads(raw)
            except ValueError:
                raise ApiError(400, {"message": "bad request"}) from None
            if isinstance(data, dict):
                params.update({k: "" if v is None else str(v) for k, v in data.items()})
        else:
            params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _credentials(request: Request, params: dict[str, str]) -> tuple[str, str, str] | None:
    """(way, email, token) from the X-Api-Key header, Basic auth or the parameters, in that order."""
    key = request.headers.get("x-api-key")
    if key is not None:
        email, _, token = key.partition(":")
        return "x-api-key", email, token
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            email, _, token = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "basic", "", ""
        return "basic", email, token
    if "email" in params or "token" in params:
        return "params", params.get("email", ""), params.get("token", "")
    return None


def _ids(text: str | None, name: str) -> set[int] | None:
    if not text:
        return None
    try:
        return {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise Invalid({name: [INVALID]}) from None


class Api:
    def __init__(self, state: TimiState, today: Callable[[], date]) -> None:
        self.state = state
        self.today = today

    async def caller(self, request: Request) -> tuple[User, dict[str, str]]:
        params = await _params(request)
        creds = _credentials(request, params)
        request.state.auth_way = creds[0] if creds else None
        key = (creds[1].strip().lower() if creds and creds[1] else None) or (
            request.client.host if request.client else "?")
        with self.state.lock:
            allowed = self.state.rate.take(key)
        if not allowed:
            raise ApiError(429, RATE_LIMITED)
        user = self.state.user_by_credentials(creds[1], creds[2]) if creds and creds[1] and creds[2] else None
        if user is None:
            raise ApiError(401, UNAUTHORIZED)
        request.state.auth_user = user.email
        return user, params

    # ------------------------------------------------------------------ shapes

    def entry_listed(self, e: TimeEntry) -> dict[str, Any]:
        project = self.state.projects.get(e.project) if e.project else None
        client = self.state.clients.get(project.client) if project and project.client else None
        user = self.state.users[e.user]
        return {
            "id": e.id, "body": e.body, "duration": e.duration, "start_time": "", "end_time": "",
            "date": e.date.isoformat(),
            "project": None if project is None else {
                "id": project.id, "name": project.name,
                "client": None if client is None else {"id": client.id, "name": client.name}},
            "user": {"id": user.id, "display_name": user.display_name},
        }

    def entry_written(self, e: TimeEntry) -> dict[str, Any]:
        project = self.state.projects.get(e.project) if e.project else None
        return {"id": e.id, "body": e.body, "date": e.date.isoformat(), "duration": e.duration,
                "start_time": None, "end_time": None,
                "project": None if project is None else {"id": project.id, "name": project.name}}

    @staticmethod
    def project_shape(p: Project, *, with_active: bool = False) -> dict[str, Any]:
        shape: dict[str, Any] = {"id": p.id, "name": p.name, "aliases": list(p.aliases)}
        if with_active:
            shape = {"active": p.active, **shape}
        return shape

    # ------------------------------------------------------------------ entry writes

    def apply_entry_fields(self, params: dict[str, str], current: TimeEntry | None) -> dict[str, Any]:
        """The new values of an entry from the form: recognition first, explicit fields override."""
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        body = params.get("body")
        if current is None and (body is None or not body.strip()):
            errors["body"] = [REQUIRED]
        if body is not None:
            if not body.strip():
                errors["body"] = [REQUIRED]
            values["body"] = body
            with self.state.lock:
                found = recognise(body, [(p.id, p.name, p.aliases) for p in self.state.projects.values()],
                                  [(s.id, s.name, s.aliases) for s in self.state.services.values()])
            if found.duration is not None:
                values["duration"] = found.duration
            if found.project is not None:
                values["project"] = found.project
            if found.service is not None:
                values["service"] = found.service
        if "duration" in params:
            raw = params["duration"].strip()
            try:
                number = float(raw)
            except ValueError:
                errors["duration"] = [NOT_A_NUMBER]
            else:
                if number != int(number):
                    errors["duration"] = [NOT_AN_INTEGER]
                elif number < 0:
                    errors["duration"] = [NEGATIVE]
                else:
                    values["duration"] = int(number)
        if "project_id" in params:
            try:
                project = self.state.projects.get(int(params["project_id"]))
            except ValueError:
                project = None
            if project is None:
                errors["project"] = [MISSING]
            elif not project.active:
                errors["project"] = [ARCHIVED]
            else:
                values["project"] = project.id
        if "service_id" in params:
            try:
                service = self.state.services.get(int(params["service_id"]))
            except ValueError:
                service = None
            if service is None:
                errors["service"] = [MISSING]
            else:
                values["service"] = service.id
        if "date" in params:
            try:
                values["date"] = parse_day(params["date"])
            except ValueError:
                errors["date"] = [INVALID]
        if current is None:
            if "duration" not in values and "duration" not in errors:
                errors["duration"] = [REQUIRED]
            if "project" not in values and "project" not in errors:
                errors["project"] = [REQUIRED]
        if errors:
            raise Invalid(errors)
        return values


def create_app(state: TimiState, *, today: Callable[[], date] = date.today) -> FastAPI:
    """An app serving ``state``; mutate the state (data, rate budget, faults) at any time."""
    app = FastAPI(title="Timi emulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.timi = state
    api = Api(state, today)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> Response:
        return error.response()

    @app.exception_handler(HTTPException)
    async def routing_error(_request: Request, error: HTTPException) -> Response:
        return JSONResponse(NOT_FOUND if error.status_code == 404 else {"message": "bad request"},
                            status_code=error.status_code)

    @app.get("/api/v1/clients.json")
    async def clients(request: Request) -> Response:
        await api.caller(request)
        with state.lock:
            return JSONResponse([
                {"id": c.id, "name": c.name,
                 "projects": [api.project_shape(p) for p in state.projects.values() if p.client == c.id]}
                for c in state.clients.values()])

    @app.get("/api/v1/projects.json")
    async def projects(request: Request) -> Response:
        await api.caller(request)
        with state.lock:
            return JSONResponse([api.project_shape(p) for p in state.projects.values()])

    @app.post("/api/v1/projects.json")
    async def create_project(request: Request) -> Response:
        _user, params = await api.caller(request)
        name = params.get("name", "").strip()
        if not name:
            raise Invalid({"name": [REQUIRED]})
        active = params.get("active", "true").strip().lower() != "false"
        project = state.add_project(name, active=active)
        return JSONResponse(api.project_shape(project, with_active=True), status_code=201)

    @app.patch("/api/v1/projects/{ident}.json")
    async def update_project(ident: int, request: Request) -> Response:
        _user, params = await api.caller(request)
        with state.lock:
            project = state.projects.get(ident)
            if project is None:
                raise ApiError(404, NOT_FOUND)
            if "name" in params:
                if not params["name"].strip():
                    raise Invalid({"name": [REQUIRED]})
                project.name = params["name"].strip()
            if "active" in params:
                project.active = params["active"].strip().lower() != "false"
            return JSONResponse(api.project_shape(project, with_active=True))

    @app.get("/api/v1/services.json")
    async def services(request: Request) -> Response:
        await api.caller(request)
        with state.lock:
            return JSONResponse([{"id": s.id, "name": s.name, "aliases": list(s.aliases)}
                                 for s in state.services.values()])

    @app.get("/api/v1/time_entries/timer.json")
    async def timer(request: Request) -> Response:
        user, _params = await api.caller(request)
        with state.lock:
            running = state.timers.get(user.id)
            if running is None:
                raise ApiError(404, NOT_FOUND)
            entry_id, started_at = running
            entry = state.entries[entry_id]
            return JSONResponse({"id": entry.id, "body": entry.body, "duration": entry.duration,
                                 "start_time": None, "end_time": None, "date": entry.date.isoformat(),
                                 "timer_started_at": started_at})

    @app.get("/api/v1/time_entries.json")
    async def time_entries(request: Request) -> Response:
        user, params = await api.caller(request)
        try:
            day = parse_day(params["date"]) if params.get("date") else None
            start = parse_day(params["start_date"]) if params.get("start_date") else None
            end = parse_day(params["end_date"]) if params.get("end_date") else None
        except ValueError:
            raise Invalid({"date": [INVALID]}) from None
        project_ids = _ids(params.get("project_ids"), "project_ids")
        service_ids = _ids(params.get("service_ids"), "service_ids")
        client_ids = _ids(params.get("client_ids"), "client_ids")
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        with state.lock:
            rows = [e for e in state.entries_of(user.id)
                    if (day is None or e.date == day) and (start is None or e.date >= start)
                    and (end is None or e.date <= end)
                    and (project_ids is None or e.project in project_ids)
                    and (service_ids is None or e.service in service_ids)
                    and (client_ids is None or (e.project in state.projects
                                                and state.projects[e.project].client in client_ids))]
            rows.sort(key=lambda e: (e.date, e.id), reverse=True)  # newest first, as the document shows
            per = state.PER_PAGE
            shown = [api.entry_listed(e) for e in rows[(page - 1) * per: page * per]]
        return JSONResponse({"current_page": page, "per_page": per, "total_entries": len(rows),
                             "time_entries": shown})

    @app.post("/api/v1/time_entries.json")
    async def create_entry(request: Request) -> Response:
        user, params = await api.caller(request)
        values = api.apply_entry_fields(params, None)
        with state.lock:
            entry = state.add_entry(user.id, values["body"], values.get("date") or today(), values["duration"],
                                    values["project"], values.get("service"))
            return JSONResponse(api.entry_written(entry), status_code=201)

    @app.patch("/api/v1/time_entries/{ident}.json")
    async def update_entry(ident: int, request: Request) -> Response:
        user, params = await api.caller(request)
        with state.lock:
            entry = state.entries.get(ident)
            if entry is None or entry.user != user.id:  # another user's entry is not there for this token
                raise ApiError(404, NOT_FOUND)
            values = api.apply_entry_fields(params, entry)
            for name, value in values.items():
                setattr(entry, name, value)
            return JSONResponse(api.entry_written(entry))

    # Added last = outermost: the recorder sees every request, including faulted ones.
    app.add_middleware(TimiFaultInjector, state=state)
    app.add_middleware(RequestRecorder, state=state)
    return app
