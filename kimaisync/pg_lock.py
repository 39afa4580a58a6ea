"""One work-log writer at a time across machines: a PostgreSQL advisory lock, freed with its holder's connection.

The machine lock (an flock, kimaisync.writer_lock) is not seen by workers on other machines. A
session-level advisory lock in a PostgreSQL database that every writer reaches has the same
shape: one holder, the others wait in the server, and the server lets go when the holder's
connection ends: at once for a process that died, after the TCP keepalive probes set for the
session fail (about 45 s) for a machine that vanished. The lock touches no table, so the
database of a scaled-out Prefect server does (docs/scale-out.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from urllib.parse import urlsplit

from kimaisync.errors import WriterLockUnavailable

log = logging.getLogger("kimaisync.writer_lock")

# one lock for every kimai-sync that shares the database (a constant, so machines agree on it)
LOCK_KEY = int.from_bytes(hashlib.sha256(b"kimai-sync work-log writes").digest()[:8], "big", signed=True)
CONNECT_TIMEOUT = 10.0
SESSION = {"application_name": "kimai-sync work-log writer",
           # the server drops (and unlocks) a connection whose machine went silent: 15 + 3 x 10 s
           "tcp_keepalives_idle": "15", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}


def plain_dsn(url: str) -> str:
    """The URL as the driver takes it: Prefect's form (postgresql+asyncpg://) works too."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.split("+", 1)[0].lower() in ("postgresql", "postgres") else url


def where(dsn: str) -> str:
    """host:port/database of a PostgreSQL URL: what messages show (never the user's password)."""
    parts = urlsplit(dsn)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def _password(dsn: str) -> str | None:
    return urlsplit(dsn).password


async def _connection(dsn: str):
    import asyncpg  # Prefect's own dependency; loaded only where the lock is configured

    try:
        conn = await asyncpg.connect(plain_dsn(dsn), timeout=CONNECT_TIMEOUT, server_settings=SESSION)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        secret = _password(dsn)
        if secret:
            detail = detail.replace(secret, "***")
        raise WriterLockUnavailable(
            f"the work-log writer lock's database {where(dsn)} cannot be used ({detail}); nothing was "
            f"written. Check WRITER_LOCK_DATABASE_URL (postgresql://user:password@host:5432/database) and that "
            f"the database accepts connections from this machine") from None
    return conn


async def _locked_connection(dsn: str):
    """A connection holding the lock, once it is ours (waits while another holds it)."""
    conn = await _connection(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    except BaseException:  # cancelled while waiting, or the server went away: nothing stays held
        conn.terminate()
        raise
    return conn


async def _unlock(conn, dsn: str) -> None:
    try:
        released = await conn.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close(timeout=5)
    except Exception as exc:  # noqa: BLE001 - the writes are done; say what it means and go on
        conn.terminate()
        released, why = False, f"{type(exc).__name__}"
    else:
        why = "the server no longer had it"
    if not released:
        log.warning("the work-log writer lock in %s was lost while held (%s): another run may have written "
                    "at the same time; a timesheet created twice is removed by the next sync of its day",
                    where(dsn), why)


def probe(dsn: str) -> bool:
    """Whether the lock is free right now (taken and let go at once if so); WriterLockUnavailable
    when the database cannot be used. For `kimai-sync check`, outside any event loop."""

    async def attempt() -> bool:
        conn = await _connection(dsn)
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY)
            if got:
                await conn.fetchval("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            return bool(got)
        finally:
            conn.terminate()

    return asyncio.run(attempt())


@contextlib.asynccontextmanager
async def held_across_machines_async(dsn: str):
    """Hold the lock while the block runs; a cancelled wait leaves nothing held."""
    conn = await _locked_connection(dsn)
    try:
        yield
    finally:
        await asyncio.shield(_unlock(conn, dsn))


@contextlib.contextmanager
def held_across_machines(dsn: str):
    """The same for plain code: the connection lives on an event loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kimai-sync-writer-lock", daemon=True)
    thread.start()
    try:
        waiting = asyncio.run_coroutine_threadsafe(_locked_connection(dsn), loop)
        try:
            conn = waiting.result()
        except BaseException:
            waiting.cancel()  # e.g. Ctrl-C while waiting: the wait ends and its connection with it,
            with contextlib.suppress(Exception):  # once the loop has run the cancellation
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(2)
            raise
        try:
            yield
        finally:
            asyncio.run_coroutine_threadsafe(_unlock(conn, dsn), loop).result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()
