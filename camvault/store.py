"""EventStore: the synchronous facade that validates, times, logs and delegates.

Data flows one way: caller -> model validation -> this facade -> backend -> SQL. The async
store, the CLI and the web app are thin layers over this class.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack, cast

from camvault import thumbnails
from camvault.backends import legacy_options, open_backend
from camvault.backends.base import (
    AsyncFace,
    EngineOptions,
    PurgeBatch,
    ThumbnailRef,
    WriteTransaction,
)
from camvault.errors import (
    CamvaultError,
    DatabaseWriteError,
    FieldProblem,
    InvalidEventError,
    InvalidInputError,
    InvalidPersonError,
    InvalidQueryError,
    StoreClosedError,
)
from camvault.histogram import make_spec, to_buckets, to_heatmap
from camvault.models import (
    BatchFailure,
    BatchResult,
    Bucket,
    Camera,
    DetectedObject,
    Event,
    Page,
    Person,
    PurgeResult,
    utcnow,
)
from camvault.query import (
    Filters,
    Order,
    QuerySpec,
    build_query,
    encode_cursor,
)
from camvault.rows import from_micros, to_micros
from camvault.upserts import FIXED, Cleanup, Status, update_in, upsert_in

if TYPE_CHECKING:
    from camvault.adhoc import SqlResult
    from camvault.backup import BackupReport

__all__ = ["EventChanges", "EventStore", "legacy_keywords", "start_async_face"]

log = logging.getLogger("camvault")

PURGE_BATCH = 500
"""Events removed per purge transaction: keeps a writer's wait behind purge short."""


def as_event(item: Event | Mapping[str, Any]) -> Event:
    """Return ``item`` as a validated Event (a mapping is validated; anything else refused)."""
    if isinstance(item, Event):
        return item
    if isinstance(item, Mapping):
        event: Event = Event.model_validate(item)
        return event
    raise InvalidEventError(
        "Event", [("event", f"expected an Event or a mapping, got {type(item).__name__}")]
    )


def _text_arg(what: str, name: str, value: object) -> str:
    """Check that an id-like argument is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidQueryError(what, [(name, "must be a non-empty string")])
    return value


class EventChanges(TypedDict, total=False):
    """The fields update_event may change: every Event field but ``event_id``."""

    timestamp: datetime
    camera_id: str
    motion_confidence: float | None
    detected_objects: list[DetectedObject] | list[Mapping[str, Any]]
    llm_description: str | None
    image_path: str | None
    json_log_path: str | None
    thumbnail_path: str | None
    person_name: str | None
    face_confidence: float | None
    face_distance: float | None
    unlock_granted: bool | None
    door_action: str | None
    recording_id: str | None
    metadata: dict[str, Any]
    retain: bool
    end_time: datetime | None
    zones: list[str]
    license_plate: str | None
    source: str | None


UPDATABLE = frozenset(EventChanges.__annotations__)
"""Event fields that update_event may change."""


def _caller_level() -> int:
    """Return the warnings stacklevel of the first frame outside camvault (the user's)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("camvault."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def legacy_keywords(
    options: EngineOptions | None,
    busy_timeout: float | None,
    durability: Literal["normal", "full"] | None,
    pragmas: Mapping[str, int | str] | None,
) -> EngineOptions | None:
    """Fold the deprecated engine keywords into ``options``, warning at the user's call."""
    if busy_timeout is None and durability is None and pragmas is None:
        return options
    return legacy_options(
        options,
        busy_timeout=busy_timeout,
        durability=durability,
        pragmas=pragmas,
        stacklevel=_caller_level(),
    )


