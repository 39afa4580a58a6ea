"""One work-log writer at a time on this machine: an OS file lock the kernel frees when its holder dies.

A period run (the fallback, which `serve` runs in a subprocess on its schedule), a timesheet lock
(which syncs the month first) and a delta run (executed in the receiver's process) each read a
work log, see it has no Kimai timesheet yet and create one: overlapping, both could create. Holding this lock from their reads to their last
write keeps them apart. It is an flock(2) on a file in a folder both processes share (Prefect's
home): held per open file, so two threads of one process exclude each other too, and released by
the kernel when the process ends however it ends, so a killed run never blocks the next one.
Processes on other machines (workers of a scaled-out engine) do not see it: with
WRITER_LOCK_DATABASE_URL set, every writer takes a PostgreSQL advisory lock instead
(kimaisync.pg_lock, docs/scale-out.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path

from kimaisync.pg_lock import held_across_machines, held_across_machines_async

LOCK_NAME = "kimai-sync-work-log-writes.lock"


POLL = 0.05  # seconds between tries of a coroutine waiting for the lock


def _open(folder: str | os.PathLike) -> int:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)


def _acquire(folder: str | os.PathLike) -> int:
    fd = _open(folder)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits while another run holds it
    except BaseException:
        os.close(fd)
        raise
    return fd


def _release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def one_work_log_writer(folder: str | os.PathLike, *, database_url: str | None = None, enabled: bool = True):
    """Hold the work-log writer lock while the block runs (waiting for it): the machine's, or the
    one in the PostgreSQL database at `database_url`; a no-op when not `enabled` (a dry run writes
    nothing)."""
    if not enabled:
        yield
        return
    if database_url:
        with held_across_machines(database_url):
            yield
        return
    fd = _acquire(folder)
    try:
        yield
    finally:
        _release(fd)


@contextlib.asynccontextmanager
async def one_work_log_writer_async(folder: str | os.PathLike, *, database_url: str | None = None,
                                    enabled: bool = True):
    """The same for a coroutine: it waits without blocking the event loop (the machine's lock is
    tried every POLL seconds), and a cancelled wait leaves nothing held."""
    if not enabled:
        yield
        return
    if database_url:
        async with held_across_machines_async(database_url):
            yield
        return
    fd = _open(folder)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(POLL)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield
    finally:
        _release(fd)
