"""An emulator of the Timi REST API (``/api/v1``), for testing the sync without the hosted service.

Faithful to Timi's API document (seed ``003``, Dutch): three ways to authenticate (``X-Api-Key:
email:token``, HTTP Basic, ``email``/``token`` parameters), 401 ``{"message":"unauthorized"}``, a
per-minute request budget answered with 429 ``{"message":"rate limit exceeded"}``, clients,
projects and services, time entries paged by 100 with their filters, form-encoded writes, Timi's
text recognition in ``body`` and ``{"errors": {...}}`` bodies. A token sees and writes only its own
time entries. Faults (5xx, timeouts, lost replies, bursts of 429) come from the same ``Faults`` as
the Kimai 2 emulator's, so a fault campaign drives both alike.

* ``state``: the data (``TimiState``), the rate budget, the request log
* ``app.create_app(state)``: the FastAPI app (for ``TestClient``)
* ``server.TimiServer(state)``: the app on 127.0.0.1 in a background thread
* ``seeds``: ``small_state()`` (tiny, fixed ids) and ``demo_state()``
* ``python -m emulators.timi --demo``: a standalone server
"""
