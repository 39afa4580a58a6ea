"""ASGI middleware logging every request in ``state.requests`` (outside the fault injector, so
faulted requests are logged too; in a ``finally``, so a request whose reply was lost is too).

Tests use the log to check what a client really sent: which way it authenticated, the form it
posted, how it paged. The ``token`` parameter is blanked in the log; the header is not kept.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from emulators.common import recording as _common
from emulators.common.faults import FAULT_SCOPE_KEY

from .state import RecordedRequest


def _form(body: bytes, content_type: str) -> dict[str, str]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _blank_token(fields: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k == "token" else v) for k, v in fields.items()}


class RequestRecorder(_common.RequestRecorder):
    def entry(self, scope: dict[str, Any], body: bytes, status: int | None) -> RecordedRequest:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        scope_state = scope["state"]
        return RecordedRequest(
            method=scope["method"], path=scope["path"],
            query=_blank_token(dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                              keep_blank_values=True))),
            form=_blank_token(_form(body, headers.get("content-type", ""))),
            auth=scope_state.get("auth_way"), user=scope_state.get("auth_user"), status=status,
            fault=scope_state.get(FAULT_SCOPE_KEY))
