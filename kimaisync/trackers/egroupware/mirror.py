"""A person's EGroupware collection as of a sync-token, kept in a file between runs.

The fallback run reads each linked person's collection. With the collection as it was at a
sync-token and the changes EGroupware reports since that token, the collection of now is known
without reading it whole: so the pair (token, records) is kept, one file per person, under
EGROUPWARE_MIRROR_DIR. The pair is consistent whenever it is written (the records are exactly the
collection at the token), so it may be saved right after a read, and other machines' writes in
between show up as changes since the token. It is a cache: a missing, unreadable or refused one
(a token EGroupware no longer accepts) costs one full read, nothing else; a machine of a scale-out
without the file reads whole. Not in a Prefect variable: 5,000 characters hold a token, not a
collection, and a token alone cannot rebuild a window. Files are written whole (a temporary file
renamed) and readable by their owner only: they hold titles and descriptions, no secret.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from kimaisync.trackers.egroupware.models import EgwTimesheet

log = logging.getLogger("kimaisync.egroupware")
VERSION = 1


class MirrorFiles:
    """The mirrors of one EGroupware (`base_url`) in `directory`, one file per username."""

    def __init__(self, directory: Path | str, base_url: str) -> None:
        self.directory = Path(directory) / hashlib.sha1(base_url.encode()).hexdigest()[:16]

    def _path(self, username: str) -> Path:
        return self.directory / (hashlib.sha1(username.encode()).hexdigest()[:24] + ".json")

    def load(self, username: str) -> tuple[str, dict[int, EgwTimesheet]] | None:
        path = self._path(username)
        try:
            data = json.loads(path.read_text())
            if data.get("version") != VERSION or data.get("username") != username or not data.get("token"):
                return None
            records = [EgwTimesheet.model_validate(r) for r in data["records"]]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            log.info("%s: the kept collection cannot be read (%s); reading it whole", username, type(exc).__name__)
            return None
        return data["token"], {r.id: r for r in records}

    def save(self, username: str, token: str, records: dict[int, EgwTimesheet]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = json.dumps({"version": VERSION, "username": username, "token": token,
                           "records": [r.model_dump(mode="json", by_alias=True) for r in records.values()]})
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".mirror-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(body)
            os.replace(tmp, self._path(username))
        except OSError as exc:  # a cache that cannot be written costs the next run a full read
            log.info("%s: cannot keep the collection (%s)", username, exc)
            Path(tmp).unlink(missing_ok=True)
