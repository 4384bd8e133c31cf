"""AsyncEventStore: the EventStore API as coroutines, without ever blocking the event loop.

Every method has the signature of its EventStore twin: the async methods are made from the
sync ones (one typed definition, see :func:`_hop`), so the two can never drift. How the work
leaves the loop is the engine's business (its async face, below ``backends/base.py``):
SQLite runs writes on one thread that group-commits concurrent inserts and reads on a pool
of reader threads, one hop per call, never one await per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, Unpack, cast

from camvault import thumbnails
from camvault.backends.base import AsyncFace, EngineOptions
from camvault.bus import LoopSubscriber, Watch, Watcher
from camvault.errors import InvalidInputError, StoreClosedError
from camvault.models import Event
from camvault.query import Filters
from camvault.store import EventStore, legacy_keywords, start_async_face
from camvault.upserts import Status

__all__ = ["AsyncEventStore"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

AsyncMethod = Callable[Concatenate["AsyncEventStore", P], Coroutine[Any, Any, R]]


def _hop(
    method: Callable[Concatenate[EventStore, P], R],
    *,
    write: bool,
    work: bool = False,
    runner: Callable[[Callable[[], R]], Awaitable[R]] | None = None,
) -> AsyncMethod[P, R]:
    """Make the async twin of an EventStore method: same parameters, never blocking the loop.

    ``write`` queues it on the engine's writer (in order with inserts); ``work`` runs it
    where blocking work may run; ``runner`` runs it on threads of its own (image decoding);
    otherwise it runs where reads run. The twin carries the sync method's name, docstring
    and signature.
    """
    name = method.__name__

    async def twin(self: AsyncEventStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        store, face = self._require()
        call: Callable[[], R] = functools.partial(getattr(store, name), *args, **kwargs)
        if write:
            return await face.write(call)
        if runner is not None:
            return await runner(call)
        return await (face.work(call) if work else face.read(call))

    functools.update_wrapper(twin, method)
    twin.__qualname__ = f"AsyncEventStore.{name}"
    twin.__module__ = __name__
    return twin


class AsyncEventStore:
    """The event store for asyncio code: every EventStore method, awaitable."""

    def __init__(
        self,
        database: str | os.PathLike[str] = "camvault.db",
        *,
        options: EngineOptions | None = None,
        slow_insert_ms: float = 10.0,
        thumbnails_dir: str | os.PathLike[str] | None = None,
        create: bool = True,
        busy_timeout: float | None = None,
        durability: Literal["normal", "full"] | None = None,
        pragmas: Mapping[str, int | str] | None = None,
        max_group: int = 512,
        read_threads: int = 4,
    ) -> None:
        options = legacy_keywords(options, busy_timeout, durability, pragmas)
        self._open_store = functools.partial(
            EventStore,
            database,
            options=options,
            slow_insert_ms=slow_insert_ms,
            thumbnails_dir=thumbnails_dir,
            create=create,
        )
        self._max_group = max_group
        self._read_threads = read_threads
        self._store: EventStore | None = None
        self._face: AsyncFace | None = None
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
        store = await asyncio.to_thread(self._open_store)
        try:
            self._face = start_async_face(
                store, max_group=self._max_group, read_threads=self._read_threads
            )
        except BaseException:
            await asyncio.to_thread(store.close)
            raise
        self._store = store
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
        if self._store is None or self._face is None:
            return
        if self._watcher is not None:
            await self._watcher.close()  # every watch() ends
        for subscriber in self._subscribers:
            subscriber.cancel()
        await self._face.close()  # every queued write is answered
        await asyncio.to_thread(self._store.close)

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._closing

    @property
    def store(self) -> EventStore:
        """The sync store underneath (for code that must call it from a thread)."""
        return self._require()[0]

    @property
    def queued_writes(self) -> int:
        """Writes waiting their turn (0 when the writer has taken everything queued)."""
        return self._require()[1].queued_writes

    def _require(self) -> tuple[EventStore, AsyncFace]:
        """Return the open sync store and the engine's async face, or raise a clear error."""
        if self._closing:
            raise StoreClosedError("this AsyncEventStore was closed; open a new one")
        if self._store is None or self._face is None:
            raise StoreClosedError(
                "this AsyncEventStore is not open yet; use `async with AsyncEventStore(...)` "
                "or `await store.initialize()` first"
            )
        return self._store, self._face

    # -- writes -----------------------------------------------------------------------

    async def insert_event(self, event: Event | Mapping[str, Any]) -> bool:
        """Store one event (group-committed with concurrent inserts); False for a duplicate."""
        return await self._require()[1].insert(event)

    async def upsert_event(self, event: Event | Mapping[str, Any]) -> Status:
        """Store an event or its next version (see EventStore.upsert_event); group-committed."""
        return cast(Status, await self._require()[1].upsert(event))

    insert_events = _hop(EventStore.insert_events, write=True)
    purge = _hop(EventStore.purge, write=True)
    delete_event = _hop(EventStore.delete_event, write=True)
    update_event = _hop(EventStore.update_event, write=True)
    upsert_person = _hop(EventStore.upsert_person, write=True)
    delete_person = _hop(EventStore.delete_person, write=True)
    save_thumbnail = _hop(  # decoding never holds a reader: queries go on meanwhile
        EventStore.save_thumbnail, write=False, runner=thumbnails.run_encoding
    )
    set_thumbnail = _hop(EventStore.set_thumbnail, write=False, runner=thumbnails.run_encoding)
    read_thumbnail = _hop(EventStore.read_thumbnail, write=False)
    backup = _hop(EventStore.backup, write=False, work=True)  # a long read: off the readers
    sql = _hop(EventStore.sql, write=False, work=True)  # user SQL: never on the loop

    # -- reads ------------------------------------------------------------------------

    get_event = _hop(EventStore.get_event, write=False)
    get_recent_events = _hop(EventStore.get_recent_events, write=False)
    query = _hop(EventStore.query, write=False)
    tail = _hop(EventStore.tail, write=False)
    count = _hop(EventStore.count, write=False)
    histogram = _hop(EventStore.histogram, write=False)
    heatmap = _hop(EventStore.heatmap, write=False)
    get_person = _hop(EventStore.get_person, write=False)
    list_persons = _hop(EventStore.list_persons, write=False)
    list_cameras = _hop(EventStore.list_cameras, write=False)
    info = _hop(EventStore.info, write=False)
    ping = _hop(EventStore.ping, write=False)

    async def _read(self, call: Callable[[EventStore], T]) -> T:
        """Run ``call(store)`` where reads run (the bus's reader hop)."""
        store, face = self._require()
        return await face.read(functools.partial(call, store))

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
        store = self._require()[0]
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
        store = self._require()[0]
        if self._watcher is None:
            self._watcher = Watcher(store, self._read)
        return Watch(self._watcher, after, filters)
