"""The receiver's journal: accepted work on the local disk, from the answer until Prefect holds it.

A request is answered once its work is here (an SQLite commit, synced to disk: a few
milliseconds), not once the Prefect API has recorded it, which on a busy server takes seconds.
The run queue records it in Prefect right after, and forgets it here once its run completed, or
once Prefect holds its run for good. Whatever is still here when the process starts again (it
died in between) is taken up again: executed, and recorded in Prefect.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

FILE_NAME = "kimai-sync-receiver-journal.sqlite3"


class Journal:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit is on the disk before the answer
        # `held`: Prefect holds a run with these very parameters (a restart need not take the row up)
        self._db.execute("CREATE TABLE IF NOT EXISTS accepted (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "parameters TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, "
                         "held INTEGER NOT NULL DEFAULT 0)")

    @classmethod
    def in_prefect_home(cls) -> "Journal":
        from prefect.settings import get_current_settings

        return cls(Path(get_current_settings().home) / FILE_NAME)

    def save(self, row: int | None, name: str, parameters: dict, version: int = 0) -> int:
        """Write (or rewrite) one accepted run; its row id."""
        text = json.dumps(parameters)
        with self._lock:
            if row is None:
                return self._db.execute("INSERT INTO accepted (name, parameters, version) VALUES (?, ?, ?)",
                                        (name, text, version)).lastrowid
            self._db.execute("UPDATE accepted SET parameters = ?, version = ?, held = 0 WHERE id = ?",
                             (text, version, row))
            return row

    def held(self, row: int | None, version: int) -> None:
        """Prefect holds this version of the run (a later version written meanwhile is not)."""
        if row is not None:
            with self._lock:
                self._db.execute("UPDATE accepted SET held = 1 WHERE id = ? AND version = ?", (row, version))

    def forget(self, row: int | None) -> None:
        if row is not None:
            with self._lock:
                self._db.execute("DELETE FROM accepted WHERE id = ?", (row,))

    def pending(self) -> list[tuple[int, str, dict]]:
        """The runs Prefect may not hold yet (the others are its to run)."""
        with self._lock:
            rows = self._db.execute("SELECT id, name, parameters FROM accepted WHERE held = 0 ORDER BY id").fetchall()
        return [(row, name, json.loads(text)) for row, name, text in rows]

    def held_rows(self) -> list[int]:
        with self._lock:
            return [row for (row,) in self._db.execute("SELECT id FROM accepted WHERE held = 1")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
