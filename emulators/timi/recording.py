"""ASGI middleware logging every request in ``state.requests`` (outside the fault injector, so
faulted requests are logged too; in a ``finally``, so a request whose reply was lost is too).

Tests use the log to check what a client really sent: which way it authenticated, the form it
posted, how it paged. The ``token`` parameter is blanked in the log; the header is not kept.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from emulators.kimai2.faults import COMMITTED_STATUS_SCOPE_KEY, FAULT_SCOPE_KEY

from .state import RecordedRequest, TimiState


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


class RequestRecorder:
    def __init__(self, app: Any, state: TimiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status: int | None = None
        recorded = False
        scope_state = scope.setdefault("state", {})

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self.state.record(RecordedRequest(
                method=scope["method"], path=scope["path"],
                query=_blank_token(dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                                  keep_blank_values=True))),
                form=_blank_token(_form(body, headers.get("content-type", ""))),
                auth=scope_state.get("auth_way"), user=scope_state.get("auth_user"),
                status=scope_state.get(COMMITTED_STATUS_SCOPE_KEY, status),
                fault=scope_state.get(FAULT_SCOPE_KEY)))

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            record()