class EventStore:
    """The event store: durable inserts, fast reads, thumbnails, persons and retention."""

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
    ) -> None:
        if not isinstance(slow_insert_ms, int | float) or slow_insert_ms < 0:
            raise InvalidInputError("EventStore", [("slow_insert_ms", "must be >= 0")])
        options = legacy_keywords(options, busy_timeout, durability, pragmas)
        self._backend = open_backend(database, options, create=create)
        self.slow_insert_ms = float(slow_insert_ms)
        self._slow_ns = int(self.slow_insert_ms * 1_000_000)
        self.thumbnails_dir = (
            Path(thumbnails_dir).expanduser().absolute()
            if thumbnails_dir is not None
            else self._backend.default_thumbnails_dir()
        )
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Checkpoint and close the database; the store cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._backend.close()

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._closed

    def _open(self) -> None:
        """Raise StoreClosedError if the store was closed."""
        if self._closed:
            raise StoreClosedError("this EventStore was closed; open a new one")

    # -- writes -----------------------------------------------------------------------

    def insert_event(self, event: Event | Mapping[str, Any]) -> bool:
        """Store one event and its detections; False (and a warning) for a duplicate id."""
        ev = as_event(event)
        self._open()
        start = time.perf_counter_ns()
        inserted = self._backend.insert_alone([ev], "insert an event")[0]
        self._log_insert(ev, inserted, time.perf_counter_ns() - start)
        return inserted

    def insert_group(
        self,
        items: Sequence[Event | Mapping[str, Any]],
        started_ns: Sequence[int] | None = None,
    ) -> list[bool | Exception]:
        """Insert events from many callers in one shared transaction (group commit).

        Each item gets its own outcome: True, False for a duplicate, or the exception that
        applies to it alone: whatever one item raises (a validation, database or any other
        error) fails that item and never its neighbours. ``started_ns``
        (``time.perf_counter_ns()`` when each caller asked) makes slow-insert warnings
        report the latency the caller saw.
        """
        return cast(list[bool | Exception], self.write_group(items, started_ns))

    def write_group(
        self,
        items: Sequence[Event | Mapping[str, Any]],
        started_ns: Sequence[int] | None = None,
        upserts: Sequence[bool] | None = None,
    ) -> list[bool | str | Exception]:
        """Insert and upsert events from many callers in one shared transaction.

        ``upserts[i]`` True makes item i an upsert (its outcome the status of
        :meth:`upsert_event`), else an insert (True, or False for a duplicate). Whatever one
        item raises is that item's outcome alone, as in :meth:`insert_group`.
        """
        flags = upserts if upserts is not None else [False] * len(items)
        outcomes: list[bool | str | Exception] = [False] * len(items)
        valid: list[tuple[int, Event]] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, as_event(item)))
            except Exception as exc:  # the outcome of this item alone
                outcomes[index] = exc
        if not valid:
            return outcomes
        self._open()
        cleanup = Cleanup()
        try:
            if not any(flags[index] for index, _ in valid):
                stored = self._backend.insert_alone(
                    [ev for _, ev in valid], "insert a group of events"
                )
                for (index, _), inserted in zip(valid, stored, strict=True):
                    outcomes[index] = inserted
            else:
                with self._backend.write_transaction("write a group of events") as tx:
                    results = self._write_runs(tx, valid, flags, cleanup)
                for (index, _), result in zip(valid, results, strict=True):
                    outcomes[index] = result
        except Exception as exc:  # isolated below, each item alone
            cleanup = Cleanup()
            if len(valid) == 1:
                outcomes[valid[0][0]] = exc
            else:
                # Isolate whatever failed: each event in a transaction of its own.
                for index, ev in valid:
                    try:
                        outcomes[index] = self._write_one(ev, upsert=flags[index])
                    except Exception as item_exc:  # this item's outcome
                        outcomes[index] = item_exc
        self._tidy(cleanup)
        end = time.perf_counter_ns()
        self._log_writes(
            [
                (ev, outcome, end - (started_ns[index] if started_ns is not None else end))
                for index, ev in valid
                if not isinstance(outcome := outcomes[index], Exception)
            ]
        )
        return outcomes

    def _write_runs(
        self,
        tx: WriteTransaction,
        valid: Sequence[tuple[int, Event]],
        flags: Sequence[bool],
        cleanup: Cleanup,
    ) -> list[bool | str]:
        """Write a group in order: each run of inserts, and each run of upserts, at once."""
        results: list[bool | str] = []
        inserts: list[Event] = []
        upserts: list[Event] = []
        for index, ev in valid:
            if flags[index]:
                if inserts:
                    results.extend(tx.insert_many(inserts))
                    inserts = []
                upserts.append(ev)
            else:
                if upserts:
                    results.extend(self._upsert_run(tx, upserts, cleanup))
                    upserts = []
                inserts.append(ev)
        if inserts:
            results.extend(tx.insert_many(inserts))
        if upserts:
            results.extend(self._upsert_run(tx, upserts, cleanup))
        return results

    def _upsert_run(
        self, tx: WriteTransaction, events: list[Event], cleanup: Cleanup
    ) -> list[Status]:
        """Upsert a run of a group; gather its thumbnails to tidy into ``cleanup``."""
        statuses, tidy = upsert_in(tx, events, self.thumbnails_dir)
        cleanup.removed.extend(tidy.removed)
        cleanup.moved.extend(tidy.moved)
        return statuses

    def _write_one(self, ev: Event, *, upsert: bool) -> bool | str:
        """Insert or upsert one event in a transaction of its own (no logging)."""
        if not upsert:
            return self._backend.insert_alone([ev], "insert an event")[0]
        with self._backend.write_transaction("upsert an event") as tx:
            statuses, cleanup = upsert_in(tx, [ev], self.thumbnails_dir)
        self._tidy(cleanup)
        return statuses[0]

    def _log_insert(self, ev: Event, inserted: bool, elapsed_ns: int) -> None:
        """Warn about a slow insert (with its duration) and about a duplicate id."""
        self._log_writes([(ev, inserted, elapsed_ns)])

    def _log_writes(self, writes: Sequence[tuple[Event, bool | str, int]]) -> None:
        """Warn about each duplicate id, and once per group about slow writes.

        One slow write is named with its duration; a slow group (a disk that stalls makes
        every write in it slow) is one line, not one per event.
        """
        slow = [(ns, ev, outcome) for ev, outcome, ns in writes if ns > self._slow_ns]
        if len(slow) == 1:
            ns, ev, outcome = slow[0]
            log.warning(
                "slow %s: event %s took %.1f ms (threshold %.1f ms)",
                "upsert" if isinstance(outcome, str) else "insert",
                ev.event_id,
                ns / 1e6,
                self.slow_insert_ms,
            )
        elif slow:
            ns, ev, _ = max(slow, key=lambda s: s[0])
            log.warning(
                "slow group: %d of %d writes took longer than %.1f ms (slowest %.1f ms: event %s)",
                len(slow),
                len(writes),
                self.slow_insert_ms,
                ns / 1e6,
                ev.event_id,
            )
        for ev, outcome, _ in writes:
            if outcome is False:
                log.warning("duplicate event_id %r ignored (already stored)", ev.event_id)

    def insert_events(self, events: Iterable[Event | Mapping[str, Any]]) -> BatchResult:
        """Store many events in one transaction; invalid items are reported, not written."""
        self._open()
        result = BatchResult()
        first_duplicate: str | None = None
        with self._backend.write_transaction("insert a batch of events") as tx:
            chunk: list[Event] = []
            for index, item in enumerate(events):
                try:
                    chunk.append(as_event(item))
                except InvalidInputError as exc:
                    result.failed += 1
                    event_id = item.get("event_id") if isinstance(item, Mapping) else None
                    result.errors.append(
                        BatchFailure(
                            index, event_id if isinstance(event_id, str) else None, str(exc)
                        )
                    )
                    continue
                if len(chunk) >= self._backend.insert_chunk:
                    first_duplicate = self._insert_chunk(tx, chunk, result) or first_duplicate
                    chunk = []
            if chunk:
                first_duplicate = self._insert_chunk(tx, chunk, result) or first_duplicate
        if result.duplicates:
            log.warning(
                "%d duplicate event_id(s) ignored in a batch (first: %r)",
                result.duplicates,
                first_duplicate,
            )
        if result.failed:
            log.warning(
                "%d invalid event(s) skipped in a batch (first: #%d %s)",
                result.failed,
                result.errors[0].index,
                result.errors[0].error,
            )
        return result

    @staticmethod
    def _insert_chunk(tx: WriteTransaction, chunk: list[Event], result: BatchResult) -> str | None:
        """Insert one chunk of a batch, count it in ``result``; return its first duplicate id."""
        first_duplicate = None
        for ev, inserted in zip(chunk, tx.insert_many(chunk), strict=True):
            if inserted:
                result.inserted += 1
            else:
                result.duplicates += 1
                first_duplicate = first_duplicate or ev.event_id
        return first_duplicate

    def save_thumbnail(
        self,
        event_id: str,
        image: Any,
        *,
        fmt: thumbnails.Format = "jpeg",
        bgr: bool = False,
    ) -> Path | None:
        """Store a thumbnail for an event and return its path; None (logged) on any failure.

        On a store that keeps thumbnails in the database (PostgreSQL's default) the path is
        the event's ``thumbnail_path``, a name; read the image with :meth:`read_thumbnail`.
        """
        try:
            return self.set_thumbnail(event_id, image, fmt=fmt, bgr=bgr)
        except (thumbnails.ThumbnailError, CamvaultError, OSError) as exc:
            log.warning("thumbnail for event %r not saved: %s", event_id, exc)
            return None

    def set_thumbnail(
        self,
        event_id: str,
        image: Any,
        *,
        fmt: thumbnails.Format = "jpeg",
        bgr: bool = False,
    ) -> Path | None:
        """Store a thumbnail for an event and return its path; None if there is no such event.

        Like :meth:`save_thumbnail`, but says what went wrong: ``ThumbnailError`` (a
        ValueError) for an image that cannot be read, ``DatabaseWriteError`` when the file or
        the database cannot be written. A file the event could not be updated with is removed.
        """
        self._open()
        ev = self.get_event(event_id)
        if ev is None:
            log.warning("thumbnail not saved: no event %r", event_id)
            return None
        data = thumbnails.encode(image, fmt=fmt, bgr=bgr)
        path = thumbnails.thumbnail_path(
            self.thumbnails_dir, ev.camera_id, ev.event_id, ev.timestamp, fmt
        )
        if self._backend.thumbnails_in_database:
            if self._backend.save_thumbnail_data(ev.event_id, data, fmt, str(path)):
                return path
            log.warning("thumbnail not saved: event %r was removed meanwhile", event_id)
            return None
        try:
            thumbnails.write(path, data)
        except OSError as exc:
            raise DatabaseWriteError(
                f"writing the thumbnail {path} failed: {exc.strerror or exc}; free space on "
                "that disk or make the folder writable, then retry (no file was left)"
            ) from exc
        try:
            recorded = self._backend.set_thumbnail_path(ev.event_id, str(path))
        except BaseException:
            thumbnails.remove_quietly(path)  # the event does not point at it: no orphan
            raise
        if not recorded:
            thumbnails.remove_quietly(path)
            log.warning("thumbnail not saved: event %r was removed meanwhile", event_id)
            return None
        return path

    def read_thumbnail(self, event_id: str) -> tuple[bytes, thumbnails.Format] | None:
        """Return the thumbnail camvault made for an event (its bytes and format), or None.

        Reads the database or the file, wherever this store keeps thumbnails; a path that a
        client set on the event is never read.
        """
        _text_arg("read_thumbnail", "event_id", event_id)
        self._open()
        ev = self._backend.get_event(event_id)
        path = None if ev is None else thumbnails.owned_by(self.thumbnails_dir, ev)
        if path is None:
            return None
        fmt: thumbnails.Format = "webp" if path.suffix == ".webp" else "jpeg"
        if self._backend.thumbnails_in_database:
            found = self._backend.load_thumbnail(event_id)
            return None if found is None else (found[0], fmt)
        if not self._in_thumbnails_dir(path):
            return None
        try:
            return path.read_bytes(), fmt
        except OSError:
            return None

    def purge(
        self,
        older_than: timedelta | None = None,
        camera_id: str | None = None,
        *,
        label: str | Iterable[str] | None = None,
        max_bytes: int | None = None,
    ) -> PurgeResult:
        """Remove old events with their detections, rollup counts and thumbnails.

        ``older_than`` removes events older than that age (optionally of one camera, and
        with ``label`` only events whose detections all carry those labels); ``max_bytes``
        then removes the oldest events until the database fits. Events with
        ``retain=True`` are never removed. Works in small transactions, so writers never
        wait long behind it.
        """
        problems: list[FieldProblem] = []
        if older_than is not None and (
            not isinstance(older_than, timedelta) or older_than <= timedelta(0)
        ):
            problems.append(("older_than", "must be a positive timedelta"))
        if camera_id is not None and (not isinstance(camera_id, str) or not camera_id):
            problems.append(("camera_id", "must be a non-empty string"))
        labels = (label,) if isinstance(label, str) else tuple(label or ())
        if not all(isinstance(x, str) and x for x in labels):
            problems.append(("label", "must be a non-empty string or a list of them"))
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0
        ):
            problems.append(("max_bytes", "must be a whole number of bytes >= 0"))
        if older_than is None and max_bytes is None:
            problems.append(("older_than", "give older_than, max_bytes or both"))
        if (camera_id is not None or labels) and older_than is None:
            problems.append(("older_than", "camera_id and label narrow an age purge; give one"))
        if problems:
            raise InvalidQueryError("purge", problems)
        self._open()
        batches: list[Iterable[PurgeBatch]] = []
        if older_than is not None:
            cutoff = to_micros(utcnow() - older_than)
            batches.append(self._backend.purge_batches(cutoff, camera_id, labels, PURGE_BATCH))
        if max_bytes is not None:
            batches.append(self._backend.trim_batches(max_bytes, PURGE_BATCH))
        removed = files = 0
        for source in batches:
            for count, refs in source:
                removed += count
                files += self._remove_thumbnails(refs)
        if removed:
            log.info("purged %d event(s) and %d thumbnail(s)", removed, files)
        return PurgeResult(removed, files)

    def delete_event(self, event_id: str) -> bool:
        """Remove one event (its detections, counts and thumbnail); False if it was absent."""
        _text_arg("delete_event", "event_id", event_id)
        self._open()
        refs = self._backend.delete_event(event_id)
        if refs is None:
            return False
        self._remove_thumbnails(refs)
        return True

    def upsert_event(self, event: Event | Mapping[str, Any]) -> Status:
        """Store an event, or its next version when its event_id is stored already.

        The stored event takes every field of ``event``, except that a ``thumbnail_path``
        of None keeps the stored thumbnail and ``retain`` once True stays True. Returns
        "inserted", "updated" (published on the commit bus at a new position) or
        "unchanged" (nothing written, nothing published).
        """
        ev = as_event(event)
        self._open()
        start = time.perf_counter_ns()
        with self._backend.write_transaction("upsert an event") as tx:
            statuses, cleanup = upsert_in(tx, [ev], self.thumbnails_dir)
        self._tidy(cleanup)
        self._log_writes([(ev, statuses[0], time.perf_counter_ns() - start)])
        return statuses[0]

    def update_event(self, event_id: str, **changes: Unpack[EventChanges]) -> Event | None:
        """Change fields of a stored event and return it as stored; None if it is absent.

        Any field but ``event_id`` may change; the result is validated as a whole Event
        (an error names each wrong field and nothing is written). The new version is
        published on the commit bus at a new position.
        """
        _text_arg("update_event", "event_id", event_id)
        problems: list[FieldProblem] = []
        updatable = ", ".join(sorted(UPDATABLE))
        if not changes:
            problems.append(("changes", f"give at least one field to change: {updatable}"))
        for name in sorted(set(changes) - UPDATABLE):
            reason = "cannot be updated" if name in FIXED else "is not an Event field"
            problems.append((name, f"{reason}; updatable fields: {updatable}"))
        if "retain" in changes and not isinstance(changes["retain"], bool):
            problems.append(("retain", "must be true or false"))
        if problems:
            raise InvalidQueryError("update_event", problems)
        self._open()
        with self._backend.write_transaction("update an event") as tx:
            event, cleanup = update_in(tx, event_id, changes, self.thumbnails_dir)
        self._tidy(cleanup)
        return event

    def _tidy(self, cleanup: Cleanup) -> None:
        """Remove the thumbnails new versions dropped; move those that moved with them."""
        self._remove_thumbnails(cleanup.removed)
        if self._backend.thumbnails_in_database:
            return  # the path is a name; the image is a row that stayed with its event
        for old, new in cleanup.moved:
            try:
                Path(new).parent.mkdir(parents=True, exist_ok=True)
                os.replace(old, new)
            except OSError as exc:
                log.warning("thumbnail %s not moved to %s: %s", old, new, exc)

    def _remove_thumbnails(self, refs: Iterable[ThumbnailRef]) -> int:
        """Delete the thumbnail files camvault made for these removed events, and no other.

        Returns how many thumbnails went; those stored in the database went with their events.
        """
        in_database = self._backend.thumbnails_in_database
        removed = 0
        for event_id, camera_id, ts, name in refs:
            path = thumbnails.owned(self.thumbnails_dir, camera_id, event_id, from_micros(ts), name)
            if path is None:
                continue
            if in_database or (self._in_thumbnails_dir(path) and thumbnails.remove_quietly(path)):
                removed += 1
        return removed

    def _in_thumbnails_dir(self, path: Path) -> bool:
        """Tell whether ``path``, links resolved, lies in the thumbnails folder.

        Resolving costs a system call per path component: only for a file about to be read
        or removed, never for a write that removes none.
        """
        return path.resolve().is_relative_to(self.thumbnails_dir.resolve())

    # -- reads ------------------------------------------------------------------------

    def get_event(self, event_id: str) -> Event | None:
        """Return the event with this id, or None."""
        _text_arg("get_event", "event_id", event_id)
        self._open()
        return self._backend.get_event(event_id)

    def get_recent_events(self, limit: int = 50, camera_id: str | None = None) -> list[Event]:
        """Return the newest events, optionally of one camera, newest first."""
        return self.query(camera_id=camera_id, limit=limit).events

    def query(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        order: Order = "newest",
        **filters: Unpack[Filters],
    ) -> Page:
        """Return matching events (newest first by default) and a cursor to the next page."""
        spec = build_query(
            limit=limit, cursor=cursor, order=order, extra=("limit", "cursor", "order"), **filters
        )
        self._open()
        events, last = self._backend.query(spec)
        return Page(events, None if last is None else encode_cursor(*last))

    def tail(self, after: int | None = None, limit: int = 100) -> tuple[list[Event], int]:
        """Return events stored since position ``after`` (oldest first) and the new position.

        Start with ``after=None`` (no events, the current position), then pass the position
        back to follow new events from any writer: the live view uses this.
        """
        if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
            raise InvalidQueryError("tail", [("after", "must be a position returned by tail()")])
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidQueryError("tail", [("limit", "must be a whole number from 1 to 1000")])
        self._open()
        return self._backend.tail(after, limit)

    def subscribe(self, callback: Callable[[Sequence[Event]], None]) -> Callable[[], None]:
        """Call ``callback`` with the events of each commit, in commit order; returns unsubscribe.

        Every writer of this store counts (inserts, batches, the async store's group
        commits). The callback runs on the writer's thread right after the commit, while
        the next commit waits: keep it short and hand work off (a queue, a thread); it must
        not write to this store. One that raises is logged and never affects the write.
        """
        if not callable(callback):
            raise InvalidInputError("subscribe", [("callback", "must be callable")])
        self._open()
        return self._backend.add_commit_listener(callback)

    def _follow(
        self, spec: QuerySpec, after: int, upto: int | None, limit: int
    ) -> tuple[list[tuple[int, Event]], int]:
        """Return (position, event) of matches in (after, upto] and the position covered.

        ``upto=None`` reads up to the current end. Used by the commit bus (watch()).
        """
        self._open()
        if upto is None:
            upto = self._backend.tail(None, 1)[1]
        rows = self._backend.follow(spec, after, upto, limit) if after < upto else []
        return rows, rows[-1][0] if len(rows) == limit else upto

    def _on_commit_anywhere(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` soon after any process commits; returns stop (see watch())."""
        self._open()
        return self._backend.watch_commits(wake)

    def count(self, **filters: Unpack[Filters]) -> int:
        """Return how many events match the filters of query()."""
        spec = build_query(what="count", **filters)
        self._open()
        data_range = self._backend.data_range()
        if data_range is None:
            return 0
        totals = make_spec(spec, "hour", None, None, data_range)
        if totals.rollup is not None:  # hourly rollups answer it: no scan of events
            return sum(n for _, _, n in self._backend.histogram(totals))
        return self._backend.count(spec)

    def histogram(
        self,
        bucket: str = "hour",
        *,
        by: str | None = None,
        tz: str | tzinfo | None = None,
        **filters: Unpack[Filters],
    ) -> list[Bucket]:
        """Count events per hour or day (in ``tz``), optionally per label, camera or person.

        With ``by="label"`` an event counts once under each label it contains. Buckets with
        no events are left out. Answered from hourly rollups when the filters allow.
        """
        spec = build_query(what="histogram", extra=("bucket", "by", "tz"), **filters)
        self._open()
        data_range = self._backend.data_range()
        hspec = make_spec(  # validates even when empty
            spec, bucket, by, tz, data_range, data_days=self._backend.data_days
        )
        if data_range is None:
            return []
        return to_buckets(hspec, self._backend.histogram(hspec))

    def heatmap(
        self, *, tz: str | tzinfo | None = None, **filters: Unpack[Filters]
    ) -> list[list[int]]:
        """Count events by weekday and hour of day in ``tz``: 7 rows (Monday first) of 24.

        Folded from the hourly histogram (rollups when the filters allow). In a zone whose
        offset is not whole hours, the cell of hour h holds the UTC hour starting within h.
        """
        spec = build_query(what="heatmap", extra=("tz",), **filters)
        self._open()
        data_range = self._backend.data_range()
        hspec = make_spec(spec, "hour", None, tz, data_range, what="heatmap")
        rows = [] if data_range is None else self._backend.histogram(hspec)
        return to_heatmap(hspec, rows)

    # -- persons and cameras ----------------------------------------------------------

    def upsert_person(self, person: Person | Mapping[str, Any]) -> Person:
        """Create or update a known person by name; returns the stored record."""
        if isinstance(person, Mapping):
            person = Person.model_validate(person)
        if not isinstance(person, Person):
            raise InvalidPersonError("Person", [("person", "expected a Person or a mapping")])
        self._open()
        return self._backend.upsert_person(person, to_micros(utcnow()))

    def get_person(self, name: str) -> Person | None:
        """Return the person with this name, or None."""
        _text_arg("get_person", "name", name)
        self._open()
        return self._backend.get_person(name)

    def delete_person(self, name: str) -> bool:
        """Forget a known person; False if there was none (their events stay)."""
        _text_arg("delete_person", "name", name)
        self._open()
        return self._backend.delete_person(name)

    def list_persons(self) -> list[Person]:
        """Return every known person, by name."""
        self._open()
        return self._backend.list_persons()

    def list_cameras(self) -> list[Camera]:
        """Return every camera that has produced an event, by id."""
        self._open()
        return self._backend.list_cameras()

    def ping(self) -> dict[str, Any]:
        """Check that the database answers (one cheap query); return engine and schema version."""
        self._open()
        self._backend.ping()
        return {"engine": self._backend.engine, "schema_version": self._backend.schema_version}

    def info(self) -> dict[str, Any]:
        """Describe the store: engine, versions, schema, counts and locations."""
        self._open()
        from camvault import __version__

        return {
            **self._backend.info(),
            "thumbnails_dir": str(self.thumbnails_dir),
            "slow_insert_ms": self.slow_insert_ms,
            "camvault_version": __version__,
        }

    def backup(
        self,
        dest: str | os.PathLike[str],
        *,
        with_thumbnails: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> BackupReport:
        """Copy this SQLite store to ``dest`` while it stays in use, and check the copy."""
        from camvault.backup import backup_store

        return backup_store(self, dest, with_thumbnails=with_thumbnails, progress=progress)

    def sql(self, query: str, params: Sequence[Any] = ()) -> SqlResult:
        """Run one read-only SQL statement on a reader, in a snapshot; return columns and rows.

        Placeholders are the engine's own (``?`` on SQLite, ``%s`` on PostgreSQL). A write,
        ATTACH or a pragma that changes settings is refused (InvalidQueryError); a statement
        running longer than 30 s is stopped.
        """
        from camvault.adhoc import SQL_TIMEOUT_S, SqlResult, check_sql

        query, values = check_sql(query, params)
        self._open()
        with self._backend.read_snapshot("run SQL", timeout=SQL_TIMEOUT_S) as run:
            columns, rows = run(query, values)
        return SqlResult(columns, rows)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<EventStore {self._backend.engine} {self._backend.location} {state}>"


def start_async_face(store: EventStore, *, max_group: int, read_threads: int) -> AsyncFace:
    """Start the engine's async face over ``store`` (AsyncEventStore runs on it)."""
    store._open()
    return store._backend.async_face(
        store.write_group,
        max_group=max_group,
        read_threads=read_threads,
        log_insert=store._log_writes,
    )
