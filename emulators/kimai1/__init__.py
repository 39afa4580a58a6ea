"""An emulator of Kimai 1's JSON-RPC remote API (``/core/json.php``), for testing the sync.

Kimai 1 serves ``Kimai_Remote_Api`` through Zend Framework 1's ``Zend_Json_Server``: one URL, every
call a POST of ``{"jsonrpc": "2.0", "method": ..., "params": [...], "id": ...}``. The emulator
reproduces what a client depends on: the envelope (the ``id`` echoed as a string, ``jsonrpc`` only
when asked for 2.0), Zend's error objects, Kimai's ``{"success", "items", "total"}`` /
``{"success": false, "error": {"msg"}}`` results, numbers as strings (mysqli rows), unix timestamps,
``strtotime`` parsing of the times a client sends (naive times in the key user's time zone), the
rules on whose records a key may read and write, paging by ``start``/``limit`` ordered by start
descending, and seeded faults (5xx, timeouts, lost replies, 429 from a proxy, keys that stop
working).

* ``state``: the data (``Kimai1State`` and its row dataclasses), faults and the request log
* ``app.create_app(state)``: the ASGI app (for an in-process ``httpx.ASGITransport``... or uvicorn)
* ``server.EmulatorServer(state)``: the app on a real 127.0.0.1 socket in a background thread
* ``seeds``: ``demo_state()`` (realistic) and ``small_state()`` (tiny, fixed ids)
* ``python -m emulators.kimai1 --demo``: a standalone server
"""
