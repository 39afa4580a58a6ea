"""The request log's ASGI plumbing: read the body once and replay it to the app, and log the request
exactly once -- just before the last byte of a normal reply leaves (so a client never sees a reply
that is not in the log yet), or in a ``finally`` (so a request whose reply was lost is logged too).
What an entry holds is each tracker's (:meth:`RequestRecorder.entry`)."""

from __future__ import annotations

from typing import Any, Callable

from .faults import COMMITTED_STATUS_SCOPE_KEY, Send


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the app the already-read body first, then the real channel."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def once(action: Callable[[], None]) -> Callable[[], None]:
    done = False

    def run() -> None:
        nonlocal done
        if not done:
            done = True
            action()

    return run


def recording_send(send: Send, record: Callable[[], None],
                   on_status: Callable[[int], None] | None = None) -> Send:
    """``send`` that calls ``record`` before the reply's last body message (and reports the status)."""

    async def watch(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and on_status is not None:
            on_status(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            record()  # before the last byte leaves: a client that saw the reply finds it logged
        await send(message)

    return watch


class RequestRecorder:
    """ASGI middleware putting one :meth:`entry` per HTTP request into ``state.record``.

    It sits outside the fault injector so faulted requests are logged too; ``status`` is the one the
    application committed when a lost-response fault destroyed the reply the client saw.
    """

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state

    def entry(self, scope: dict[str, Any], body: bytes, status: int | None) -> Any:
        raise NotImplementedError

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        scope_state = scope.setdefault("state", {})
        status: int | None = None

        def note(started: int) -> None:
            nonlocal status
            status = started

        def log() -> None:
            self.state.record(self.entry(scope, body, scope_state.get(COMMITTED_STATUS_SCOPE_KEY, status)))

        record = once(log)
        try:
            await self.app(scope, replaying(body, receive), recording_send(send, record, note))
        finally:
            record()
