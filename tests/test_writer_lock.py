"""The machine's work-log writer lock (kimaisync.writer_lock): one holder, freed however it ends."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import threading

import pytest

from kimaisync.writer_lock import LOCK_NAME, one_work_log_writer, one_work_log_writer_async


def free(folder) -> bool:
    """Whether the lock can be taken right now (tried without waiting, then let go)."""
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_second_writer_waits_for_the_first_even_in_the_same_process(tmp_path):
    order: list[str] = []

    def second():
        with one_work_log_writer(tmp_path):
            order.append("second")

    with one_work_log_writer(tmp_path):
        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive() and not free(tmp_path)  # waiting while the first holds it
        order.append("first")
    t.join(10)
    assert order == ["first", "second"] and free(tmp_path)


def test_a_killed_holder_leaves_the_lock_free(tmp_path):
    code = ("import sys, time; from kimaisync.writer_lock import one_work_log_writer\n"
            f"with one_work_log_writer({str(tmp_path)!r}):\n"
            "    print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert proc.stdout.readline().strip() == "held"
        assert not free(tmp_path)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert free(tmp_path)  # the kernel let go of it with the process
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_dry_run_takes_no_lock(tmp_path):
    with one_work_log_writer(tmp_path):
        with one_work_log_writer(tmp_path, enabled=False):  # would wait for good if it tried
            pass


def test_a_coroutine_waits_without_blocking_its_loop_and_a_cancelled_wait_holds_nothing(tmp_path):
    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def take():
            async with one_work_log_writer_async(tmp_path):
                return "got it"

        tick = asyncio.create_task(ticker())
        with one_work_log_writer(tmp_path):  # another writer holds it
            waiting = asyncio.create_task(take())
            await asyncio.sleep(0.3)
            assert not waiting.done() and ticks > 5  # the loop kept running meanwhile
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert free(tmp_path)  # the cancelled wait left nothing held
        assert await take() == "got it"
        tick.cancel()

    asyncio.run(main())
