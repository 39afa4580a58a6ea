"""``InProcessTransport(app)``: an ``httpx.BaseTransport`` running the emulator in the calling thread.

httpx's own ``ASGITransport`` is async only; a sync client under test takes this instead and
needs no socket. A reply the fault injector drops half-way surfaces as ``httpx.RemoteProtocolError``
(what a dropped connection gives over a socket); a stalled reply (the timeout fault) as
``httpx.ReadTimeout`` after the fault's delay is cut to the request's read timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .faults import ResponseLost


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return asyncio.run(self._handle(request))

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        timeout = (request.extensions.get("timeout") or {}).get("read") or 30.0
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "scheme": request.url.scheme, "path": request.url.path, "raw_path": request.url.raw_path,
            "query_string": request.url.query, "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 50000), "server": (request.url.host, request.url.port or 80),
        }
        sent = False
        gone = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        status, headers, chunks, complete = 500, [], [], False

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers, complete
            if message["type"] == "http.response.start":
                status, headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)

        try:
            await asyncio.wait_for(self.app(scope, receive, send), timeout)
        except ResponseLost as exc:
            raise httpx.RemoteProtocolError(f"peer closed connection without sending complete message body: {exc}",
                                            request=request) from None
        except asyncio.TimeoutError:
            gone.set()
            raise httpx.ReadTimeout("timed out", request=request) from None
        if not complete:
            raise httpx.RemoteProtocolError("incomplete reply", request=request)
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)
