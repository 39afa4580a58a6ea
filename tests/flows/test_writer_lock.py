"""The work-log writer lock (kimaisync.writer_lock), both kinds: the machine's (an flock in a folder)
and the one across machines (a PostgreSQL advisory lock, WRITER_LOCK_DATABASE_URL). Each keeps the
same promises: one holder, the others wait, freed however the holder ends, a cancelled wait holds
nothing, a dry run takes none. The database one also fails clearly, without its password, when the
database cannot be reached."""

from __future__ import annotations

import asyncio
import fcntl
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
from kimaisync.writer_lock import LOCK_NAME, one_work_log_writer, one_work_log_writer_async

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Lock:
    """One kind of the lock: how to take it here, whether it is free, a process holding it."""

    def __init__(self, folder, url: str | None):
        self.folder, self.url = folder, url

    def writer(self, **kw):
        return one_work_log_writer(self.folder, database_url=self.url, **kw)

    def writer_async(self):
        return one_work_log_writer_async(self.folder, database_url=self.url)

    def free(self) -> bool:
        """Whether another holder could take it right now (tried without waiting, then let go)."""
        return free_in_database(self.url) if self.url else free_on_machine(self.folder)

    def waiters(self) -> int:
        """How many writers wait for it in a blocking take right now, as the kernel or the database
        lists them."""
        return waiting_in_database(self.url) if self.url else waiting_on_machine(self.folder)

    def await_a_waiter(self, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while not self.waiters():
            assert time.monotonic() < deadline, "no writer came to wait for the lock"
            time.sleep(0.02)

    def holder(self) -> subprocess.Popen:
        """Another process (another machine, for the database lock) holding it until killed."""
        code = ("import sys, time; from kimaisync.writer_lock import one_work_log_writer\n"
                f"with one_work_log_writer({str(self.folder)!r}, database_url={self.url!r}):\n"
                "    print('held', flush=True); time.sleep(120)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert proc.stdout.readline().strip() == "held"
        return proc


def free_on_machine(folder) -> bool:
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def waiting_on_machine(folder) -> int:
    """Blocked flock(2) calls on the lock's file: /proc/locks lists each as a "->" line under the
    holder's, with the file's device:inode."""
    inode = os.stat(folder / LOCK_NAME).st_ino
    with open("/proc/locks") as listed:
        rows = [line.split() for line in listed]
    return sum(1 for r in rows if "->" in r and r[r.index("->") + 1] == "FLOCK"
               and r[r.index("->") + 5].rsplit(":", 1)[-1] == str(inode))


def waiting_in_database(url: str) -> int:
    """Sessions waiting for the advisory lock: pg_locks lists a bigint key as its high and low
    32 bits (classid, objid), not granted while waiting."""
    import asyncpg

    high, low = (LOCK_KEY >> 32) & 0xFFFFFFFF, LOCK_KEY & 0xFFFFFFFF

    async def probe() -> int:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=10)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND classid::text::bigint = $1 AND objid::text::bigint = $2 AND objsubid = 1", high, low)
        finally:
            await conn.close()

    return asyncio.run(probe())


def free_in_database(url: str) -> bool:
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


@pytest.fixture(params=["machine", "postgresql"])
def lock(request, tmp_path) -> Lock:
    return Lock(tmp_path, request.getfixturevalue("postgres").url if request.param == "postgresql" else None)


def test_a_second_writer_waits_for_the_first_even_in_the_same_process(lock):
    order: list[str] = []

    def second():
        with lock.writer():
            order.append("second")

    with lock.writer():
        t = threading.Thread(target=second)
        t.start()
        lock.await_a_waiter()
        assert t.is_alive() and order == [] and not lock.free()  # waiting while the first holds it
        order.append("first")
    t.join(10)
    assert order == ["first", "second"] and lock.free()


def test_a_writer_waits_while_another_process_holds_it_and_a_killed_holder_frees_it(lock):
    proc = lock.holder()
    try:
        assert not lock.free()
        got = threading.Event()

        def second():
            with lock.writer():
                got.set()

        t = threading.Thread(target=second)
        t.start()
        lock.await_a_waiter()
        assert not got.is_set()  # waiting: the other process holds it
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert got.wait(10)  # let go with the dead process (the kernel's file, the server's connection)
        t.join(10)
        assert lock.free()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_dry_run_takes_no_lock(lock):
    with lock.writer():
        with lock.writer(enabled=False):  # would wait for good if it tried
            pass


def test_a_coroutine_waits_without_blocking_its_loop_and_a_cancelled_wait_holds_nothing(lock):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def take():
            async with lock.writer_async():
                return "got it"

        tick = asyncio.create_task(ticker())
        proc = lock.holder()
        try:
            waiting = asyncio.create_task(take())
            # The loop keeps running while the holder keeps the wait from completing. The machine's
            # lock is tried in turns, with nothing to see between tries; the database lists the wait.
            deadline, start = time.monotonic() + 10, ticks
            seen = lock.url is None
            while ticks < start + 10 or not seen:
                assert not waiting.done() and time.monotonic() < deadline, (ticks - start, seen)
                seen = seen or await asyncio.to_thread(lock.waiters) > 0
                await asyncio.sleep(0.01)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        finally:
            proc.kill()
            proc.wait(10)
        deadline = time.monotonic() + 10  # the killed holder's hold ends with its process
        while not await asyncio.to_thread(lock.free):
            assert time.monotonic() < deadline, "the lock stayed held after the holder died and the wait was cancelled"
            await asyncio.sleep(0.05)
        assert await take() == "got it"
        tick.cancel()

    asyncio.run(main())


def test_the_database_lock_is_taken_instead_of_the_machines(postgres, tmp_path):
    with one_work_log_writer(tmp_path, database_url=postgres.url):
        assert not free_in_database(postgres.url) and free_on_machine(tmp_path)
    assert free_in_database(postgres.url)


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
