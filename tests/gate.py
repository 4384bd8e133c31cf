"""Hold an AsyncEventStore's writer so that the next inserts are committed as one group."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import TracebackType

import apsw

from camvault import AsyncEventStore, Event


class HeldWriter:
    """While inside, the writer thread waits on the database lock another connection holds.

    Inserts queued meanwhile are picked up together, as one group commit, on leaving.
    """

    def __init__(self, astore: AsyncEventStore, db: Path) -> None:
        self.astore = astore
        self.db = db
        self.conn: apsw.Connection | None = None
        self.blocker: asyncio.Task[bool] | None = None

    async def _until(self, condition: object, what: str) -> None:
        deadline = time.monotonic() + 10
        while not condition():  # type: ignore[operator]
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.001)

    async def __aenter__(self) -> HeldWriter:
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
