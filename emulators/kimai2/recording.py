"""ASGI middleware logging every request in ``state.requests`` (``emulators.common.recording``).

Tests use the log to assert what a client actually sent (retries, page loops, bodies). It sits
outside the fault injector so that faulted requests are logged too, and a request whose reply was
deliberately lost is still recorded.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams

from emulators.common import recording as _common

from .faults import FAULT_SCOPE_KEY
from .state import RecordedRequest


class RequestRecorder(_common.RequestRecorder):
    def entry(self, scope: dict[str, Any], body: bytes, status: int | None) -> RecordedRequest:
        scope_state = scope["state"]
        return RecordedRequest(
            method=scope["method"], path=scope["path"],
            query=QueryParams(scope.get("query_string", b"")), body=_json_or_none(body), status=status,
            auth_user_id=scope_state.get("auth_user_id"), fault=scope_state.get(FAULT_SCOPE_KEY))


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
