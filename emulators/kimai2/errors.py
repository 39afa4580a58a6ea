"""Error responses in Kimai's production shapes.

FOSRest renders exceptions as ``{"code": <status>, "message": <reason phrase>}`` and hides the real
message outside debug mode; a few authentication failures have their own shapes, and invalid forms
render as ``Validation Failed`` with a per-field error tree.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse, Response


class ApiError(Exception):
    """Abort the request with ``status``; ``body=None`` gives Kimai's generic error body,
    ``body=b""`` an empty body."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = {"code": status, "message": HTTPStatus(status).phrase} if body is None else body
        self.headers = headers or {}

    def response(self) -> Response:
        if self.body == b"":
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def bad_request() -> ApiError:
    return ApiError(400)


def forbidden() -> ApiError:
    return ApiError(403)


def not_found() -> ApiError:
    return ApiError(404)


class ValidationFailed(ApiError):
    """An invalid form: global errors plus one entry per form field (``{}`` when the field is fine).

    The root ``errors`` list is omitted when there are no global errors, like the JMS form error
    handler does for every level of the tree.
    """

    def __init__(self, global_errors: list[str], children: dict[str, list[str]]) -> None:
        tree: dict[str, Any] = {}
        if global_errors:
            tree["errors"] = list(global_errors)
        tree["children"] = {name: ({"errors": list(msgs)} if msgs else {}) for name, msgs in children.items()}
        super().__init__(400, {"code": 400, "message": "Validation Failed", "errors": tree})
