"""The small interface every storage engine implements behind EventStore.

The facade validates, times and logs; a backend only talks to its database. Adding an
engine (PostgreSQL next) means one new module implementing :class:`Backend` (and a
:class:`BackendType` to open it from a URL), registered by scheme in ``camvault.backends``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from camvault.histogram import HistogramSpec
from camvault.models import Camera, Event, Person
from camvault.query import QuerySpec

__all__ = [
    "AsyncFace",
    "Backend",
    "BackendType",
    "EngineOptions",
    "GroupWrite",
    "InsertLog",
    "PurgeBatch",
    "SqlRun",
    "ThumbnailRef",
    "Version",
    "WriteTransaction",
    "failing_inserts",
    "run_insert_checks",
]

ThumbnailRef = tuple[str, str, int, str]
"""(event_id, camera_id, timestamp in microseconds, thumbnail_path) of a removed event."""

PurgeBatch = tuple[int, list[ThumbnailRef]]
"""(events removed, the thumbnail references of the removed events that had one)."""


T = TypeVar("T")


class Version(NamedTuple):
    """A new version of an event to store in place of the stored one (None: a new event)."""

    stored: Event | None
    new: Event
    keeps_thumbnail: bool
    """True when the new version keeps the stored thumbnail (its file or row stays)."""


_insert_checks: list[Callable[[Event], None]] = []
"""Checks run before each insert; see failing_inserts (empty outside tests)."""


@contextlib.contextmanager
def failing_inserts(check: Callable[[Event], None]) -> Iterator[None]:
    """Test helper: run ``check(event)`` before every insert; what it raises fails that event.

    It simulates an engine fault below the facade (e.g. a driver error on one row), on
    every engine.
    """
    _insert_checks.append(check)
    try:
        yield
    finally:
        _insert_checks.remove(check)


def run_insert_checks(event: Event) -> None:
    """Run the checks installed by failing_inserts (nothing outside tests)."""
    for check in _insert_checks:
        check(event)


GroupWrite = Callable[
    [Sequence[Event | Mapping[str, Any]], Sequence[int], Sequence[bool]],
    list[bool | str | Exception],
]
"""EventStore.write_group: many callers' inserts (and upserts, flagged True) in one
transaction, one outcome each: True / False for an insert, a status for an upsert, or the
exception of that item alone."""

InsertLog = Callable[[Sequence[tuple[Event, bool, int]]], None]
"""EventStore's logging of one group: (event, inserted, nanoseconds its caller waited) each."""


SqlRun = Callable[[str, Sequence[Any]], tuple[list[str], list[tuple[Any, ...]]]]
"""Run one SQL statement in a read snapshot: (column names, rows); bad SQL is InvalidQueryError."""


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Base of every engine's options object (``SQLiteOptions``, ...)."""


class WriteTransaction(Protocol):
    """One open write transaction: everything in it commits or rolls back together."""

    def insert_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert events in order; for each, False if its event_id was already stored."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """Scope a part of the transaction that rolls back alone if it raises."""
        ...

    def current(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Return the stored events with these ids, read under the write lock, by id."""
        ...

    def replace(self, versions: Sequence[Version]) -> list[ThumbnailRef]:
        """Store new versions in place of stored events, at new positions (camvault.upserts).

        Returns the thumbnail references of the stored events whose new version does not
        keep their thumbnail (the caller removes those files).
        """
        ...


class AsyncFace(Protocol):
    """How an engine runs store work for asyncio callers without blocking the event loop."""

    @property
    def queued_writes(self) -> int:
        """Writes waiting their turn."""
        ...

    async def insert(self, item: Event | Mapping[str, Any]) -> bool:
        """Insert one event (an engine may commit concurrent inserts together)."""
        ...

    async def upsert(self, item: Event | Mapping[str, Any]) -> str:
        """Upsert one event, committed together with concurrent inserts and upserts."""
        ...

    async def write(self, call: Callable[[], T]) -> T:
        """Run a write, in order with the inserts and writes queued before it."""
        ...

    async def read(self, call: Callable[[], T]) -> T:
        """Run a read: store methods that only read."""
        ...

    async def work(self, call: Callable[[], T]) -> T:
        """Run other work that needs no writer's turn (encoding an image, then a write)."""
        ...

    async def close(self) -> None:
        """Answer every queued write, then release the workers."""
        ...


