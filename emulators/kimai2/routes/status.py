"""``/api/ping``, ``/api/version`` and ``/api/config/timesheet`` (authenticated like every API call)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from .. import serialize
from ..auth import Authenticator
from ..state import KimaiState
from . import ok


def router(state: KimaiState, auth: Authenticator) -> APIRouter:
    routes = APIRouter(dependencies=[Depends(auth)])

    @routes.get("/ping")
    async def ping() -> JSONResponse:
        return ok({"message": "pong"})

    @routes.get("/version")
    async def version() -> JSONResponse:
        return ok(serialize.version(state.config))

    @routes.get("/config/timesheet")
    async def timesheet_config() -> JSONResponse:
        return ok(serialize.timesheet_config(state.config))

    return routes
