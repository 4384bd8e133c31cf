"""PostgreSQL's async face: psycopg's native asyncio connections, no thread per call.

Concurrent ``insert_event`` calls queue on the event loop; one writer task takes whatever is
queued and stores it with the same single statement as the sync store, awaited on an
``AsyncConnection``. Each caller still gets its own True / False / exception: when a group
fails, the sync store retries its events one by one on the writer thread, so one bad event
fails alone. Reads run the sync store's own code in a greenlet on the loop's thread, each
query awaited on an asyncio connection (camvault.backends.greenlets). Other writes run on one
writer thread, in queue order with the inserts; work that encodes images runs on threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from camvault.backends import greenlets
from camvault.backends.base import GroupWrite, InsertLog
from camvault.backends.postgresql_errors import translate
from camvault.backends.postgresql_sql import INSERT_ARRAYS, INSERT_STAGED, STAGING
from camvault.errors import DatabaseError
from camvault.models import Event

if TYPE_CHECKING:
    from camvault.backends.postgresql import PostgresBackend

__all__ = ["AsyncFetch", "PostgresFace"]

T = TypeVar("T")

AsyncFetch = Callable[[str, str, Sequence[Any]], Awaitable[list[Any]]]
"""(action, query, parameters) -> rows, awaited on an asyncio connection."""


class _Job:
    """One queued insert or upsert (``item``) or write (``call``) with its caller's future."""

    __slots__ = ("call", "future", "item", "started", "upsert")

    def __init__(
        self,
        future: asyncio.Future[Any],
        item: Event | Mapping[str, Any] | None = None,
        call: Callable[[], Any] | None = None,
        *,
        upsert: bool = False,
    ) -> None:
        self.future = future
        self.item = item
        self.call = call
        self.upsert = upsert
        self.started = time.perf_counter_ns()


