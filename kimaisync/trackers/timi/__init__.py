"""Timi (timiapp.com), a hosted Dutch time tracker, as a sync target.

Facts from Timi's API document (seed ``003``): personal API tokens (a person's e-mail + token),
entries of a date and a duration in seconds (no clock times), no delete, form-encoded writes, a
per-minute request budget, Timi's text recognition of ``body``. The mapping is in
``docs/trackers/timi.md``.

* ``client.TimiClient``: one person's HTTP client (httpx)
* ``models``: the records as pydantic models
* ``credentials.load_credentials``: the ``TIMI_CREDENTIALS_FILE`` (e-mail -> token)
"""

from kimaisync.trackers.timi.client import DEFAULT_ENDPOINT, TimiClient
from kimaisync.trackers.timi.credentials import TimiCredentials, load_credentials
from kimaisync.trackers.timi.models import TimiClientRecord, TimiEntry, TimiEntryWrite, TimiProject, TimiService

__all__ = ["DEFAULT_ENDPOINT", "TimiClient", "TimiClientRecord", "TimiCredentials", "TimiEntry", "TimiEntryWrite",
           "TimiProject", "TimiService", "load_credentials"]
