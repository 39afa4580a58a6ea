"""What every task shares: retries for transient failures only, decided by kimaisync.errors."""

from __future__ import annotations

from kimaisync.errors import is_retryable


def transient_only(task, task_run, state) -> bool:
    """Prefect `retry_condition_fn`: retry a task only when its error is worth retrying."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the decision is is_retryable's
        return is_retryable(exc)
    return False


READ_RETRIES = dict(retries=3, retry_delay_seconds=[1, 5, 15], retry_condition_fn=transient_only)
