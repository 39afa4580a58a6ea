"""One work-log writer at a time, across every process that shares the Prefect server.

The period flow (and the fallback that runs it) and the delta flow each read a work log, see it
has no Kimai timesheet yet, and create one. Two of them overlapping (a delta executed by the
receiver while serve's runner, or a worker, runs the fallback) could both create. The run queue
keeps the receiver's own runs one at a time; this keeps the others out: a Prefect global
concurrency limit of one slot, held from the reads to the last id written. Its lease expires
when its holder dies, so a crash frees it within LEASE seconds.

The limit is made when missing (first use in a process); deleting it, or raising its limit,
turns the exclusion off, and the next run makes it again.
"""

from __future__ import annotations

import contextlib
import threading

LIMIT = "kimai-sync-work-log-writes"
LEASE = 60.0  # seconds; renewed while held (Prefect renews in the background)

_ensured: set[str] = set()  # API URLs where the limit is known to exist
_lock = threading.Lock()


def _api() -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or "ephemeral"


def _limit_spec():
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    return GlobalConcurrencyLimitCreate(name=LIMIT, limit=1)


def ensure_limit() -> None:
    """Make the one-slot limit when this server does not have it yet."""
    from prefect import get_client
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    api = _api()
    with _lock:
        if api in _ensured:
            return
        with get_client(sync_client=True) as client:
            try:
                client.read_global_concurrency_limit_by_name(LIMIT)
            except ObjectNotFound:
                with contextlib.suppress(ObjectAlreadyExists):  # another process made it meanwhile
                    client.create_global_concurrency_limit(_limit_spec())
        _ensured.add(api)


async def aensure_limit() -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    api = _api()
    if api in _ensured:
        return
    async with get_client() as client:
        try:
            await client.read_global_concurrency_limit_by_name(LIMIT)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_global_concurrency_limit(_limit_spec())
    _ensured.add(api)


def _options() -> dict:
    # strict: a limit that vanished between ensure and acquire is an error, not a silent
    # run without exclusion; a failed lease renewal (the API away for a moment) does not stop
    # the writes under way: the lease has slack, and stopping halfway helps nobody.
    return dict(occupy=1, lease_duration=LEASE, strict=True, raise_on_lease_renewal_failure=False)


@contextlib.contextmanager
def exclusive_work_log_writes(enabled: bool = True):
    """Hold the one slot (waiting for it) while the block runs; `enabled=False` (a dry run) skips."""
    if not enabled:
        yield
        return
    from prefect.concurrency.sync import concurrency

    ensure_limit()
    with concurrency(LIMIT, **_options()):
        yield


@contextlib.asynccontextmanager
async def aexclusive_work_log_writes(enabled: bool = True):
    if not enabled:
        yield
        return
    from prefect.concurrency.asyncio import concurrency

    await aensure_limit()
    async with concurrency(LIMIT, **_options()):
        yield
