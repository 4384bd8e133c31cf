"""What the live Frigate consumer keeps in memory: recent objects and one lane per object.

Nothing here reads the store: :class:`Objects` remembers, for a bounded number of recent
tracked objects, the event last stored and how far the object has got, so a message is
applied without a read; :class:`Lanes` runs the work of one object in arrival order while
different objects run concurrently.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from camvault.models import Event

__all__ = ["Known", "Lanes", "Objects", "Parked", "Ticket"]

T = TypeVar("T")


@dataclass(slots=True)
class Known:
    """What is held for one tracked object: its stored event and how far it has got."""

    event: Event
    frame_time: float
    """Frigate's ``frame_time`` of the last message applied (older ones are stale)."""
    start: float
    """Frigate's ``start_time`` (epoch seconds)."""
    snapshot_asked: bool = False
    """A snapshot was already asked for while the object was in progress."""

    @property
    def ended(self) -> bool:
        """True once Frigate has ended the object (it is never reopened)."""
        return self.event.end_time is not None


class Objects:
    """The most recently used tracked objects, at most ``limit`` of them."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = max(1, limit)
        self._items: OrderedDict[str, Known] = OrderedDict()

    def get(self, event_id: str) -> Known | None:
        """Return what is held for ``event_id`` (and mark it recently used), or None."""
        known = self._items.get(event_id)
        if known is not None:
            self._items.move_to_end(event_id)
        return known

    def put(self, event_id: str, known: Known) -> None:
        """Hold ``known`` for ``event_id``, forgetting the least recently used beyond the limit."""
        self._items[event_id] = known
        self._items.move_to_end(event_id)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> Iterator[Known]:
        """Iterate over what is held, least recently used first."""
        return iter(list(self._items.values()))


class Parked:
    """Updates for objects not seen yet, applied when the object arrives (bounded)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = max(1, limit)
        self._items: OrderedDict[str, list[tuple[str, dict[str, Any]]]] = OrderedDict()

    def add(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Keep one update (``kind`` is ``tracked`` or ``review``) for a later object."""
        self._items.setdefault(event_id, []).append((kind, payload))
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def pop(self, event_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Take the updates kept for ``event_id``, oldest first."""
        return self._items.pop(event_id, [])

    def __len__(self) -> int:
        return len(self._items)


class Ticket:
    """One place in an object's lane, taken in arrival order; :meth:`run` waits for its turn."""

    def __init__(
        self, lanes: Lanes, key: str, before: asyncio.Future[None] | None, seq: int
    ) -> None:
        self._lanes = lanes
        self._key = key
        self._before = before
        self._seq = seq
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def superseded(self) -> bool:
        """True when a later ticket of the lane carries a state at least as new as this one."""
        best = self._lanes._best.get(self._key)
        return best is not None and best[1] > self._seq

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` once every earlier ticket of the lane has finished."""
        try:
            if self._before is not None:
                await asyncio.shield(self._before)
            return await work()
        finally:
            self._done.set_result(None)
            self._lanes._finished(self._key, self._done)


class Lanes:
    """Per-key ordering: the tickets of one key run one after another, in the order taken."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Future[None]] = {}
        self._seq = 0
        self._best: dict[str, tuple[float, int]] = {}  # key -> (rank, seq) of the newest state

    def take(self, key: str, *, rank: float | None = None) -> Ticket:
        """Take the next place in ``key``'s lane (synchronously: arrival order is kept).

        A ``rank`` marks work that carries everything about the object (a Frigate
        ``frigate/events`` message, ranked by its frame time): it supersedes such work
        waiting ahead of it whose rank is not higher.
        """
        self._seq += 1
        ticket = Ticket(self, key, self._tails.get(key), self._seq)
        self._tails[key] = ticket._done
        if rank is not None:
            best = self._best.get(key)
            if best is None or rank >= best[0]:
                self._best[key] = (rank, self._seq)
        return ticket

    def _finished(self, key: str, done: asyncio.Future[None]) -> None:
        """Forget a lane whose last ticket has finished."""
        if self._tails.get(key) is done:
            del self._tails[key]
            self._best.pop(key, None)

    def __len__(self) -> int:
        return len(self._tails)
