"""The ASGI app: ``/core/json.php`` as Zend_Json_Server serves ``Kimai_Remote_Api``.

Zend's envelope rules reproduced here (ZF 1.12 ``Zend_Json_Server``):

* The request's ``id`` is echoed as a string (``1`` -> ``"1"``); a request without ``id`` is a
  notification: ``204 No Content``, empty body (the call is still carried out).
* ``"jsonrpc": "2.0"`` in the request puts ``"jsonrpc": "2.0"`` in the answer; else it is left out.
* Zend's own faults are ``{"error": {"code", "message", "data": null}, "id"}`` with HTTP 200:
  ``-32600 Invalid Request`` (no or malformed method), ``-32601 Method not found``.
* Missing positional parameters get the method's defaults (null for required ones); named
  parameters are put in order, a missing required one is an uncaught exception.
* Uncaught PHP errors (a body that is not JSON, a record that is not an object) answer 500 with
  PHP's HTML error text; a deactivated user's key gets 200 text/html (Kimai's "kick" script).
* ``GET`` answers the service map (SMD).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from emulators.common.faults import LOST_RESPONSE, RATE_LIMIT, SERVER_ERROR, TIMEOUT, proxy_page, send_half, stall
from emulators.common.recording import once, read_body, recording_send

from . import api
from .faults import KEY_EXPIRED, ResponseLost
from .state import Kimai1State, RecordedCall

PATH = "/core/json.php"
_JSON = "application/json"
_HTML = "text/html; charset=UTF-8"
_METHOD_RE = re.compile(r"^[a-z][a-z0-9_.]*$", re.IGNORECASE)

Reply = tuple[int, str, bytes, dict[str, Any]]  # status, content type, body, what to log


def _json_reply(payload: Any, status: int = 200) -> tuple[int, str, bytes]:
    return status, _JSON, json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def _php_fatal(message: str) -> tuple[int, str, bytes]:
    text = f"<br />\n<b>Fatal error</b>:  {message} in /var/www/kimai/core/json.php on line 64<br />\n"
    return 500, _HTML, text.encode()


def _zend_id(raw: Any) -> str:
    """``(string) $id`` in PHP."""
    if raw is None or raw is False:
        return ""
    if raw is True:
        return "1"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, (list, dict)):
        return "Array"
    return str(raw)


def handle_rpc(state: Kimai1State, body: bytes) -> Reply:
    """One POST body -> the reply, as Zend_Json_Server + Kimai_Remote_Api produce it."""
    meta: dict[str, Any] = {}
    try:
        request = json.loads(body) if body.strip() else {}
    except ValueError:
        return (*_php_fatal("Uncaught Zend_Json_Exception: Decoding failed: Syntax error"), meta)
    if not isinstance(request, (dict, list)):
        return (*_php_fatal("Uncaught TypeError: Zend_Json_Server_Request::setOptions(): Argument #1 "
                            "($options) must be of type array"), meta)
    if isinstance(request, list):
        request = {}  # a batch: Zend finds no method in it
    version2 = request.get("jsonrpc") == "2.0"
    rpc_id = _zend_id(request["id"]) if "id" in request else None
    params = request.get("params", [])
    if "params" in request and not isinstance(params, (list, dict)):
        return (*_php_fatal("Uncaught TypeError: Zend_Json_Server_Request::setParams(): Argument #1 "
                            "($params) must be of type array"), meta)
    name = request.get("method")
    result: Any = None
    error: dict[str, Any] | None = None
    if not isinstance(name, str) or not _METHOD_RE.match(name):
        error = {"code": -32600, "message": "Invalid Request", "data": None}
    elif name not in api.METHODS:
        error = {"code": -32601, "message": "Method not found", "data": None}
    else:
        method = api.METHODS[name]
        if isinstance(params, dict) and params and all(isinstance(k, str) for k in params):
            ordered = []
            for pname, optional, _default in method.params:
                if pname in params and params[pname] is not None:
                    ordered.append(params[pname])
                elif optional:
                    ordered.append(None)
                else:
                    return (*_php_fatal(f"Uncaught Zend_Server_Exception: Missing required parameter: {pname}"),
                            meta)
            args = ordered
        else:
            args = list(params.values()) if isinstance(params, dict) else list(params)
            for _pname, _optional, default in method.params[len(args):]:
                args.append(default)
        meta["user"] = _caller(state, name, args)
        try:
            result = method.fn(state, *args[:len(method.params)])
        except api.PhpFatal as exc:
            return (*_php_fatal(f"Uncaught TypeError: {exc}"), meta)
        except api.Kicked:
            page = "<script type='text/javascript'>window.location.href = '../index.php?a=logout';</script>"
            return 200, _HTML, page.encode(), meta
        except api.ZendFault as exc:
            error = {"code": exc.code, "message": str(exc), "data": None}
        if isinstance(result, dict) and "success" in result:
            meta["success"] = result["success"]
            if not result["success"]:
                meta["error"] = result["error"]["msg"]
    if error is None and rpc_id is None:
        return 204, _JSON, b"", meta
    envelope: dict[str, Any] = {"error": error} if error is not None else {"result": result}
    envelope["id"] = rpc_id
    if version2:
        envelope["jsonrpc"] = "2.0"
    if error is not None:
        meta["error"] = f"{error['code']} {error['message']}"
    return (*_json_reply(envelope), meta)


def _caller(state: Kimai1State, name: str, args: list) -> str | None:
    if name == "authenticate":
        return args[0] if args and isinstance(args[0], str) else None
    if not api.METHODS[name].params:
        return None
    user = state.user_by_key(args[0] if args else None)
    return user.name if user else None


def service_map(host: str) -> dict[str, Any]:
    services = {}
    for name, method in api.METHODS.items():
        services[name] = {
            "envelope": "JSON-RPC-2.0", "transport": "POST", "name": name,
            "parameters": [{"type": "any", "name": p, "optional": opt, **({"default": d} if d is not None else {})}
                           for p, opt, d in method.params],
            "returns": method.returns,
        }
    return {"transport": "POST", "envelope": "JSON-RPC-2.0", "contentType": _JSON, "SMDVersion": "2.0",
            "target": f"http://{host}{PATH}", "services": services, "methods": services}


def _peek(body: bytes) -> tuple[str | None, Any, Any]:
    try:
        request = json.loads(body)
    except ValueError:
        return None, None, None
    if not isinstance(request, dict):
        return None, None, None
    method = request.get("method") if isinstance(request.get("method"), str) else None
    return method, request.get("params"), request.get("id")


class Kimai1App:
    """ASGI app: the request log, then the fault injector, then the JSON-RPC server."""

    def __init__(self, state: Kimai1State) -> None:
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        method, path = scope["method"], scope["path"]
        rpc_method, params, rpc_id = _peek(body) if method != "GET" else (None, None, None)
        call = RecordedCall(http_method=method, path=path, rpc_method=rpc_method,
                            params=params, rpc_id=rpc_id)
        record = once(lambda: self.state.record(call))
        try:
            await self._serve(scope, receive, recording_send(send, record), body, call)
        finally:
            record()

    async def _serve(self, scope, receive, send, body: bytes, call: RecordedCall) -> None:
        state = self.state
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        if call.path != PATH:
            page = b"<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head><title>404 Not Found</title>" \
                   b"</head><body><h1>Not Found</h1></body></html>\n"
            call.status = 404
            await _send(send, 404, _HTML, page)
            return
        if call.http_method == "GET":
            host = dict(scope.get("headers") or []).get(b"host", b"localhost").decode()
            status, ctype, payload = _json_reply(service_map(host))
            call.status = status
            await _send(send, status, ctype, payload)
            return
        with state.lock:
            faults = state.faults
            matches = faults.applies_to(call.rpc_method) and not faults.passes_untouched()
            decision = faults.decide() if matches else None
            if decision:
                call.fault = decision[0]
                state.fault_log.append((call.rpc_method or "", decision[0]))
        latency = faults.latency if matches else 0.0

        async def hold() -> None:
            wait = arrived + latency - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)

        kind = decision[0] if decision else None
        if kind == KEY_EXPIRED:
            with state.lock:
                user = state.user_by_key(call.params[0] if isinstance(call.params, list) and call.params else None)
                if user is not None:
                    user.apikey = None
            kind = None
        if kind == RATE_LIMIT:
            await hold()
            call.status = 429
            page = b"<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1></body></html>"
            await _send(send, 429, _HTML, page, [(b"retry-after", str(faults.retry_after).encode())])
            return
        if kind == SERVER_ERROR:
            await hold()
            status = decision[1]
            call.status = status
            if status == 500:
                _s, ctype, payload = _php_fatal("Uncaught mysqli_sql_exception: MySQL server has gone away")
            else:
                ctype, payload = _HTML, proxy_page(status, numbered_heading=False)
            await _send(send, status, ctype, payload)
            return
        if kind == TIMEOUT:
            call.status = 504
            await stall(receive, faults.timeout_delay,
                        lambda: _send(send, 504, _HTML, b"<html><body><h1>504 Gateway Time-out</h1></body></html>"))
            return
        status, ctype, payload, meta = handle_rpc(state, body)
        call.user, call.success, call.error = meta.get("user"), meta.get("success"), meta.get("error")
        call.status = status
        await hold()
        if kind == LOST_RESPONSE:
            await send_half(send, status, [(b"content-type", ctype.encode())], payload)
            raise ResponseLost(f"{call.rpc_method}: reply dropped after commit")
        await _send(send, status, ctype, payload)


async def _send(send: Any, status: int, ctype: str, payload: bytes,
                extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-length", str(len(payload)).encode()), (b"access-control-allow-origin", b"*")]
    if status != 204:
        headers.append((b"content-type", ctype.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": payload})


def create_app(state: Kimai1State) -> Kimai1App:
    return Kimai1App(state)
