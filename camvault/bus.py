"""The commit bus: the events of each commit, to subscribers here and to watchers anywhere.

In process, a backend calls its :class:`CommitListeners` right after each commit with the
events it stored, in commit order (``EventStore.subscribe``). Across processes,
``AsyncEventStore.watch()`` follows the store itself: one shared :class:`Watcher` per store
wakes on every commit (at once for this process's commits, through the listeners; within a
few milliseconds for another process's, through the engine's change signal), reads what was
stored since with the query planner's filters, and hands it to every :class:`Watch`, each
with its own bounded buffer. A Watch that falls behind re-reads from the store at its own
position, so it loses nothing and slows nobody.

A position is the one ``tail()`` uses: the store's order of commits. Resuming from the
position of the last event handled yields every later matching event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from camvault.errors import DatabaseError, InvalidQueryError
from camvault.models import Event
from camvault.query import Filters, QuerySpec, build_query

if TYPE_CHECKING:
    from camvault.store import EventStore

__all__ = ["CommitListener", "CommitListeners", "Watch", "Watcher"]

log = logging.getLogger("camvault")

T = TypeVar("T")
CommitListener = Callable[[Sequence[Event]], None]
"""Called with the events one commit stored, in commit order."""
Reader = Callable[[Callable[["EventStore"], T]], Awaitable[T]]
"""Runs a call on the sync store off the event loop (``AsyncEventStore``'s reader hop)."""

PAGE = 500
"""Events read per hop while following the store."""
BUFFER = 1000
"""Events a Watch holds before it falls behind and re-reads from the store itself."""


def _follow(
    store: EventStore, *, spec: QuerySpec, after: int, upto: int | None
) -> tuple[list[tuple[int, Event]], int]:
    """Read one page of matches after a position (on a reader thread)."""
    return store._follow(spec, after, upto, PAGE)


class CommitListeners:
    """The listeners of one backend: added, removed and called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: tuple[CommitListener, ...] = ()
        self._publishing: int | None = None

    def add(self, callback: CommitListener) -> Callable[[], None]:
        """Register ``callback``; return the function that removes it (safe to call twice)."""
        entry = _Entry(callback)
        with self._lock:
            self._listeners = (*self._listeners, entry)

        def remove() -> None:
            with self._lock:
                self._listeners = tuple(x for x in self._listeners if x is not entry)

        return remove

    def __bool__(self) -> bool:
        return bool(self._listeners)

    @property
    def publishing(self) -> bool:
        """True on the thread that is calling the listeners right now."""
        return self._publishing == threading.get_ident()

    def refuse_write(self, action: str) -> None:
        """Raise DatabaseError on the thread calling the listeners: it holds the writer."""
        if self.publishing:
            raise DatabaseError(
                f"cannot {action} from a commit listener; hand the work to another thread"
            )

    def publish(self, events: Sequence[Event]) -> None:
        """Call every listener with ``events``; one that raises is logged at ERROR, no more."""
        self._publishing = threading.get_ident()
        try:
            for listener in self._listeners:
                try:
                    listener(events)
                except Exception:
                    log.exception("commit listener %r failed (the commit stands)", listener)
        finally:
            self._publishing = None


class _Entry:
    """A registered listener (its own identity, so one callback may be added twice)."""

    __slots__ = ("callback",)

    def __init__(self, callback: CommitListener) -> None:
        self.callback = callback

    def __call__(self, events: Sequence[Event]) -> None:
        self.callback(events)

    def __repr__(self) -> str:
        return repr(self.callback)


class LoopSubscriber:
    """Deliver each commit's events to a callback on an event loop, one commit at a time.

    The writer thread only queues the events (``call_soon_threadsafe``); the callback (a
    plain function or a coroutine function) runs on the loop, in commit order, and a
    coroutine is awaited before the next commit's events are handed over.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        callback: Callable[[Sequence[Event]], Awaitable[None] | None],
    ) -> None:
        self._loop = loop
        self._callback = callback
        self._pending: deque[Sequence[Event]] = deque()
        self._ready = asyncio.Event()
        self._task = loop.create_task(self._run(), name="camvault-subscriber")

    def __call__(self, events: Sequence[Event]) -> None:
        """Queue one commit's events for the loop (called on the writer thread)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._push, list(events))

    def _push(self, events: Sequence[Event]) -> None:
        self._pending.append(events)
        self._ready.set()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                events = self._pending.popleft()
                try:
                    result = self._callback(events)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("subscriber %r failed (the commit stands)", self._callback)

    def cancel(self) -> None:
        """Stop delivering (events not yet handed over are dropped)."""
        self._task.cancel()


class Watch:
    """A live feed of the events matching some filters, from any writer, in commit order.

    Iterate it (``async for event in watch``); ``position`` is the position of the last
    event yielded (or the start), to resume from later with ``watch(after=position)``.
    ``async with`` starts it at once (fixing where ``after=None`` begins) and stops it.
    """

    def __init__(self, watcher: Watcher, after: int | None, filters: Filters) -> None:
        self.spec: QuerySpec = build_query(what="watch", extra=("after",), **filters)
        if after is not None and (
            isinstance(after, bool) or not isinstance(after, int) or after < 0
        ):
            problem = "must be a position (a whole number >= 0)"
            raise InvalidQueryError("watch", [("after", problem)])
        self.position: int | None = after
        """The position of the last event yielded (the start until one is)."""
        self._watcher = watcher
        self._cursor = after or 0  # how far the store was read for this watch
        self._items: deque[tuple[int, Event]] = deque()
        self._signal = asyncio.Event()
        self._started = False
        self.live = False  # fed by the shared watcher (False: behind, or not started)
        self.closed = False
        self._error: BaseException | None = None

    async def start(self) -> Watch:
        """Fix the start position and begin receiving events; safe to call twice."""
        if self._started:
            return self
        self._started = True
        if self.position is None:
            self.position = await self._watcher.read(lambda s: s.tail()[1])
            self._cursor = self.position
        await self._catch_up()
        return self

    async def _catch_up(self) -> None:
        """Read from the store at this watch's own position until it reaches the end."""
        rows, upto = await self._watcher.read(
            functools.partial(_follow, spec=self.spec, after=self._cursor, upto=None)
        )
        if self.closed:
            return
        self._items.extend(rows)
        self._cursor = upto
        if len(rows) < PAGE:
            self.live = True
            self._watcher.join(self)  # whatever was committed meanwhile comes through it

    def offer(self, rows: list[tuple[int, Event]], upto: int) -> None:
        """Take events read by the shared watcher (up to position ``upto``)."""
        room = BUFFER - len(self._items)
        if len(rows) > room:
            rows = rows[:room]
            upto = rows[-1][0] if rows else self._cursor
            self.live = False  # the rest comes from the store, once the buffer is drained
        self._items.extend(rows)
        self._cursor = upto
        self._signal.set()

    def fail(self, exc: BaseException) -> None:
        """End the feed with ``exc`` (raised to the consumer after what it already holds)."""
        self._error = exc
        self.live = False
        self._signal.set()

    def close(self) -> None:
        """Stop the feed: iteration ends after the events already received."""
        self.closed = True
        self.live = False
        self._watcher.leave(self)
        self._signal.set()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> Event:
        if not self._started:
            await self.start()
        while True:
            if self._items:
                self.position, event = self._items.popleft()
                return event
            if self._error is not None:
                error, self._error = self._error, None
                self.close()
                raise error
            if self.closed:
                raise StopAsyncIteration
            if not self.live:
                await self._catch_up()
                continue
            self._signal.clear()
            await self._signal.wait()

    async def aclose(self) -> None:
        """Stop the feed (as close(), for ``contextlib.aclosing``)."""
        self.close()

    async def __aenter__(self) -> Watch:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Watcher:
    """The one follower of a store that feeds every Watch of it (N live clients, one reader)."""

    def __init__(self, store: EventStore, read: Reader[Any]) -> None:
        self.store = store
        self.read = read
        self._watches: weakref.WeakSet[Watch] = weakref.WeakSet()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def join(self, watch: Watch) -> None:
        """Feed ``watch`` from its position on (it has caught up with the store)."""
        if self._closed:
            watch.close()
            return
        self._watches.add(watch)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._run(self._wake), name="camvault-watcher"
            )
        self._wake_up()

    def leave(self, watch: Watch) -> None:
        """Stop feeding ``watch``."""
        self._watches.discard(watch)

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self, wake: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()

        def wake_threadsafe(*_: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(wake.set)

        try:
            unsubscribe = self.store.subscribe(wake_threadsafe)  # this process: at once
        except Exception as exc:  # the store was closed meanwhile
            self._fail_all(exc)
            return
        try:
            stop = await self.read(lambda s: s._on_commit_anywhere(wake_threadsafe))  # any process
        except Exception as exc:
            unsubscribe()
            self._fail_all(exc)
            return
        try:
            while self._watches and not self._closed:
                await wake.wait()
                wake.clear()
                await self._round()
        finally:
            stop()
            unsubscribe()

    def _fail_all(self, exc: BaseException) -> None:
        for watch in list(self._watches):
            watch.fail(exc)

    async def _round(self) -> None:
        """Read what was committed since each live watch's position and hand it over."""
        try:
            head: int = await self.read(lambda s: s.tail()[1])
        except Exception as exc:
            self._fail_all(exc)
            return
        groups: dict[tuple[QuerySpec, int], list[Watch]] = {}
        for watch in list(self._watches):
            if watch.live and watch._cursor < head:
                groups.setdefault((watch.spec, watch._cursor), []).append(watch)
        for (spec, after), members in groups.items():
            await self._feed(spec, after, head, members)

    async def _feed(self, spec: QuerySpec, after: int, head: int, members: list[Watch]) -> None:
        """Hand the events matching ``spec`` in (after, head] to watches at ``after``."""
        while members:
            start = after
            try:
                rows, upto = await self.read(
                    functools.partial(_follow, spec=spec, after=start, upto=head)
                )
            except Exception as exc:
                for watch in members:
                    watch.fail(exc)
                return
            members = [w for w in members if w.live and w._cursor == start]
            for watch in members:
                watch.offer(rows, upto)
            if upto >= head:
                return
            after = upto
            members = [w for w in members if w.live]

    async def close(self) -> None:
        """End every Watch and stop following the store."""
        self._closed = True
        for watch in list(self._watches):
            watch.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