class Backend(Protocol):
    """A storage engine: one writer, many readers, translated errors."""

    engine: str
    location: str
    """Where the data lives, for messages (a file path, a server and database name)."""
    thumbnails_in_database: bool
    """True when thumbnail images are stored in the database rather than in files."""
    insert_chunk: int
    """Events of a batch handed to ``insert_many`` at once (memory stays flat)."""

    def default_thumbnails_dir(self) -> Path:
        """Return the thumbnail folder used when the store is given none."""
        ...

    def async_face(
        self,
        write_group: GroupWrite,
        *,
        max_group: int,
        read_threads: int,
        log_insert: InsertLog | None = None,
    ) -> AsyncFace:
        """Start the engine's async face; ``write_group`` commits a group of writes.

        A face that commits without ``write_group`` reports each insert to ``log_insert``.
        """
        ...

    def write_transaction(self, action: str) -> AbstractContextManager[WriteTransaction]:
        """Open a write transaction; ``action`` names it in error messages."""
        ...

    def insert_alone(self, events: Sequence[Event], action: str) -> list[bool]:
        """Insert events in one transaction of their own (single inserts, group commits)."""
        ...

    def get_event(self, event_id: str) -> Event | None:
        """Return one event by id, or None."""
        ...

    def query(self, spec: QuerySpec) -> tuple[list[Event], tuple[int, int] | None]:
        """Return events matching ``spec``, newest first, and the keyset of the last one."""
        ...

    def set_thumbnail_path(self, event_id: str, path: str) -> bool:
        """Record an event's thumbnail file; False if the event does not exist."""
        ...

    def save_thumbnail_data(self, event_id: str, data: bytes, fmt: str, path: str) -> bool:
        """Store a thumbnail image in the database (only when thumbnails_in_database)."""
        ...

    def load_thumbnail(self, event_id: str) -> tuple[bytes, str] | None:
        """Return a thumbnail image stored in the database (bytes, format), or None."""
        ...

    def purge_batches(
        self, before: int | None, camera_id: str | None, labels: tuple[str, ...], batch_size: int
    ) -> Iterator[PurgeBatch]:
        """Delete non-retained events in bounded transactions (see SQLiteBackend)."""
        ...

    def trim_batches(self, max_bytes: int, batch_size: int) -> Iterator[PurgeBatch]:
        """Delete the oldest non-retained events until the data fits in ``max_bytes``."""
        ...

    def delete_event(self, event_id: str) -> list[ThumbnailRef] | None:
        """Delete one event; None if it did not exist, else its thumbnail reference."""
        ...

    def delete_person(self, name: str) -> bool:
        """Delete one person by name; False if there was none."""
        ...

    def tail(self, after: int | None, limit: int) -> tuple[list[Event], int]:
        """Return events stored after a position, oldest first, and the new position."""
        ...

    def follow(self, spec: QuerySpec, after: int, upto: int, limit: int) -> list[tuple[int, Event]]:
        """Return (position, event) of events matching ``spec`` in (after, upto], oldest first."""
        ...

    def add_commit_listener(
        self, callback: Callable[[Sequence[Event]], None]
    ) -> Callable[[], None]:
        """Call ``callback`` after each commit with the events it stored; returns remove.

        Called from the committing thread, after the commit, in commit order; a listener
        that raises is logged at ERROR and affects neither the write nor other listeners.
        """
        ...

    def watch_commits(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` soon after a commit by any process; returns the function that stops."""
        ...

    def count(self, spec: QuerySpec) -> int:
        """Return how many events match ``spec``."""
        ...

    def data_range(self) -> tuple[int, int] | None:
        """Return the (oldest, newest) event timestamps, or None when empty."""
        ...

    def data_days(self, lo: int, hi: int) -> list[int]:
        """Return the starts of the UTC days holding events in [lo, hi), ascending."""
        ...

    def histogram(self, spec: HistogramSpec) -> list[tuple[int, str | None, int]]:
        """Return (bucket number, key, count) rows for a histogram."""
        ...

    def upsert_person(self, person: Person, now: int) -> Person:
        """Insert or update a person by name and return it as stored."""
        ...

    def get_person(self, name: str) -> Person | None:
        """Return one person by name, or None."""
        ...

    def list_persons(self) -> list[Person]:
        """Return every person, by name."""
        ...

    def list_cameras(self) -> list[Camera]:
        """Return every camera, by id."""
        ...

    schema_version: int
    """The schema version the database is at."""

    def ping(self) -> None:
        """Run one trivial query: raises the engine's DatabaseError if the database is gone."""
        ...

    def info(self) -> dict[str, Any]:
        """Describe the engine, schema and contents."""
        ...

    def read_snapshot(
        self, action: str, timeout: float | None = None
    ) -> AbstractContextManager[SqlRun]:
        """Lend a read-only view of one moment of the database to run SQL in (writes refused).

        A statement running longer than ``timeout`` seconds is stopped (InvalidQueryError).
        """
        ...

    def close(self) -> None:
        """Release every connection; safe to call twice."""
        ...


class BackendType(Protocol):
    """What the registry loads for a URL scheme: a class that opens its engine."""

    def open(self, url: str, options: EngineOptions | None, *, create: bool) -> Backend:
        """Open the database at ``url`` (options in its query override ``options``)."""
        ...
