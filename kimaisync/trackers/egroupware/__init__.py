"""EGroupware as a sync target: its timesheet REST API (``groupdav.php``).

* ``client.EGroupwareClient``: Basic auth (password or app token), collections per person,
  sync-token reads, ETag-guarded writes, errors as the project's types
* ``models``: ``EgwTimesheet`` (what EGroupware sends) and ``TimesheetWrite`` (what we send)
* ``errors``: ``EGroupwareConflict`` (412), ``SyncTokenRejected``, ``UnexpectedAnswer``

The mapping from Timekeeper is described in docs/trackers/egroupware.md.
"""

from kimaisync.trackers.egroupware.client import Changes, EGroupwareClient
from kimaisync.trackers.egroupware.errors import EGroupwareConflict, SyncTokenRejected, UnexpectedAnswer
from kimaisync.trackers.egroupware.models import EgwTimesheet, TimesheetWrite, format_utc

__all__ = ["Changes", "EGroupwareClient", "EGroupwareConflict", "EgwTimesheet", "SyncTokenRejected",
           "TimesheetWrite", "UnexpectedAnswer", "format_utc"]
