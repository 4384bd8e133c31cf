"""SQLite's async face: one writer thread with group commit, and a pool of reader threads.

SQLite allows one writer at a time, so every write goes to one thread that commits whatever
is queued together (group commit: eight cameras firing at once share one transaction) while
each caller still gets its own True / False / exception. Reads run on a pool of reader
threads with connections of their own, so they never wait behind writes. Each call is one
hop to a thread: a whole insert or a whole query per hop, never one await per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from camvault.backends.base import GroupWrite
from camvault.models import Event

__all__ = ["ThreadedFace"]

T = TypeVar("T")
_Outcome = tuple["asyncio.Future[Any]", Any, bool]  # (future, value, value is an exception)


class _Insert:
    """One queued insert or upsert: the item, the caller's future and when the caller asked."""

    __slots__ = ("future", "item", "started", "upsert")

    def __init__(
        self, item: Event | Mapping[str, Any], future: asyncio.Future[Any], *, upsert: bool
    ) -> None:
        self.item = item
        self.future = future
        self.upsert = upsert
        self.started = time.perf_counter_ns()


class _Call:
    """One queued write that runs alone, in order with the inserts around it."""

    __slots__ = ("call", "future")

    def __init__(self, call: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        self.call = call
        self.future = future


_STOP = object()


class ThreadedFace:
    """Runs store work off the event loop: writes on one thread, reads on a pool."""

    def __init__(self, write_group: GroupWrite, *, max_group: int, read_threads: int) -> None:
        self._write_group = write_group
        self._max_group = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._readers = ThreadPoolExecutor(read_threads, thread_name_prefix="camvault-read")
        self._writer = threading.Thread(
            target=self._write_loop, name="camvault-writer", daemon=True
        )
        self._writer.start()

    @property
    def queued_writes(self) -> int:
        """Writes waiting for the writer thread (the one it is running is not counted)."""
        return self._queue.qsize()

    async def insert(self, item: Event | Mapping[str, Any]) -> bool:
        """Insert one event, group-committed with whatever else is queued."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put(_Insert(item, future, upsert=False))
        return await future

    async def upsert(self, item: Event | Mapping[str, Any]) -> str:
        """Upsert one event, group-committed with whatever else is queued."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._queue.put(_Insert(item, future, upsert=True))
        return await future

    async def write(self, call: Callable[[], T]) -> T:
        """Run a write alone on the writer thread, in order with the inserts around it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Call(call, future))
        return await future

    async def read(self, call: Callable[[], T]) -> T:
        """Run a read on a reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    async def work(self, call: Callable[[], T]) -> T:
        """Run other work that needs no writer's turn on a reader thread."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, call)

    async def close(self) -> None:
        """Answer every queued write, then stop the threads."""
        self._queue.put(_STOP)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._writer.join)
        await loop.run_in_executor(None, functools.partial(self._readers.shutdown, wait=True))

    # -- the writer thread ------------------------------------------------------------

    def _write_loop(self) -> None:
        """Drain the queue: group consecutive inserts and upserts into one transaction."""
        stopping = False
        while True:
            if stopping:
                try:
                    jobs = [self._queue.get_nowait()]
                except queue.Empty:
                    break
            else:
                jobs = [self._queue.get()]
            while len(jobs) < self._max_group:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            outcomes: list[_Outcome] = []
            inserts: list[_Insert] = []
            for job in jobs:
                if isinstance(job, _Insert):
                    if not job.future.cancelled():  # cancelled before it started: never written
                        inserts.append(job)
                    continue
                self._run_inserts(inserts, outcomes)
                inserts = []
                if job is _STOP:
                    stopping = True
                elif isinstance(job, _Call):
                    try:
                        outcomes.append((job.future, job.call(), False))
                    except BaseException as exc:
                        outcomes.append((job.future, exc, True))
            self._run_inserts(inserts, outcomes)
            self._deliver(outcomes)

    def _run_inserts(self, jobs: list[_Insert], outcomes: list[_Outcome]) -> None:
        """Commit a group of inserts and upserts together; record each caller's outcome."""
        if not jobs:
            return
        try:
            results = self._write_group(
                [j.item for j in jobs], [j.started for j in jobs], [j.upsert for j in jobs]
            )
        except BaseException as exc:
            outcomes.extend((j.future, exc, True) for j in jobs)
            return
        for job, result in zip(jobs, results, strict=True):
            outcomes.append((job.future, result, isinstance(result, BaseException)))

    def _deliver(self, outcomes: list[_Outcome]) -> None:
        """Hand results to each caller's loop, one wake-up per loop (a closed loop is skipped)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._resolve, batch)

    @staticmethod
    def _resolve(outcomes: list[_Outcome]) -> None:
        """Set each caller's result or exception (on the loop)."""
        for future, value, failed in outcomes:
            if future.done():
                continue
            if failed:
                future.set_exception(value)
            else:
                future.set_result(value)