class PostgresFace:
    """Runs store work for asyncio callers: native async inserts, other calls on threads."""

    def __init__(
        self,
        backend: PostgresBackend,
        write_group: GroupWrite,
        *,
        max_group: int,
        read_threads: int,
        log_insert: InsertLog | None = None,
    ) -> None:
        self._backend = backend
        self._write_group = write_group
        self._log_insert = log_insert
        self._max_group = max_group
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._readers = ThreadPoolExecutor(read_threads, thread_name_prefix="camvault-read")
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="camvault-writer")
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            backend.conninfo,
            min_size=1,
            max_size=backend.options.pool_size,
            kwargs={"autocommit": True, "prepare_threshold": backend.prepare_threshold},
            configure=self._configure,
            open=False,
            name=f"camvault-async-{backend.schema}",
            timeout=max(backend.options.connect_timeout, 1.0),
        )
        self._opening = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._write_loop())
        backend.async_fetch = self._fetch

    @property
    def queued_writes(self) -> int:
        """Writes waiting for the writer (the group it is running is not counted)."""
        return self._queue.qsize()

    async def insert(self, item: Event | Mapping[str, Any]) -> bool:
        """Insert one event, group-committed with whatever else is queued."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(future, item=item))
        return await future

    async def upsert(self, item: Event | Mapping[str, Any]) -> str:
        """Upsert one event, in one transaction with whatever else is queued."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(future, item=item, upsert=True))
        return await future

    async def write(self, call: Callable[[], T]) -> T:
        """Run a write on the writer thread, in order with the inserts around it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(future, call=call))
        return await future

    async def read(self, call: Callable[[], T]) -> T:
        """Run a read on the loop's thread, each of its queries awaited (no thread)."""
        return await greenlets.run(call)

    async def work(self, call: Callable[[], T]) -> T:
        """Run work that may block (image encoding, a write) on a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    async def close(self) -> None:
        """Answer every queued write, then release the connections and threads."""
        self._queue.put_nowait(None)
        await self._task
        self._backend.async_fetch = None
        await self._pool.close()
        loop = asyncio.get_running_loop()
        for executor in (self._writer_thread, self._readers):
            await loop.run_in_executor(None, functools.partial(executor.shutdown, wait=True))

    async def _configure(self, conn: AsyncConnection[Any]) -> None:
        """Apply the store's session settings to a new asyncio connection."""
        await conn.execute(self._backend.settings, prepare=False)

    async def _connection_pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        """Return the asyncio pool, opened on first use (on this loop)."""
        if self._pool.closed:
            async with self._opening:
                if self._pool.closed:
                    await self._pool.open()
        return self._pool

    async def _fetch(self, action: str, query: str, params: Sequence[Any]) -> list[Any]:
        """Run one read on an asyncio connection; retried once on a connection that was lost."""
        pool = await self._connection_pool()
        for attempt in (1, 2):
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute(query, params)
                    return await cur.fetchall()
            except (PoolTimeout, psycopg.Error) as exc:
                lost = isinstance(exc, psycopg.OperationalError)
                if attempt == 2 or not lost:
                    raise translate(exc, action, self._backend.location, write=False) from None
                await pool.check()  # the other idle connections died with it (a restart)
        raise DatabaseError(f"cannot {action}")  # pragma: no cover - the loop returns or raises

    # -- the writer task --------------------------------------------------------------

    async def _write_loop(self) -> None:
        """Take queued jobs in order: consecutive inserts as one group, writes alone."""
        stopping = False
        while not stopping:
            jobs = [await self._queue.get()]
            while len(jobs) < self._max_group and not self._queue.empty():
                jobs.append(self._queue.get_nowait())
            inserts: list[_Job] = []
            for job in jobs:
                if job is not None and job.item is not None:
                    if not job.future.cancelled():  # cancelled before it started: never written
                        inserts.append(job)
                    continue
                await self._run_inserts(inserts)
                inserts = []
                if job is None:
                    stopping = True
                else:
                    await self._run_call(job)
            await self._run_inserts(inserts)

    async def _run_call(self, job: _Job) -> None:
        """Run one write on the writer thread and answer its caller."""
        assert job.call is not None
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._writer_thread, job.call)
        except BaseException as exc:
            _answer(job.future, exc, failed=True)
        else:
            _answer(job.future, result, failed=False)

    async def _run_inserts(self, jobs: list[_Job]) -> None:
        """Commit a group of inserts natively; upserts go through the sync store.

        So does a group that failed: the sync store writes it on the writer thread in one
        transaction, each item with its own outcome.
        """
        if not jobs:
            return
        from camvault.store import as_event

        if not any(job.upsert for job in jobs):
            try:
                events = [as_event(job.item) for job in jobs]  # type: ignore[arg-type]
                inserted = await self._insert_native(events)
            except Exception:  # an event or the group failed: each event alone, in a thread
                pass
            else:
                if self._log_insert is not None:
                    end = time.perf_counter_ns()
                    for job, event, stored in zip(jobs, events, inserted, strict=True):
                        self._log_insert(event, stored, end - job.started)
                for job, stored in zip(jobs, inserted, strict=True):
                    _answer(job.future, stored, failed=False)
                return
        await self._run_in_store(jobs)

    async def _run_in_store(self, jobs: list[_Job]) -> None:
        """Write a group through the sync store's write_group on the writer thread."""
        loop = asyncio.get_running_loop()
        items: list[Event | Mapping[str, Any]] = [job.item for job in jobs if job.item is not None]
        started = [job.started for job in jobs]
        flags = [job.upsert for job in jobs]
        try:
            results = await loop.run_in_executor(
                self._writer_thread, self._write_group, items, started, flags
            )
        except BaseException as exc:
            for job in jobs:
                _answer(job.future, exc, failed=True)
            return
        for job, result in zip(jobs, results, strict=True):
            _answer(job.future, result, failed=isinstance(result, BaseException))

    async def _insert_native(self, events: list[Event]) -> list[bool]:
        """Store a group in one transaction on an async connection; publish it after commit."""
        from camvault.backends.postgresql import (
            COPY_MIN,
            COPY_SQL,
            array_params,
            insert_rows,
            month_of,
            outcomes,
        )

        backend = self._backend
        rows = insert_rows(events)
        if {month_of(row[1]) for row in rows} - backend.months:
            raise LookupError("a partition is missing")  # the sync path creates it
        pool = await self._connection_pool()
        key = backend.commit_key
        async with pool.connection() as conn:
            if len(rows) >= COPY_MIN:
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.execute(STAGING)
                    async with cur.copy(COPY_SQL) as copy:
                        for row in rows:
                            await copy.write_row(row)
                    await cur.execute(INSERT_STAGED, (key,))
                    stored = await cur.fetchall()
                    await cur.execute("TRUNCATE camvault_staging")
            else:  # autocommit: store_events is one statement, its own transaction
                cur = await conn.execute(INSERT_ARRAYS, array_params(key, rows))
                stored = await cur.fetchall()
        published: list[tuple[int, Event]] = []
        result = outcomes(events, stored, published if backend.listeners else None)
        backend.committed(published, len(stored))
        return result


def _answer(future: asyncio.Future[Any], value: Any, *, failed: bool) -> None:
    """Set a caller's result or exception, unless it stopped waiting."""
    if future.done():
        return
    with contextlib.suppress(asyncio.InvalidStateError):
        if failed:
            future.set_exception(value)
        else:
            future.set_result(value)
