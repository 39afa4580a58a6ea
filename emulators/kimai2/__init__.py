"""An emulator of the Kimai 2 REST API, for testing the sync without a Kimai server.

It reproduces the behaviour a client depends on -- authentication failures, which lists
paginate, datetime formats and timezones, the write form's rules and error bodies -- and can
inject faults (rate limits, 5xx, timeouts, replies lost after a commit) deterministically.

* ``state``: the data (``KimaiState`` and its entity dataclasses), settings and request log
* ``app.create_app(state)``: the FastAPI app, for ``TestClient`` or any ASGI server
* ``server.EmulatorServer(state)``: the app on a real 127.0.0.1 socket in a background thread
* ``seeds``: ``demo_state()`` (realistic) and ``small_state()`` (tiny, fixed ids, frozen clock)
* ``python -m emulators.kimai2 --demo``: a standalone server
"""
