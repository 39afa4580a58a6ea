"""An emulator of EGroupware's timesheet REST API (``groupdav.php``), for tests and demos.

Faithful to EGroupware's documentation (doc/REST-CalDAV-CardDAV/Timesheet.md) and handler: per-user
collections, Basic auth with passwords or app tokens, ETags ``"<id>:<modified>"`` and 412 on a
stale ``If-Match``, the sync-token protocol with ``nresults`` chunks and ``null`` for deletions,
``filters[...]``, JsTimesheet bodies (UTC ``start`` with ``Z``, ``duration`` in minutes,
``category`` as a one-key object, read-only ``pm_id``), JSON error bodies, and seeded faults.

* ``state``: ``EGroupwareState`` (data, clock, request log, ``Faults``)
* ``app.create_app(state)``: the ASGI app (for ``httpx.ASGITransport``/``TestClient`` or a server)
* ``server.EmulatorServer(state)``: on a real 127.0.0.1 socket in a thread; ``.url`` is the base
* ``seeds``: ``small_state()`` and ``demo_state()``
* ``python -m emulators.egroupware --demo``: a standalone server
"""
