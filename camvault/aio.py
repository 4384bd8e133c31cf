"""AsyncEventStore: the EventStore API as coroutines, without ever blocking the event loop.

Every call is one hop to a thread that runs the sync store: a whole insert (event,
detections, commit) or a whole query (SQL and hydration) per hop, never one await per
statement. Writes go to one writer thread that commits whatever is queued together (group
commit: eight cameras firing at once share one transaction) while each caller still gets its
own True / False / exception. Reads, and thumbnail encoding, run on a pool of reader threads
with connections of their own, so they never wait behind writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, Unpack

from camvault.bus import LoopSubscriber, Watch, Watcher
from camvault.errors import InvalidInputError, StoreClosedError
from camvault.models import BatchResult, Bucket, Camera, Event, Page, Person, PurgeResult
from camvault.query import Filters
from camvault.store import EventStore

__all__ = ["AsyncEventStore"]

T = TypeVar("T")
_Outcome = tuple["asyncio.Future[Any]", Any, bool]  # (future, value, value is an exception)


class _Insert:
    """One queued insert: the item, the caller's future and when the caller asked."""

    __slots__ = ("future", "item", "started")

    def __init__(self, item: Any, future: asyncio.Future[Any]) -> None:
        self.item = item
        self.future = future
        self.started = time.perf_counter_ns()


