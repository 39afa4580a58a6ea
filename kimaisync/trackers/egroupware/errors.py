"""EGroupware's failures as the project's error types (kimaisync.errors), with the three it adds.

The statuses map once, in ``client._error``: 401 -> auth (a person must fix the credentials), 403
-> permission (a missing grant or app right), 404 -> not found, 400/422 -> the record was refused
(EGroupware's message kept), 412 -> ``EGroupwareConflict``, 429/5xx/timeouts/dropped connections ->
transient (retried). ``is_retryable`` decides by type, so these subclasses inherit the right answer.
"""

from __future__ import annotations

from typing import Any

from kimaisync.errors import KimaiError, KimaiProtocolError


class EGroupwareConflict(KimaiError):
    """412: the record changed since we read it (someone edited it in EGroupware). Not retryable
    as is: re-read, re-plan, and report if still in conflict. ``current`` is the record as
    EGroupware has it now, when it sent it along (``Prefer: return=representation``)."""

    status = 412

    def __init__(self, message: str, current: Any = None, **kw: Any) -> None:
        self.current = current
        super().__init__(message, status=412, **kw)


class SyncTokenRejected(KimaiError):
    """The server no longer accepts a sync-token (purged history, another server, garbage): the
    caller falls back to a full read."""


class UnexpectedAnswer(KimaiProtocolError):
    """A 2xx whose body or headers we cannot use (no Location after a create, a wrong shape)."""
