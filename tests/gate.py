"""Hold an AsyncEventStore's writer so that the next inserts are committed as one group."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import apsw

from camvault import AsyncEventStore, Event
from tests.conftest import POSTGRES_URL

WRITER_THREAD = "camvault-writer"
"""The name of the thread that runs an AsyncEventStore's writes on SQLite."""


def watch_lock_waits(astore: AsyncEventStore) -> threading.Event:
    """Return an event set once the store's writer thread waits for SQLite's write lock.

    The writer connection's busy timeout becomes a busy handler that waits just as long (the
    store's busy_timeout) and reports being entered from the writer thread: proof that the
    writer has taken its job and is blocked on the lock, not merely about to be. Call it while
    the writer is idle (before another connection takes the lock).
    """
    backend = astore.store._backend
    backend.flush_text_index()  # nothing left for the indexer, which would take the lock first
    limit = backend._busy_ms / 1000
    waiting = threading.Event()
    since = [0.0]

    def busy(tries: int) -> bool:
        if threading.current_thread().name == WRITER_THREAD:
            waiting.set()
        if tries == 0:
            since[0] = time.monotonic()
        if time.monotonic() - since[0] >= limit:
            return False  # DatabaseBusyError, as the busy timeout would give
        time.sleep(0.001)
        return True

    backend._writer.set_busy_handler(busy)
    return waiting


def advisory_lock_waits(conn: Any, backend: Any) -> Callable[[], bool]:
    """Return a check, run on ``conn``, that a session waits for a PostgreSQL store's commit lock.

    pg_locks is live even inside a transaction, so the lock holder's own connection can ask.
    """
    key = backend.commit_key & 0xFFFF_FFFF_FFFF_FFFF
    query = (
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)"
    )
    return lambda: bool(conn.execute(query, (key >> 32, key & 0xFFFF_FFFF)).fetchone()[0])


async def until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Wait (bounded, without blocking the loop) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.001)


class HeldWriter:
    """While inside, the writer waits on the database lock another connection holds.

    SQLite: the file's write lock; PostgreSQL: the store's commit lock (an advisory lock).

    Inserts queued meanwhile are picked up together, as one group commit, on leaving.
    """

    def __init__(self, astore: AsyncEventStore, db: Path) -> None:
        self.astore = astore
        self.db = db
        self.conn: Any = None
        self.blocker: asyncio.Task[bool] | None = None

    async def __aenter__(self) -> HeldWriter:
        backend = self.astore.store._backend
        if backend.engine == "postgresql":
            import psycopg

            self.conn = psycopg.connect(POSTGRES_URL or "", autocommit=True)
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (backend.commit_key,))
            waiting = advisory_lock_waits(self.conn, backend)
        else:
            lock_wait = watch_lock_waits(self.astore)
            self.conn = apsw.Connection(str(self.db))
            self.conn.execute("BEGIN IMMEDIATE")
            waiting = lock_wait.is_set
        self.blocker = asyncio.create_task(self.astore.insert_event(Event(camera_id="gate")))
        await until(waiting, "the writer never waited for the lock")
        return self

    async def queued(self, n: int) -> None:
        """Wait until ``n`` jobs wait in the writer's queue."""
        await until(lambda: self.astore.queued_writes >= n, f"{n} jobs never queued")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.conn is not None and self.blocker is not None
        self.conn.execute("COMMIT")
        self.conn.close()
        assert await self.blocker is True
