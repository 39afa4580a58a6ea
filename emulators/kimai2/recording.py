"""ASGI middleware logging every request in ``state.requests``.

Tests use the log to assert what a client actually sent (retries, page loops, bodies). It sits
outside the fault injector so that faulted requests are logged too, and it logs in a ``finally``
so that a request whose reply was deliberately lost is still recorded. A normal reply is
logged just before its last body message is sent, so a client never sees a reply that is
not in the log yet.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams

from .faults import COMMITTED_STATUS_SCOPE_KEY, FAULT_SCOPE_KEY
from .state import KimaiState, RecordedRequest


class RequestRecorder:
    def __init__(self, app: Any, state: KimaiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status: int | None = None
        recorded = False
        scope_state = scope.setdefault("state", {})

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.state.record(RecordedRequest(
                    method=scope["method"], path=scope["path"],
                    query=QueryParams(scope.get("query_string", b"")), body=_json_or_none(body),
                    status=scope_state.get(COMMITTED_STATUS_SCOPE_KEY, status),
                    auth_user_id=scope_state.get("auth_user_id"), fault=scope_state.get(FAULT_SCOPE_KEY)))

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()  # before the last byte leaves: a client that saw the reply finds it logged
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            record()


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None
