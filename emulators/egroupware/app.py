"""The ASGI app emulating EGroupware's timesheet REST API under ``/egroupware/groupdav.php``.

Routes (paths relative to the groupdav.php base):

* ``GET /<user>/timesheet/`` (and ``/timesheet/`` for the caller's own): the collection as
  ``{"responses": {"/<user>/timesheet/<id>": {...}}}``; ``filters[search]=``, ``filters[<attr>]=``,
  ``props[]=``; with ``sync-token=`` (empty: from the start) only what changed since, oldest change
  first, a deleted record as ``null``, a new ``sync-token``; ``nresults=N`` caps a sync answer and
  adds ``"more-results": true`` with a token one second before the last record's change, so the
  next chunk starts with that record again (EGroupware's way of not losing same-second changes).
  A token older than the server's kept deletions is refused: 403 ``valid-sync-token``.
* ``POST /<user>/timesheet/``: 201, ``Location``, ``ETag``; with ``Prefer: return=representation``
  the record (and ``Content-Location``).
* ``GET|PUT|PATCH|DELETE /<user>/timesheet/<id>``: ``ETag`` on reads and writes; ``If-Match``
  (quotes optional) answered 412 when stale (with the current record if representation was
  preferred); ``If-None-Match`` on GET 304; PUT on an unknown id creates a new record (201, new id
  in ``Location``) as EGroupware does; PATCH and DELETE of an unknown id 404; writes 204, or 200
  with the record when representation was preferred.

Auth: HTTP Basic with the account's password or an app token ``token<id>_<secret>`` (a token for
all users logs in as any user it is given with). Failures: 401 with a ``WWW-Authenticate: Basic``
challenge. Another user's collection needs that user's grant (403), an unknown user is 404.
Errors raised by the handler come as ``{"error": <status>, "message": ...}``; a body that cannot
be read is 422 with the attribute named.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulators.kimai2.recording import RequestRecorder

from . import jsts
from .faults import FaultInjector
from .state import BASE_PATH, STATUS_LABELS, EGroupwareState, EmuAccount, EmuTimesheet

REALM = "EGroupware CalDAV/CardDAV/GroupDAV server"
JSON_TYPES = ("application/json", "application/pretty+json")


class HttpError(Exception):
    def __init__(self, status: int, message: str | None = None, *, headers: dict[str, str] | None = None,
                 body: Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.body = body


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None, *,
                   pretty: bool = False) -> Response:
    text = json.dumps(data, indent=4 if pretty else None, ensure_ascii=False, separators=None if pretty else (",", ":"))
    return Response(text.encode(), status_code=status, media_type="application/json", headers=headers)


def _error(exc: HttpError) -> Response:
    if exc.body is not None:
        return exc.body
    if exc.status == 401:
        # the login check answers before any JSON handler runs: a plain challenge
        return Response(b"401 Unauthorized", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": f'Basic realm="{REALM}"', **exc.headers})
    return _json_response({"error": exc.status, "message": exc.message, "details": None, "script": None},
                          exc.status, exc.headers)


class Api:
    def __init__(self, state: EGroupwareState) -> None:
        self.state = state

    # ------------------------------------------------------------------ plumbing

    def authenticate(self, request: Request) -> EmuAccount:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise HttpError(401)
        try:
            login, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise HttpError(401) from None
        if not sep:
            raise HttpError(401)
        account = next((a for a in self.state.accounts.values() if a.username == login), None)
        if account is None or not account.enabled:
            raise HttpError(401)
        apps = account.apps
        if secret.startswith("token") and "_" in secret and secret[5:secret.index("_")].isdigit():
            token = self.state.tokens.get(int(secret[5:secret.index("_")]))
            if (token is None or token.revoked or token.secret != secret[secret.index("_") + 1:]
                    or token.account_id not in (0, account.account_id)):
                raise HttpError(401)
            if token.apps is not None:
                apps = apps & token.apps
        elif account.password is None or secret != account.password:
            raise HttpError(401)
        if "timesheet" not in apps:
            raise HttpError(403, "Forbidden: no rights for the timesheet application")
        request.state.auth_user_id = account.account_id
        return account

    def collection_owner(self, request: Request, actor: EmuAccount) -> EmuAccount:
        name = request.path_params.get("user")
        if name is None:
            return actor
        owner = next((a for a in self.state.accounts.values() if a.username == name), None)
        if owner is None:
            raise HttpError(404)
        return owner

    @staticmethod
    def _wants_json(request: Request) -> bool:
        return any(t in request.headers.get("accept", "") for t in JSON_TYPES)

    @staticmethod
    def _pretty(request: Request) -> bool:
        return "application/pretty+json" in request.headers.get("accept", "")

    @staticmethod
    def _prefers_representation(request: Request) -> bool:
        prefer = request.headers.get("prefer", "")
        return "return=representation" in [p.strip() for p in prefer.split(",")]

    def _collection_path(self, request: Request) -> str:
        user = request.path_params.get("user")
        return f"/{user}/timesheet/" if user else "/timesheet/"

    def _record_response(self, request: Request, ts: EmuTimesheet, status: int = 200,
                         headers: dict[str, str] | None = None) -> Response:
        return _json_response(jsts.render(self.state, ts), status,
                              {"ETag": f'"{ts.etag}"', **(headers or {})}, pretty=self._pretty(request))

    # ------------------------------------------------------------------ collection

    async def collection(self, request: Request) -> Response:
        try:
            actor = self.authenticate(request)
            with self.state.lock:
                owner = self.collection_owner(request, actor)
                if not self.state.may_access(actor, owner.account_id):
                    raise HttpError(403)
                if request.method == "POST":
                    return self._create(request, actor, owner, await request.body())
                if not self._wants_json(request):
                    raise HttpError(501, "Not Implemented: only the JSON REST API is emulated")
                return self._list(request, owner)
        except HttpError as exc:
            return _error(exc)

    def _list(self, request: Request, owner: EmuAccount) -> Response:
        query = request.query_params
        keep = self._filter(query, owner)
        props = query.getlist("props[]")
        base = self._collection_path(request)
        sync = "sync-token" in query
        token_in = query.get("sync-token", "")
        rows = [t for t in self.state.owned_by(owner.account_id) if keep(t)]
        out: dict[str, Any] = {}
        if not sync:
            rows = sorted((t for t in rows if not t.deleted), key=lambda t: t.id)
            return _json_response({"responses": {f"{base}{t.id}": self._props(t, props) for t in rows}},
                                  pretty=self._pretty(request))
        since = self._token_value(token_in) if token_in else None
        if since is None:
            rows = [t for t in rows if not t.deleted]
        else:
            rows = [t for t in rows if t.modified > since]
        rows.sort(key=lambda t: (t.modified, t.id))
        limit = query.get("nresults")
        limit = int(limit) if limit and limit.isdigit() and int(limit) > 0 else None
        more = limit is not None and len(rows) > limit
        if more:
            rows = rows[:limit]
            new_token = rows[-1].modified - 1
        else:
            mods = [t.modified for t in self.state.owned_by(owner.account_id)]
            new_token = max([since or 0, self.state.config.tombstones_since, *mods])
        for t in rows:
            out[f"{base}{t.id}"] = None if t.deleted else self._props(t, props)
        body: dict[str, Any] = {"responses": out}
        if more:
            body["more-results"] = True
        body["sync-token"] = f"{self.state.config.origin}{BASE_PATH}{base}{new_token}"
        return _json_response(body, pretty=self._pretty(request))

    def _token_value(self, token: str) -> int:
        last = token.rstrip("/").rsplit("/", 1)[-1]
        if not last.isdigit() or int(last) < self.state.config.tombstones_since:
            raise HttpError(403, "Forbidden: DAV:valid-sync-token precondition failed, sync-token is no "
                                 "longer valid: do a full sync (empty sync-token)")
        return int(last)

    def _props(self, ts: EmuTimesheet, props: list[str]) -> Any:
        if not props:
            return jsts.render(self.state, ts)
        values = {"getetag": f'"{ts.etag}"', "displayname": ts.title,
                  "getlastmodified": jsts.utc(ts.modified), "getcontenttype": "application/json"}
        picked = {p: values.get(p) for p in props}
        return next(iter(picked.values())) if len(picked) == 1 else picked

    def _filter(self, query, owner: EmuAccount):
        """``filters[search]`` (text in title or description), ``filters[<attribute>]`` (equal to the
        stored value; ``start`` as epoch seconds, ``status`` by label or number, ``category`` by id)."""
        tests = []
        for key, value in query.multi_items():
            if not (key.startswith("filters[") and key.endswith("]")):
                continue
            name = key[len("filters["):-1]
            if name == "search":
                needle = value.casefold()
                tests.append(lambda t, n=needle: n in (t.title or "").casefold() or n in (t.description or "").casefold())
            elif name in ("title", "description", "project"):
                tests.append(lambda t, n=name, v=value: (getattr(t, n) or "") == v)
            elif name in ("id", "start", "duration", "modified", "owner", "modifier"):
                if not value.lstrip("-").isdigit():
                    raise HttpError(400, f"Bad Request: filters[{name}] must be a number")
                tests.append(lambda t, n=name, v=int(value): getattr(t, n) == v)
            elif name == "category":
                tests.append(lambda t, v=value: str(t.cat_id) == v)
            elif name == "status":
                number = next((k for k, lab in STATUS_LABELS.items() if lab == value), None)
                if number is None and not value.isdigit():
                    raise HttpError(422, f"Invalid status filter value {json.dumps(value)}")
                tests.append(lambda t, v=number if number is not None else int(value): t.status == v)
            else:
                raise HttpError(400, f"Bad Request: unknown filter '{name}'")
        return lambda t: all(test(t) for test in tests)

    def _create(self, request: Request, actor: EmuAccount, owner: EmuAccount, raw: bytes,
                status: int = 201) -> Response:
        if "json" not in request.headers.get("content-type", ""):
            raise HttpError(501, "Not Implemented: only application/json bodies are emulated")
        try:
            fields = jsts.fields_from(self.state, jsts.parse_body(raw))
        except jsts.ParseError as exc:
            raise HttpError(422, str(exc)) from None
        now = self.state.write_time()
        ts = self.state.insert(EmuTimesheet(id=0, owner=owner.account_id, created=now, modified=now,
                                            modifier=actor.account_id, **fields))
        location = f"{BASE_PATH}/{owner.username}/timesheet/{ts.id}"
        headers = {"Location": location, "ETag": f'"{ts.etag}"'}
        if self._prefers_representation(request):
            headers["Content-Location"] = location
            return self._record_response(request, ts, status, headers)
        return Response(status_code=status, headers=headers)

    # ------------------------------------------------------------------ one record

    async def resource(self, request: Request) -> Response:
        try:
            actor = self.authenticate(request)
            raw = await request.body()
            with self.state.lock:
                owner = self.collection_owner(request, actor)
                ts = self.state.live(request.path_params["id"])
                if ts is None:
                    if request.method == "PUT":  # an unknown id: EGroupware stores a new record
                        if not self.state.may_access(actor, owner.account_id):
                            raise HttpError(403)
                        return self._create(request, actor, owner, raw)
                    raise HttpError(404)
                if not self.state.may_access(actor, ts.owner):
                    raise HttpError(403)
                if request.method != "GET" and self.state.before_write is not None:
                    self.state.before_write(request.method, ts.id)
                    ts = self.state.live(ts.id)
                    if ts is None:
                        raise HttpError(404)
                self._preconditions(request, ts)
                if request.method == "GET":
                    if not self._wants_json(request):
                        raise HttpError(501, "Not Implemented: only the JSON REST API is emulated")
                    return self._record_response(request, ts)
                if request.method == "DELETE":
                    self.state.store(replace(ts, deleted=True, modified=self.state.write_time(),
                                             modifier=actor.account_id))
                    return Response(status_code=204)
                return self._update(request, actor, ts, raw)
        except HttpError as exc:
            return _error(exc)

    def _preconditions(self, request: Request, ts: EmuTimesheet) -> None:
        match = request.headers.get("if-match")
        if match is not None and request.method != "GET":
            if match.strip().strip('"') != ts.etag:
                body = None
                if self._prefers_representation(request):
                    body = self._record_response(request, ts, 412)
                raise HttpError(412, body=body)
        none_match = request.headers.get("if-none-match")
        if none_match is not None and request.method == "GET" and none_match.strip().strip('"') == ts.etag:
            raise HttpError(304, body=Response(status_code=304, headers={"ETag": f'"{ts.etag}"'}))

    def _update(self, request: Request, actor: EmuAccount, ts: EmuTimesheet, raw: bytes) -> Response:
        if "json" not in request.headers.get("content-type", ""):
            raise HttpError(501, "Not Implemented: only application/json bodies are emulated")
        try:
            data = jsts.parse_body(raw)
            if request.method == "PATCH":
                data = jsts.apply_patch(jsts.render(self.state, ts), data)
            fields = jsts.fields_from(self.state, data)
        except jsts.ParseError as exc:
            raise HttpError(422, str(exc)) from None
        new = replace(ts, **fields, modified=self.state.write_time(), modifier=actor.account_id)
        self.state.store(new)
        if self._prefers_representation(request):
            return self._record_response(request, new)
        return Response(status_code=204, headers={"ETag": f'"{new.etag}"'})

    async def not_found(self, request: Request) -> Response:
        try:
            self.authenticate(request)
            raise HttpError(404)
        except HttpError as exc:
            return _error(exc)


def create_app(state: EGroupwareState) -> Any:
    api = Api(state)
    routes = [
        Route(BASE_PATH + "/{user}/timesheet/", api.collection, methods=["GET", "POST"]),
        Route(BASE_PATH + "/timesheet/", api.collection, methods=["GET", "POST"]),
        Route(BASE_PATH + "/{user}/timesheet/{id:int}", api.resource, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(BASE_PATH + "/timesheet/{id:int}", api.resource, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/{rest:path}", api.not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.state.egroupware = state
    # outermost first: the recorder sees every request, faulted ones too
    return RequestRecorder(FaultInjector(app, state), state)
