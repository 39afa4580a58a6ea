"""Progress of a long run: a counted line per batch in the run's log, and a progress artifact.

The log line reaches the terminal of a CLI run (Prefect's console handler, plain lines whether
or not it is a terminal) and the run's logs in the UI; the artifact is the bar on the run's page
in the UI. Only work of more than one batch gets an artifact: a delta's few writes would pay an
API call for a bar nobody sees move.
"""

from __future__ import annotations

import logging

from tasks.artifacts import artifact_key, in_run
from tasks.compat import now

log = logging.getLogger("kimaisync.flows")


def _logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - outside a run
        return log


class Progress:
    """`advance(n)` after each batch; `key` names the artifact (lowercase, dashes)."""

    def __init__(self, what: str, total: int, *, key: str, batch: int):
        self.what, self.total, self.done = what, total, 0
        self.artifact = None
        if total > batch and in_run():
            try:
                from prefect.artifacts import create_progress_artifact

                self.artifact = now(create_progress_artifact, progress=0.0, key=artifact_key(key),
                                    description=f"{what}: {total} in all")
            except Exception as exc:  # noqa: BLE001 - a bar is a convenience; the log lines still count
                log.warning("no progress artifact: %s", exc)

    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0

    def advance(self, n: int) -> None:
        if not self.total:
            return
        self.done = min(self.total, self.done + n)
        _logger().info("%s: %d of %d (%d%%)", self.what, self.done, self.total, int(self.percent()))
        if self.artifact is not None:
            try:
                from prefect.artifacts import update_progress_artifact

                now(update_progress_artifact, artifact_id=self.artifact, progress=round(self.percent(), 1))
            except Exception as exc:  # noqa: BLE001 - as above
                log.warning("progress artifact not updated: %s", exc)
                self.artifact = None
