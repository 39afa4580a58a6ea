"""The work-log writer lock across machines (kimaisync.pg_lock): a PostgreSQL advisory lock with
the machine lock's promises: one holder, the others wait, freed however the holder ends, a
cancelled wait holds nothing; an unreachable database is a clear error without its password."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from kimaisync.errors import WriterLockUnavailable, is_retryable
from kimaisync.pg_lock import LOCK_KEY
from kimaisync.triplestores import free_port
from kimaisync.writer_lock import one_work_log_writer, one_work_log_writer_async

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free(url: str) -> bool:
    """Whether another session could take the lock right now (tried without waiting, then let go)."""
    import asyncpg

    async def probe() -> bool:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=10)
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
            if got:
                await conn.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            return got
        finally:
            await conn.close()

    return asyncio.run(probe())


def holder(url: str) -> subprocess.Popen:
    """Another process (another machine, as far as the lock can tell) holding the lock until killed."""
    code = ("import sys, time; from kimaisync.writer_lock import one_work_log_writer\n"
            f"with one_work_log_writer('/nonexistent', database_url={url!r}):\n"
            "    print('held', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_writer_waits_while_another_process_holds_it_and_a_killed_holder_frees_it(postgres, tmp_path):
    proc = holder(postgres.url)
    try:
        assert not free(postgres.url)
        got = threading.Event()

        def second():
            with one_work_log_writer(tmp_path, database_url=postgres.url):
                got.set()

        t = threading.Thread(target=second)
        t.start()
        assert not got.wait(1.0)  # waiting: the other process holds it
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert got.wait(10)  # the server let go with the dead process's connection
        t.join(10)
        assert free(postgres.url)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_database_lock_is_not_the_machine_lock(postgres, tmp_path):
    """Configured, it is the one lock taken: the machine's file lock stays free for nobody to wait on."""
    with one_work_log_writer(tmp_path, database_url=postgres.url):
        assert not free(postgres.url)
        with one_work_log_writer(tmp_path):  # the machine lock: free, so this does not wait
            pass
    assert free(postgres.url)


def test_a_dry_run_takes_no_lock(postgres, tmp_path):
    with one_work_log_writer(tmp_path, database_url=postgres.url):
        with one_work_log_writer(tmp_path, database_url=postgres.url, enabled=False):  # would wait for good
            pass


def test_a_coroutine_waits_without_blocking_its_loop_and_a_cancelled_wait_holds_nothing(postgres, tmp_path):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def take():
            async with one_work_log_writer_async(tmp_path, database_url=postgres.url):
                return "got it"

        tick = asyncio.create_task(ticker())
        proc = holder(postgres.url)
        try:
            waiting = asyncio.create_task(take())
            await asyncio.sleep(0.5)
            assert not waiting.done() and ticks > 10  # the loop kept running meanwhile
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        finally:
            proc.kill()
            proc.wait(10)
        await asyncio.sleep(0.2)
        assert await asyncio.to_thread(free, postgres.url)  # the cancelled wait left nothing held
        assert await take() == "got it"
        tick.cancel()

    asyncio.run(main())


def test_an_unreachable_database_is_a_clear_retryable_error_without_its_password(tmp_path):
    url = f"postgresql://kimai_sync:s3cret-pw@127.0.0.1:{free_port()}/prefect"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(WriterLockUnavailable) as err:
        with one_work_log_writer(tmp_path, database_url=url):
            pytest.fail("ran without the lock")
    message = str(err.value)
    assert "127.0.0.1" in message and "/prefect" in message and "WRITER_LOCK_DATABASE_URL" in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in repr(err.value)
    assert is_retryable(err.value) and time.monotonic() - started < 15

    async def take():
        async with one_work_log_writer_async(tmp_path, database_url=url):
            pytest.fail("ran without the lock")

    with pytest.raises(WriterLockUnavailable):
        asyncio.run(take())