class _Call:
    """One queued write that runs alone, in order with the inserts around it."""

    __slots__ = ("call", "future")

    def __init__(self, call: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        self.call = call
        self.future = future


_STOP = object()


class AsyncEventStore:
    """The event store for asyncio code: every EventStore method, awaitable."""

    def __init__(
        self,
        database: str | os.PathLike[str] = "camvault.db",
        *,
        max_group: int = 512,
        read_threads: int = 4,
        **options: Any,
    ) -> None:
        self._database = database
        self._options = options
        self._max_group = max_group
        self._read_threads = read_threads
        self._store: EventStore | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._readers: ThreadPoolExecutor | None = None
        self._writer: threading.Thread | None = None
        self._closing = False
        self._watcher: Watcher | None = None
        self._subscribers: list[LoopSubscriber] = []

    # -- lifecycle --------------------------------------------------------------------

    async def initialize(self) -> AsyncEventStore:
        """Open the database (migrating it if needed) off the loop; safe to call twice."""
        if self._closing:
            raise StoreClosedError("this AsyncEventStore was closed; open a new one")
        if self._store is not None:
            return self
        loop = asyncio.get_running_loop()
        self._readers = ThreadPoolExecutor(self._read_threads, thread_name_prefix="camvault-read")
        try:
            self._store = await loop.run_in_executor(
                self._readers, functools.partial(EventStore, self._database, **self._options)
            )
        except BaseException:
            self._readers.shutdown(wait=False)
            self._readers = None
            raise
        self._writer = threading.Thread(
            target=self._write_loop, args=(self._store,), name="camvault-writer", daemon=True
        )
        self._writer.start()
        return self

    async def __aenter__(self) -> AsyncEventStore:
        return await self.initialize()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish every queued write, then close; later calls raise StoreClosedError."""
        if self._closing:
            return
        self._closing = True
        if self._store is None or self._writer is None or self._readers is None:
            return
        if self._watcher is not None:
            await self._watcher.close()  # every watch() ends
        for subscriber in self._subscribers:
            subscriber.cancel()
        self._queue.put(_STOP)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._writer.join)  # every queued write is answered
        readers, store = self._readers, self._store
        await loop.run_in_executor(None, functools.partial(readers.shutdown, wait=True))
        await loop.run_in_executor(None, store.close)

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._closing

    @property
    def store(self) -> EventStore:
        """The sync store underneath (for code that must call it from a thread)."""
        return self._require()

    def _require(self) -> EventStore:
        """Return the open sync store or raise a clear error."""
        if self._closing:
            raise StoreClosedError("this AsyncEventStore was closed; open a new one")
        if self._store is None:
            raise StoreClosedError(
                "this AsyncEventStore is not open yet; use `async with AsyncEventStore(...)` "
                "or `await store.initialize()` first"
            )
        return self._store

    # -- the writer thread ------------------------------------------------------------

    def _write_loop(self, store: EventStore) -> None:
        """Drain the queue: group consecutive inserts into one transaction, run calls alone."""
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
                self._run_inserts(store, inserts, outcomes)
                inserts = []
                if job is _STOP:
                    stopping = True
                elif isinstance(job, _Call):
                    try:
                        outcomes.append((job.future, job.call(), False))
                    except BaseException as exc:
                        outcomes.append((job.future, exc, True))
            self._run_inserts(store, inserts, outcomes)
            self._deliver(outcomes)

    @staticmethod
    def _run_inserts(store: EventStore, jobs: list[_Insert], outcomes: list[_Outcome]) -> None:
        """Commit a group of inserts together and record each caller's outcome."""
        if not jobs:
            return
        try:
            results = store.insert_group([j.item for j in jobs], [j.started for j in jobs])
        except BaseException as exc:
            outcomes.extend((j.future, exc, True) for j in jobs)
            return
        for job, result in zip(jobs, results, strict=True):
            outcomes.append((job.future, result, not isinstance(result, bool)))

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

    # -- hops -------------------------------------------------------------------------

    async def _write(self, call: Callable[[EventStore], T]) -> T:
        """Queue a write that runs alone on the writer thread, in order with inserts."""
        store = self._require()
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put(_Call(functools.partial(call, store), future))
        return await future

    async def _read(self, call: Callable[[EventStore], T]) -> T:
        """Run a read (or other work off the writer) on a reader thread."""
        store = self._require()
        assert self._readers is not None
        return await asyncio.get_running_loop().run_in_executor(self._readers, call, store)

    # -- writes -----------------------------------------------------------------------

    async def insert_event(self, event: Event | Mapping[str, Any]) -> bool:
        """Store one event (group-committed with concurrent inserts); False for a duplicate."""
        self._require()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put(_Insert(event, future))
        return await future

    async def insert_events(self, events: Iterable[Event | Mapping[str, Any]]) -> BatchResult:
        """Store many events in one transaction; see EventStore.insert_events."""
        return await self._write(lambda s: s.insert_events(events))

    async def save_thumbnail(self, event_id: str, image: Any, **options: Any) -> Path | None:
        """Encode and store a thumbnail off the loop; see EventStore.save_thumbnail."""
        return await self._read(lambda s: s.save_thumbnail(event_id, image, **options))

    async def purge(
        self, older_than: timedelta | None = None, camera_id: str | None = None, **options: Any
    ) -> PurgeResult:
        """Remove old events, their detections and thumbnails; see EventStore.purge."""
        return await self._write(lambda s: s.purge(older_than, camera_id, **options))

    async def delete_event(self, event_id: str) -> bool:
        """Remove one event; False if it was absent. See EventStore.delete_event."""
        return await self._write(lambda s: s.delete_event(event_id))

    async def update_event(self, event_id: str, **changes: Any) -> Event | None:
        """Change fields of a stored event (``retain``); see EventStore.update_event."""
        return await self._write(lambda s: s.update_event(event_id, **changes))

    async def delete_person(self, name: str) -> bool:
        """Forget a known person; False if there was none. See EventStore.delete_person."""
        return await self._write(lambda s: s.delete_person(name))

    async def upsert_person(self, person: Person | Mapping[str, Any]) -> Person:
        """Create or update a known person; see EventStore.upsert_person."""
        return await self._write(lambda s: s.upsert_person(person))

    # -- reads ------------------------------------------------------------------------

    async def get_event(self, event_id: str) -> Event | None:
        """Return the event with this id, or None."""
        return await self._read(lambda s: s.get_event(event_id))

    async def get_recent_events(self, limit: int = 50, camera_id: str | None = None) -> list[Event]:
        """Return the newest events, optionally of one camera, newest first."""
        return await self._read(lambda s: s.get_recent_events(limit, camera_id))

    async def query(self, **arguments: Any) -> Page:
        """Return matching events newest first, with a cursor; see EventStore.query."""
        return await self._read(lambda s: s.query(**arguments))

    async def tail(self, after: int | None = None, limit: int = 100) -> tuple[list[Event], int]:
        """Return events stored since a position; see EventStore.tail."""
        return await self._read(lambda s: s.tail(after, limit))

    async def count(self, **filters: Unpack[Filters]) -> int:
        """Return how many events match; see EventStore.count."""
        return await self._read(lambda s: s.count(**filters))

    async def histogram(self, bucket: str = "hour", **arguments: Any) -> list[Bucket]:
        """Count events per hour or day; see EventStore.histogram."""
        return await self._read(lambda s: s.histogram(bucket, **arguments))

    async def get_person(self, name: str) -> Person | None:
        """Return the person with this name, or None."""
        return await self._read(lambda s: s.get_person(name))

    async def list_persons(self) -> list[Person]:
        """Return every known person, by name."""
        return await self._read(EventStore.list_persons)

    async def list_cameras(self) -> list[Camera]:
        """Return every camera that has produced an event, by id."""
        return await self._read(EventStore.list_cameras)

    async def info(self) -> dict[str, Any]:
        """Describe the store: engine, versions, schema, counts and locations."""
        return await self._read(EventStore.info)

    # -- the commit bus ---------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[Sequence[Event]], Awaitable[None] | None]
    ) -> Callable[[], None]:
        """Call ``callback`` on this loop with the events of each commit, in commit order.

        ``callback`` is a plain function or a coroutine function; a coroutine is awaited
        before the next commit's events are handed over, and the writer never waits for it.
        Call from the loop; returns the function that unsubscribes.
        """
        if not callable(callback):
            raise InvalidInputError("subscribe", [("callback", "must be callable")])
        store = self._require()
        subscriber = LoopSubscriber(asyncio.get_running_loop(), callback)
        remove = store.subscribe(subscriber)
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            remove()
            subscriber.cancel()
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def watch(self, *, after: int | None = None, **filters: Unpack[Filters]) -> Watch:
        """Follow new events matching the filters of query(), from any writer process.

        An async iterator of events in commit order, none missed or repeated; its
        ``position`` (the last event's) resumes a later ``watch(after=position)``.
        ``after=None`` starts at the end when iteration (or ``async with``) begins. All
        watches of this store share one follower; each has its own bounded buffer.
        """
        store = self._require()
        if self._watcher is None:
            self._watcher = Watcher(store, self._read)
        return Watch(self._watcher, after, filters)
