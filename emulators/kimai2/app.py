"""The FastAPI application emulating Kimai's ``/api``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from .auth import Authenticator
from .errors import ApiError
from .faults import FaultInjector
from .recording import RequestRecorder
from .routes import catalog, status, tags, timesheets, users
from .state import KimaiState


def create_app(state: KimaiState) -> FastAPI:
    """An app serving ``state``; mutate the state (data, config, faults) at any time."""
    app = FastAPI(title="Kimai emulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.kimai = state
    auth = Authenticator(state)
    for module in (timesheets, status, users, catalog, tags):  # the busiest first: routes match in order
        app.include_router(module.router(state, auth), prefix="/api")

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> Response:
        return error.response()

    @app.exception_handler(HTTPException)
    async def routing_error(_request: Request, error: HTTPException) -> Response:
        """Unknown routes and wrong methods, in Kimai's error shape."""
        return ApiError(error.status_code).response()

    # Added last = outermost: the recorder sees every request, including faulted ones.
    app.add_middleware(FaultInjector, state=state)
    app.add_middleware(RequestRecorder, state=state)
    return app
