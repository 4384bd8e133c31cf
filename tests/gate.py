"""Hold an AsyncEventStore's writer so that the next inserts are committed as one group."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import apsw

from camvault import AsyncEventStore, Event
from tests.conftest import POSTGRES_URL


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

    async def _until(self, condition: object, what: str) -> None:
        deadline = time.monotonic() + 10
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.001)

    async def __aenter__(self) -> HeldWriter:
        backend = self.astore.store._backend
        if backend.engine == "postgresql":
            import psycopg

            self.conn = psycopg.connect(POSTGRES_URL or "", autocommit=True)
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (backend.commit_key,))
        else:
            self.conn = apsw.Connection(str(self.db))
            self.conn.execute("BEGIN IMMEDIATE")
        self.blocker = asyncio.create_task(self.astore.insert_event(Event(camera_id="gate")))
        await asyncio.sleep(0)  # the task's first step queues the blocker (nothing awaits before)
        await self._until(lambda: self.astore.queued_writes == 0, "the writer never took it")
        return self

    async def queued(self, n: int) -> None:
        """Wait until ``n`` jobs wait in the writer's queue."""
        await self._until(lambda: self.astore.queued_writes >= n, f"{n} jobs never queued")

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
