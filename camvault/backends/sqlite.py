"""The embedded SQLite engine, through APSW (which bundles a current SQLite).

One writer connection serializes every write with ``BEGIN IMMEDIATE``; readers have
connections of their own, so queries never wait behind writes (WAL). Checkpoints run on a
background thread fed by the WAL hook, so they stay off the insert path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apsw

from camvault.backends.base import (
    EngineOptions,
    GroupWrite,
    InsertLog,
    PurgeBatch,
    SqlRun,
    ThumbnailRef,
    Version,
    failing_inserts,
    run_insert_checks,
)
from camvault.backends.pacing import Pacer
from camvault.backends.sqlite_async import ThreadedFace
from camvault.backends.sqlite_errors import translate
from camvault.backends.sqlite_options import SQLiteOptions
from camvault.backends.sqlite_rows import (
    INSERT_COLUMNS,
    camera_from_row,
    detection_rows,
    event_from_row,
    event_to_row,
    labels_from_json,
    person_from_row,
    zone_rows,
)
from camvault.backends.sqlite_space import (
    CHECKPOINT_WAIT_S,
    PASSIVE_STEPS,
    WalLimits,
    reclaim_step,
    restart_wal,
    space_report,
)
from camvault.backends.sqlite_sql import (
    COLUMNS,
    data_days,
    events_histogram,
    rollup_histogram,
    select_events,
    select_listed,
    where,
    where_listed,
)
from camvault.backends.sqlite_text import PENDING_TEXTS, index_pending, text_page
from camvault.bus import CommitListener, CommitListeners
from camvault.errors import DatabaseError, InvalidInputError, InvalidQueryError, MigrationError
from camvault.histogram import HistogramSpec, RollupPart
from camvault.migrations import Migration, load_migrations
from camvault.models import Camera, Event, Person
from camvault.query import QuerySpec
from camvault.rollups import RollupKey, add_event
from camvault.rows import to_micros

__all__ = ["SQLiteBackend", "failing_inserts"]

log = logging.getLogger("camvault")

_INSERT_EVENT_AT = (
    f"INSERT INTO events (id, {', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * (len(INSERT_COLUMNS) + 1))}) ON CONFLICT (event_id) DO NOTHING"
)
_INSERT_EVENTS_AT = f"{_INSERT_EVENT_AT} RETURNING id"
"""Many events at once: RETURNING tells which were stored (one event: changes() is cheaper)."""
_POSITION = (
    "SELECT max(coalesce((SELECT max(id) FROM events), 0), "
    "coalesce((SELECT high_water FROM positions), 0))"
)
"""The current position: the newest id stored or deleted."""
_POSITIONS = f"SELECT max(high_water, ({_POSITION})), rolled FROM positions"
"""The writer's view: the current position, and the last one counted in the rollups (v7)."""
_ROLLED = "UPDATE positions SET rolled = ?"
_UNSETTLED = (
    "SELECT coalesce((SELECT max(id) FROM events), 0) - min(rolled, indexed) "
    "+ EXISTS (SELECT 1 FROM fts_pending) FROM positions"
)
"""Roughly how many events wait for the rollups or the text index (0: none)."""
_ROLLED_FROM = 7
"""The schema version that counts and indexes events after their commit (positions.rolled and
.indexed); a store opened at an older one (a test writing rows the old way) settles nothing."""
_INSERT_DETECTION = (
    "INSERT INTO detections (event_rowid, idx, label, confidence, x1, y1, x2, y2, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ZONE = "INSERT INTO event_zones (event_rowid, zone, ts) VALUES (?, ?, ?)"
_INSERT_CAMERA = "INSERT OR IGNORE INTO cameras (camera_id, name, created_at) VALUES (?, NULL, ?)"
_PERSON_COLUMNS = "name, authorized, notes, created_at, updated_at"
_FILE_PRAGMAS = frozenset(
    {"application_id", "auto_vacuum", "journal_mode", "page_size", "schema_version", "user_version"}
)
"""Pragmas that write the database file: set through the writer connection only."""
_ROLLUP = (
    "INSERT INTO rollup_hourly (dim, hour, camera_id, key, n) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (dim, hour, camera_id, key) DO UPDATE SET n = n + excluded.n"
)
_ROLLUP_PRUNE = (
    "DELETE FROM rollup_hourly WHERE dim = ? AND hour = ? AND camera_id = ? AND key = ? AND n <= 0"
)
_HOUR_OF = "{t} - (({t} % 3600000000) + 3600000000) % 3600000000"
_ROLLUP_RANGE = (
    "INSERT INTO rollup_hourly (dim, hour, camera_id, key, n) SELECT * FROM ("
    f"SELECT 'event', {_HOUR_OF.format(t='ts')}, camera_id, '', count(*) "
    "FROM events WHERE id >= ?1 AND id < ?2 GROUP BY 2, 3 "
    f"UNION ALL SELECT 'label', {_HOUR_OF.format(t='e.ts')}, e.camera_id, d.label, "
    "count(DISTINCT d.event_rowid) FROM detections d CROSS JOIN events e ON e.id = d.event_rowid "
    "WHERE d.event_rowid >= ?1 AND d.event_rowid < ?2 GROUP BY 2, 3, 4 "
    f"UNION ALL SELECT 'person', {_HOUR_OF.format(t='ts')}, camera_id, person_name, count(*) "
    "FROM events WHERE id >= ?1 AND id < ?2 AND person_name IS NOT NULL GROUP BY 2, 3, 4"
    ") WHERE true ON CONFLICT (dim, hour, camera_id, key) DO UPDATE SET n = n + excluded.n"
)
"""The rollup counts of the events stored at positions [?1, ?2), added in one statement."""
_ROLL_CHUNK = 8192
"""Positions counted per background transaction (one aggregated statement each)."""
_DELETED = "RETURNING id, ts, camera_id, person_name, detected_objects, thumbnail_path, event_id"
_INDEX_CHUNK = 8192
"""Pending descriptions indexed per transaction (one FTS5 segment each); the write lock is
let go between two, so inserts never wait behind a whole import's indexing."""
_SETTLE_AT = 1024
"""Events waiting for the rollups, or descriptions for the index, that wake the background at
once (else it settles them within a second). Fewer, larger passes cost less per event: one
FTS5 segment and one set of rollup cells for the whole batch."""
_FLUSH_ROWS = 4096
_ROLLED_ROWS = 1024
"""Transactions storing this many events (an import) add every uncounted event to the
rollups before they commit (one aggregated statement per flush); smaller ones (a single
insert, a group commit) leave that to the background, whose larger batches share cells."""
_FEW_IN_ZONES = 2000
"""Events of the filtered zones below which a page lists them first (see _few_in_zones)."""
_WATCH_INTERVAL = 0.004
"""Seconds between two looks for commits made by other connections (watch())."""


def _few_in_zones(conn: apsw.Connection, spec: QuerySpec) -> bool:
    """Return True when few events entered the zones a query filters by (a quick look).

    Then the page lists those events first; otherwise it walks events in time order and
    looks each up, which finds a page of a common zone after a few events.
    """
    if not spec.zones:
        return False
    marks = ", ".join("?" * len(spec.zones))
    row: Any = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM event_zones WHERE zone IN ({marks}) LIMIT ?)",
        (*spec.zones, _FEW_IN_ZONES),
    ).fetchall()[0]
    return int(row[0]) < _FEW_IN_ZONES


class _Transaction:
    """An open write transaction on the writer connection."""

    __slots__ = (
        "_backend",
        "_collect",
        "_detections",
        "_inserted",
        "_next_id",
        "_rolled",
        "_rollups",
        "_zones",
        "conn",
        "new_cameras",
        "settled",
        "stored",
        "texts",
    )

    def __init__(self, backend: SQLiteBackend, conn: apsw.Connection) -> None:
        self._backend = backend
        self.conn = conn
        self._detections: list[tuple[Any, ...]] = []
        self._zones: list[tuple[Any, ...]] = []
        self._rollups: Counter[RollupKey] = Counter()
        self._next_id = -1  # the position of the next event; -1: not looked up yet
        self._rolled = -1  # events above this position are not in the rollups yet
        self._inserted = 0  # events this transaction stored
        self.new_cameras: set[str] = set()
        self.texts = 0
        self.settled = False
        self.stored: list[Event] = []  # what the commit listeners get, in insertion order
        self._collect = bool(backend.listeners)  # none: a huge import keeps no events alive

    def insert_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert events in order; for each, False if its event_id was already stored.

        The events go in one statement run over prebuilt rows, at positions given here (one
        lookup per transaction); RETURNING tells which were stored, and only those get
        detection, zone and rollup rows (written by :meth:`flush`).
        """
        for event in events:
            run_insert_checks(event)
        conn = self.conn
        rows = [event_to_row(event) for event in events]
        known, new = self._backend.known_cameras, self.new_cameras
        cameras = {r[2]: r[1] for r in rows if r[2] not in known and r[2] not in new}
        if cameras:
            conn.executemany(_INSERT_CAMERA, cameras.items())
            new.update(cameras)
        first = self._next_id
        if first < 0:  # once per transaction (and after a delete or a rollback)
            first = self._positions() + 1
        self._next_id = first + len(rows)
        if len(rows) == 1:
            conn.execute(_INSERT_EVENT_AT, (first, *rows[0]))
            outcome = [conn.changes() == 1]
        else:
            stored = {
                r[0]
                for r in conn.executemany(
                    _INSERT_EVENTS_AT, [(first + i, *row) for i, row in enumerate(rows)]
                )
            }
            if len(stored) == len(rows):
                outcome = [True] * len(rows)
            else:
                outcome = [first + i in stored for i in range(len(rows))]
        detections, zones = self._detections, self._zones
        for i, (event, row) in enumerate(zip(events, rows, strict=True)):
            if not outcome[i]:
                continue
            rowid = first + i
            self._inserted += 1
            if event.detected_objects:
                detections.extend(detection_rows(rowid, row[1], event))
            if event.zones:
                zones.extend(zone_rows(rowid, row[1], event))
            if row[5] is not None:
                self.texts += 1
            if self._collect:
                self.stored.append(event)
        if len(detections) + len(zones) >= _FLUSH_ROWS:
            self.flush()
        return outcome

    def _positions(self) -> int:
        """Look up the current position and the rollups' mark; return the position."""
        row: Any = self.conn.execute(_POSITIONS).fetchall()[0]
        position, rolled = row
        self._rolled = int(rolled)
        return int(position)

    def current(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Return the stored events with these ids, read under the write lock, by id."""
        marks = ", ".join("?" * len(event_ids))
        rows = self.conn.execute(
            f"SELECT {COLUMNS} FROM events e WHERE e.event_id IN ({marks})", tuple(event_ids)
        )
        return {event.event_id: event for event in map(event_from_row, rows)}

    def replace(self, versions: Sequence[Version]) -> list[ThumbnailRef]:
        """Store new versions in place of stored events, at new positions (camvault.upserts).

        The old rows go (one statement) with their detections, zones, text entries and
        counts; thumbnail files live outside the database, so one that a new version keeps
        is left as it is.
        """
        old = [v.stored.event_id for v in versions if v.stored is not None]
        gone: list[ThumbnailRef] = []
        if old:
            _, refs = self.delete(f"event_id IN ({', '.join('?' * len(old))})", tuple(old))
            dropped = {v.new.event_id for v in versions if not v.keeps_thumbnail}
            gone = [ref for ref in refs if ref[0] in dropped]
        for version in versions:
            self.insert_many([version.new])
        return gone

    def settle(self) -> bool:
        """Count a chunk of new events in the rollups, index a chunk of texts; True if more wait."""
        last = self._positions()
        upto = min(last, self._rolled + _ROLL_CHUNK)
        if upto > self._rolled:
            self._roll(upto)
        more = index_pending(self.conn, _INDEX_CHUNK) or upto < last
        self.texts = 0
        self.settled = not more
        return more

    def unrolled(self) -> int:
        """Return how many of the events stored here the rollups do not count yet."""
        if 0 <= self._next_id - 1 <= self._rolled:
            return 0
        return self._inserted

    def _roll(self, upto: int) -> None:
        """Add the events at positions (rolled, upto] to the rollups, in one statement."""
        self.conn.execute(_ROLLUP_RANGE, (self._rolled + 1, upto + 1))
        self.conn.execute(_ROLLED, (upto,))
        self._rolled = upto

    def delete(self, condition: str, params: tuple[Any, ...]) -> PurgeBatch:
        """Delete the events matching ``condition`` (on ``events``) with their rollup counts.

        Detections go by cascade, the full-text entries by trigger. Returns how many events
        were deleted and the thumbnail references of those that had one.
        """
        self.flush()  # detection and zone rows of events inserted earlier go by cascade too
        if self._rolled < 0:
            self._positions()
        rolled = self._rolled
        rows = self.conn.execute(f"DELETE FROM events WHERE {condition} {_DELETED}", params)
        self._next_id = -1  # the newest event may be gone: look up the next position again
        removed, refs = 0, []
        for rowid, ts, camera_id, person, objects, thumbnail, event_id in rows:
            removed += 1
            if rowid <= rolled:  # an event above the mark was never counted
                labels = labels_from_json(objects)
                add_event(self._rollups, ts, camera_id, labels, person, sign=-1)
            if thumbnail:
                refs.append((str(event_id), str(camera_id), int(ts), str(thumbnail)))
        return removed, refs

    def flush(self) -> None:
        """Write buffered detection rows and rollup counts."""
        if self._detections:
            self.conn.executemany(_INSERT_DETECTION, self._detections)
            self._detections.clear()
        if self._zones:
            self.conn.executemany(_INSERT_ZONE, self._zones)
            self._zones.clear()
        if self._inserted >= _ROLLED_ROWS and self._next_id - 1 > self._rolled >= 0:
            self._roll(self._next_id - 1)  # many events: they and any left before, at once
        if self._rollups:
            cells = [(*key, n) for key, n in self._rollups.items() if n]
            self.conn.executemany(_ROLLUP, cells)
            emptied = [c[:4] for c in cells if c[4] < 0]
            if emptied:
                self.conn.executemany(_ROLLUP_PRUNE, emptied)
            self._rollups.clear()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Scope a part of the transaction that rolls back alone if it raises."""
        self.flush()
        self.conn.execute("SAVEPOINT one")
        stored = len(self.stored)
        try:
            yield
            self.flush()
        except BaseException:
            self._detections.clear()
            self._zones.clear()
            self._rollups.clear()
            self._next_id = self._rolled = -1  # both may have moved inside: look them up again
            del self.stored[stored:]
            self.conn.execute("ROLLBACK TO one")
            self.conn.execute("RELEASE one")
            raise
        self.conn.execute("RELEASE one")


class SQLiteBackend:
    """Events in one SQLite file in WAL mode."""

    engine = "sqlite"
    thumbnails_in_database = False
    insert_chunk = 64  # rows go one by one anyway: a failing batch stops reading its input soon

    def __init__(
        self,
        path: str | Path,
        options: SQLiteOptions | None = None,
        *,
        migrations_dir: Path | None = None,
        create: bool = True,
    ) -> None:
        options = options or SQLiteOptions()
        self.path = Path(path).expanduser().absolute()
        self.location = str(self.path)
        self._busy_ms = int(options.busy_timeout * 1000)
        self._synchronous = options.synchronous
        self._checkpoint_pages = options.checkpoint_pages
        self._pragmas = dict(options.pragmas)
        self._lock = threading.Lock()
        self._checkpointing = threading.Lock()  # taken after _lock, never before it
        self.listeners = CommitListeners()
        self._readers: queue.SimpleQueue[apsw.Connection] = queue.SimpleQueue()
        self._closed = False
        self.known_cameras: set[str] = set()
        self.checkpoints = 0
        self.wal_restarts = 0
        self.commits = 0
        self._wal = WalLimits(self._checkpoint_pages, 4096)  # the writer reads the page size
        self._wal_wait = min(CHECKPOINT_WAIT_S, options.busy_timeout)
        self._force_at = self._wal.force_pages
        self._passive_at = self._checkpoint_pages  # WAL pages that call the next passive one
        self._restart_after = 0.0
        self._reclaiming = False
        self._shrink_pending = False  # reclaim is done; the file shrinks at a full checkpoint
        self._incremental = False
        self.schema_version = 0
        self.backup_path: Path | None = None
        if self.path.is_dir():
            raise DatabaseError(f"cannot open {self.path}: it is a folder, not a database file")
        if not create and not self.path.exists():
            raise DatabaseError(
                f"no database at {self.path}; check the path (or --db / CAMVAULT_DB), "
                "or record events first"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder {self.path.parent}: {exc}") from exc
        self._writer = self._connect("open the database", writer=True)
        try:
            self._migrate(load_migrations("sqlite", migrations_dir))
            self.known_cameras = {
                r[0] for r in self._writer.execute("SELECT camera_id FROM cameras")
            }
            self._incremental = self._pragma_int(self._writer, "auto_vacuum") == 2
        except BaseException:
            self._writer.close()
            raise
        self._wake = threading.Event()
        self._need_checkpoint = False
        self._pending_texts = 0
        self._unrolled = self._left_unsettled()
        self._checkpointer = threading.Thread(
            target=self._maintenance_loop, name="camvault-maintenance", daemon=True
        )
        self._checkpointer.start()
        self._writer.set_wal_hook(self._on_wal)

    @classmethod
    def open(cls, url: str, options: EngineOptions | None, *, create: bool) -> SQLiteBackend:
        """Open ``events.db`` or ``sqlite:///events.db?durability=full`` (URL options win)."""
        if options is not None and not isinstance(options, SQLiteOptions):
            raise InvalidInputError(
                "EventStore", [("options", f"a SQLite store takes SQLiteOptions, not {options!r}")]
            )
        path, query = url, ""
        if "://" in url:
            parts = urlsplit(url)
            path = unquote(parts.netloc + parts.path)
            query = parts.query
            if path.startswith("/"):
                path = path[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db is absolute
        if not path or path == ":memory:":
            raise DatabaseError(
                "camvault needs a database file (thumbnails and readers live beside it); "
                "give a path such as 'events.db'"
            )
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            repeated = sorted({name for name, _ in pairs if [n for n, _ in pairs].count(name) > 1})
            if repeated:
                raise InvalidInputError(
                    "database URL", [(name, "given more than once") for name in repeated]
                )
            options = SQLiteOptions.from_query(dict(pairs), options)
        return cls(path, options, create=create)

    def async_face(
        self,
        write_group: GroupWrite,
        *,
        max_group: int,
        read_threads: int,
        log_insert: InsertLog | None = None,
    ) -> ThreadedFace:
        """One writer thread with group commit (SQLite has one writer) and a reader pool."""
        return ThreadedFace(write_group, max_group=max_group, read_threads=read_threads)

    def default_thumbnails_dir(self) -> Path:
        """Thumbnails live beside the file: ``events.db`` -> ``events-thumbnails/``."""
        return self.path.with_name(f"{self.path.stem}-thumbnails")

    # -- connections ------------------------------------------------------------------

    def _connect(self, action: str, *, writer: bool) -> apsw.Connection:
        """Open and configure one connection."""
        try:
            conn = apsw.Connection(
                str(self.path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
            )
        except apsw.Error as exc:
            raise translate(exc, action, str(self.path), write=False) from exc
        try:
            conn.set_busy_timeout(self._busy_ms)
            if writer:
                new_file = self._pragma_int(conn, "page_count") == 0  # old ones keep theirs
                if new_file and "auto_vacuum" not in self._pragmas:  # once set, it stays
                    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")
                conn.execute("PRAGMA foreign_keys = ON")
            else:
                conn.execute("PRAGMA query_only = ON")
                conn.execute("PRAGMA mmap_size = 268435456")
            conn.execute("PRAGMA cache_size = -16000")
            conn.execute("PRAGMA temp_store = MEMORY")
            if writer:  # the first connection: the file's page size is known from here on
                self._wal = WalLimits(self._checkpoint_pages, self._pragma_int(conn, "page_size"))
            conn.execute(f"PRAGMA journal_size_limit = {self._wal.journal_size_limit}")
            for name, value in self._pragmas.items():
                if not name.replace("_", "").isalnum():
                    raise DatabaseError(f"pragma name {name!r} is not a SQLite pragma")
                if not writer and name.lower() in _FILE_PRAGMAS:
                    continue  # the writer set it in the file; a read-only connection cannot
                conn.execute(f"PRAGMA {name} = {int(value) if isinstance(value, int) else value!r}")
        except apsw.Error as exc:
            conn.close()
            raise translate(exc, action, str(self.path), write=False) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _pragma_int(conn: apsw.Connection, name: str) -> int:
        """Read one whole-number pragma."""
        row: Any = conn.execute(f"PRAGMA {name}").fetchall()[0]
        return int(row[0])

    @contextlib.contextmanager
    def _reader(self, action: str) -> Iterator[apsw.Connection]:
        """Lend a reader connection from the pool, translating engine errors."""
        try:
            conn = self._readers.get_nowait()
        except queue.Empty:
            conn = self._connect(action, writer=False)
        try:
            yield conn
        except apsw.Error as exc:
            raise translate(exc, action, str(self.path), write=False) from exc
        finally:
            if self._closed:
                conn.close()
            else:
                self._readers.put(conn)

    # -- writes -----------------------------------------------------------------------

    @contextlib.contextmanager
    def write_transaction(self, action: str) -> Iterator[_Transaction]:
        """Run the body in one ``BEGIN IMMEDIATE`` transaction on the writer connection."""
        self.listeners.refuse_write(action)  # the lock is held by this very thread: fail, not hang
        with self._lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
            except apsw.Error as exc:
                raise translate(exc, action, str(self.path), write=True) from exc
            tx = _Transaction(self, conn)
            try:
                yield tx
                tx.flush()
                conn.execute("COMMIT")
                self.commits += 1
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(apsw.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, apsw.Error):
                    raise translate(exc, action, str(self.path), write=True) from exc
                raise
            self.known_cameras |= tx.new_cameras
            if tx.settled:  # everything pending, from any transaction, is settled now
                self._pending_texts = self._unrolled = 0
            self._pending_texts += tx.texts
            self._unrolled += tx.unrolled()
            if max(self._pending_texts, self._unrolled) >= _SETTLE_AT:
                self._wake.set()
            if tx.stored and self.listeners:  # after the commit, before the next one: in order
                self.listeners.publish(tx.stored)

    def insert_alone(self, events: Sequence[Event], action: str) -> list[bool]:
        """Insert events in one write transaction of their own."""
        with self.write_transaction(action) as tx:
            return tx.insert_many(events)

    def add_commit_listener(self, callback: CommitListener) -> Callable[[], None]:
        """Call ``callback`` with the events of each commit that stored some; returns remove.

        It runs on the committing thread right after the commit, while the next commit
        waits, so listeners see commits in order; one that raises is logged at ERROR.
        """
        return self.listeners.add(callback)

    def watch_commits(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` soon after any connection, in any process, commits; returns stop.

        One reader connection checks ``PRAGMA data_version`` every few milliseconds (a
        look at the shared WAL index, no read of the database) on a thread of its own.
        """
        conn = self._connect("watch for commits", writer=False)
        version = conn.execute("PRAGMA data_version").fetchall()[0][0]
        stop = threading.Event()

        def run() -> None:
            last = version
            try:
                while not stop.wait(_WATCH_INTERVAL) and not self._closed:
                    try:
                        now = conn.execute("PRAGMA data_version").fetchall()[0][0]
                    except apsw.Error as exc:  # pragma: no cover - a failing disk; wake anyway
                        log.warning("watching %s for commits failed: %s", self.path, exc)
                        now = None
                    if now != last:
                        last = now
                        wake()
            finally:
                conn.close()

        threading.Thread(target=run, name="camvault-watch", daemon=True).start()
        return stop.set

    def flush_text_index(self) -> None:
        """Index pending descriptions now, so a text query sees every event."""
        if self._unsettled(PENDING_TEXTS):
            self._settle_all()

    def _settles(self) -> bool:
        """Say whether the schema counts events after their commit (always, once migrated)."""
        return self.schema_version >= _ROLLED_FROM

    def _left_unsettled(self) -> int:
        """Count what a program that stopped short left out of the counts or the index.

        Asked at open on the writer, open already: no reader connection is opened for it.
        """
        if not self._settles():
            return 0
        left: Any = self._writer.execute(_UNSETTLED).fetchall()[0][0]
        return int(left)

    def _unsettled(self, query: str) -> int:
        """Run a query counting what waits to be settled (a quick look, on a reader)."""
        with self._reader("look for new events to index") as conn:
            row: Any = conn.execute(query).fetchall()[0]
        return int(row[0])

    def _settle_all(self, pause: float = 0.0) -> None:
        """Count and index every new event, a chunk per transaction, ``pause`` s between."""
        more = True
        while more and not self._closed:
            with self.write_transaction("index new events") as tx:
                more = tx.settle()
            if more and pause:
                time.sleep(pause)  # a waiting writer takes the lock in between

    def set_thumbnail_path(self, event_id: str, path: str) -> bool:
        """Record an event's thumbnail file; False if the event does not exist."""
        with self.write_transaction("record a thumbnail") as tx:
            tx.conn.execute(
                "UPDATE events SET thumbnail_path = ? WHERE event_id = ?", (path, event_id)
            )
            return bool(tx.conn.changes())

    def save_thumbnail_data(self, event_id: str, data: bytes, fmt: str, path: str) -> bool:
        """SQLite keeps thumbnails in files beside the database: never called."""
        raise NotImplementedError("SQLite stores thumbnails in files")

    def load_thumbnail(self, event_id: str) -> tuple[bytes, str] | None:
        """SQLite keeps thumbnails in files beside the database: nothing here."""
        return None

    def purge_batches(
        self,
        before: int | None,
        camera_id: str | None,
        labels: tuple[str, ...],
        batch_size: int,
    ) -> Iterator[PurgeBatch]:
        """Delete non-retained events in bounded transactions; yield (count, thumbnails).

        Filters: older than ``before``, of one camera, and only events whose detections all
        carry one of ``labels``.
        """
        clauses: list[str] = ["retain = 0"]
        params: list[Any] = []
        if before is not None:
            clauses.append("ts < ?")
            params.append(before)
        if camera_id is not None:
            clauses.append("camera_id = ?")
            params.append(camera_id)
        if labels:
            marks = ", ".join("?" * len(labels))
            clauses.append(
                f"EXISTS (SELECT 1 FROM detections d WHERE d.event_rowid = events.id "
                f"AND d.label IN ({marks})) AND NOT EXISTS (SELECT 1 FROM detections d "
                f"WHERE d.event_rowid = events.id AND d.label NOT IN ({marks}))"
            )
            params.extend(labels * 2)
        condition = (
            f"id IN (SELECT id FROM events WHERE {' AND '.join(clauses)} ORDER BY ts LIMIT ?)"
        )
        pacer = Pacer(batch_size)
        while True:
            started = time.perf_counter()
            with self.write_transaction("purge events") as tx:
                removed, paths = tx.delete(condition, (*params, pacer.size))
            if not removed:
                self._start_reclaim()
                return
            pacer.took(time.perf_counter() - started)
            yield removed, paths
            pacer.step_aside()

    def trim_batches(self, max_bytes: int, batch_size: int) -> Iterator[PurgeBatch]:
        """Delete the oldest non-retained events until the data fits in ``max_bytes``.

        Each step removes as many events as the excess holds at the average size of an
        event (at most ``batch_size``), then measures again. Deletes free whole pages
        only, so steps shrink as the target nears and hardly more is removed than needed.
        """
        condition = "id IN (SELECT id FROM events WHERE retain = 0 ORDER BY ts LIMIT ?)"
        # descriptions waiting for the index take their room in it soon: measure with them
        # in place, or the indexer would grow the file back while events go to shrink it
        self.flush_text_index()
        used = self.used_bytes()
        if used <= max_bytes:
            return
        with self._reader("count events") as conn:
            row: Any = conn.execute("SELECT count(*) FROM events").fetchall()[0]
        events = int(row[0])
        pacer = Pacer(batch_size)
        while used > max_bytes and events > 0:
            step = min(pacer.size, max(1, math.ceil((used - max_bytes) * events / used)))
            started = time.perf_counter()
            with self.write_transaction("trim the database to its size cap") as tx:
                removed, refs = tx.delete(condition, (step,))
            if not removed:
                break
            if step == pacer.size:
                pacer.took(time.perf_counter() - started)
            events -= removed
            yield removed, refs
            pacer.step_aside()
            used = self.used_bytes()
        self._start_reclaim()

    def delete_event(self, event_id: str) -> list[ThumbnailRef] | None:
        """Delete one event; None if it did not exist, else its thumbnail reference."""
        with self.write_transaction("delete an event") as tx:
            removed, refs = tx.delete("event_id = ?", (event_id,))
        return refs if removed else None

    def delete_person(self, name: str) -> bool:
        """Delete one person by name; False if there was none."""
        with self.write_transaction("delete a person") as tx:
            tx.conn.execute("DELETE FROM persons WHERE name = ?", (name,))
            return bool(tx.conn.changes())

    def used_bytes(self) -> int:
        """Bytes of the database file in use (free pages excluded)."""
        with self._reader("measure the database") as conn:
            row: Any = conn.execute(
                "SELECT page_size * (page_count - freelist_count) "
                "FROM pragma_page_size, pragma_page_count, pragma_freelist_count"
            ).fetchall()[0]
        return int(row[0])

    def upsert_person(self, person: Person, now: int) -> Person:
        """Insert or update a person by name and return it as stored."""
        sql = (
            f"INSERT INTO persons ({_PERSON_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET authorized = excluded.authorized, "
            f"notes = excluded.notes, updated_at = excluded.updated_at RETURNING {_PERSON_COLUMNS}"
        )
        with self.write_transaction("save a person") as tx:
            row = tx.conn.execute(
                sql, (person.name, int(person.authorized), person.notes, now, now)
            ).fetchall()[0]
        return person_from_row(row)

    # -- reads ------------------------------------------------------------------------

    def get_event(self, event_id: str) -> Event | None:
        """Return one event by id, or None."""
        with self._reader("read an event") as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events e WHERE e.event_id = ?", (event_id,)
            ).fetchall()
        return event_from_row(rows[0]) if rows else None

    @contextlib.contextmanager
    def _text_errors(self, spec: QuerySpec) -> Iterator[None]:
        """Turn a full-text syntax error into an InvalidQueryError naming ``text``."""
        try:
            yield
        except apsw.SQLError as exc:
            if spec.text is None:
                raise
            raise InvalidQueryError(
                "query",
                [
                    (
                        "text",
                        f"is not a valid full-text query ({exc}); use words, "
                        '"quoted phrases", prefix*, AND, OR, NOT and parentheses',
                    )
                ],
            ) from None

    def _before_text(self, spec: QuerySpec) -> None:
        """Make the text index complete before a text query (writes only if needed)."""
        if spec.text is not None:
            try:
                self.flush_text_index()
            except DatabaseError as exc:
                log.warning(
                    "text index not brought up to date, newest events may be missed: %s", exc
                )

    def query(self, spec: QuerySpec) -> tuple[list[Event], tuple[int, int] | None]:
        """Return events matching ``spec`` in its order, and the keyset of the last one."""
        self._before_text(spec)
        with self._reader("query events") as conn, self._text_errors(spec):
            if spec.text is not None:
                rows: list[Any] = text_page(conn, spec)
            else:
                select = select_listed if _few_in_zones(conn, spec) else select_events
                sql, params = select(spec)
                rows = conn.execute(sql, params).fetchall()
        events = [event_from_row(r) for r in rows]
        last = (rows[-1][2], rows[-1][0]) if len(rows) == spec.limit else None
        return events, last

    def tail(self, after: int | None, limit: int) -> tuple[list[Event], int]:
        """Return events stored after position ``after`` (oldest first) and the new position.

        The position is the internal row id, so events from any writer (this process or
        another) are seen once each, whatever their timestamps. Ids are never reused (schema
        v4): the current position counts deleted events too.
        """
        with self._reader("follow new events") as conn:
            if after is None:
                row: Any = conn.execute(_POSITION).fetchall()[0]
                return [], int(row[0])
            rows: list[Any] = conn.execute(
                f"SELECT {COLUMNS} FROM events e WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [event_from_row(r) for r in rows], int(rows[-1][0]) if rows else after

    def follow(self, spec: QuerySpec, after: int, upto: int, limit: int) -> list[tuple[int, Event]]:
        """Return (position, event) of events matching ``spec`` in (after, upto], oldest first.

        ``upto`` is a position read before: every event up to it is indexed for text first.
        """
        self._before_text(spec)
        clauses, params = where(spec)
        sql = f"SELECT {COLUMNS} FROM events e WHERE " + " AND ".join(
            ["e.id > ?", "e.id <= ?", *clauses]
        )
        with self._reader("follow new events") as conn, self._text_errors(spec):
            rows: list[Any] = conn.execute(
                f"{sql} ORDER BY e.id LIMIT ?", [after, upto, *params, limit]
            ).fetchall()
        return [(int(r[0]), event_from_row(r)) for r in rows]

    def count(self, spec: QuerySpec) -> int:
        """Return how many events match ``spec`` (limit and cursor ignored)."""
        self._before_text(spec)
        clauses, params = where_listed(spec)
        sql = "SELECT count(*) FROM events e"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._reader("count events") as conn, self._text_errors(spec):
            row: Any = conn.execute(sql, params).fetchall()[0]
        return int(row[0])

    def data_range(self) -> tuple[int, int] | None:
        """Return the (oldest, newest) event timestamps, or None when empty."""
        with self._reader("read the time range") as conn:
            # two statements: SQLite answers min() or max() alone from the index, both scan
            lo: Any = conn.execute("SELECT min(ts) FROM events").fetchall()[0][0]
            hi: Any = conn.execute("SELECT max(ts) FROM events").fetchall()[0][0]
        return None if lo is None else (int(lo), int(hi))

    def data_days(self, lo: int, hi: int) -> list[int]:
        """Return the starts of the UTC days holding events in [lo, hi), ascending."""
        with self._reader("list the days holding events") as conn:
            return [int(row[0]) for row in conn.execute(*data_days(lo, hi))]

    def histogram(self, spec: HistogramSpec) -> list[tuple[int, str | None, int]]:
        """Return (bucket number, key, count) rows, from rollups where they answer exactly."""
        f = spec.filters
        self._before_text(f)
        parts: list[tuple[str, list[Any]]] = []
        for part in spec.parts():
            if isinstance(part, RollupPart):
                parts.append(rollup_histogram(spec, part.plan, part.since, part.until))
                # with the events the rollups do not count yet (schema v7), read by position
                hours = replace(f, since=part.since, until=part.until)
                parts.append(events_histogram(spec, hours, unrolled=True))
            else:
                parts.append(events_histogram(spec, part))
        totals: Counter[tuple[int, str | None]] = Counter()
        with self._reader("count events for a histogram") as conn, self._text_errors(f):
            for sql, params in parts:
                for number, key, n in conn.execute(sql, params):
                    totals[int(number), key] += int(n)
        return [(number, key, n) for (number, key), n in totals.items()]

    def get_person(self, name: str) -> Person | None:
        """Return one person by name, or None."""
        with self._reader("read a person") as conn:
            rows = conn.execute(
                f"SELECT {_PERSON_COLUMNS} FROM persons WHERE name = ?", (name,)
            ).fetchall()
        return person_from_row(rows[0]) if rows else None

    def list_persons(self) -> list[Person]:
        """Return every person, by name."""
        with self._reader("list persons") as conn:
            rows = conn.execute(f"SELECT {_PERSON_COLUMNS} FROM persons ORDER BY name").fetchall()
        return [person_from_row(r) for r in rows]

    def list_cameras(self) -> list[Camera]:
        """Return every camera, by id."""
        with self._reader("list cameras") as conn:
            rows = conn.execute(
                "SELECT camera_id, name, created_at FROM cameras ORDER BY camera_id"
            ).fetchall()
        return [camera_from_row(r) for r in rows]

    def ping(self) -> None:
        """Run one trivial query on a reader connection."""
        with self._reader("check the database") as conn:
            conn.execute("SELECT 1").fetchall()

    def info(self) -> dict[str, Any]:
        """Describe the engine, schema and contents."""
        with self._reader("describe the database") as conn:

            def one(sql: str) -> Any:
                return conn.execute(sql).fetchall()[0][0]

            conn.execute("BEGIN")
            try:
                counts = {
                    table: one(f"SELECT count(*) FROM {table}")
                    for table in ("events", "detections", "cameras", "persons")
                }
                page_size, pages = one("PRAGMA page_size"), one("PRAGMA page_count")
                mode = one("PRAGMA journal_mode")
                space = space_report(conn, self._reclaiming)
            finally:
                conn.execute("COMMIT")
        wal = Path(f"{self.path}-wal")
        return {
            "engine": "sqlite",
            "engine_version": apsw.sqlite_lib_version(),
            "driver": f"apsw {apsw.apsw_version()}",
            "schema_version": self.schema_version,
            "path": str(self.path),
            **counts,
            "size_bytes": page_size * pages,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
            "wal_bound_bytes": self._wal.bound_bytes,
            "wal_checkpoints": self.checkpoints,
            "wal_restarts": self.wal_restarts,
            **space,
            "write_transactions": self.commits,
            "journal_mode": mode,
            "synchronous": self._synchronous,
            "busy_timeout": self._busy_ms / 1000,
        }

    # -- checkpoints ------------------------------------------------------------------

    def _on_wal(self, conn: apsw.Connection, _db: str, pages: int) -> int:
        """WAL hook: wake the maintenance thread past the threshold; restart a runaway log.

        It runs on the committing thread right after a commit, with this store's writers
        held off: past the force level (see camvault.backends.sqlite_space) the writer
        restarts the log itself, waiting a bounded time for readers.
        """
        if pages < self._wal.force_pages:
            self._force_at = self._wal.force_pages
        elif pages >= self._force_at:
            try:
                with self._checkpointing:  # a background checkpoint would make it fail at once
                    restarted = restart_wal(conn, self._wal_wait, self._busy_ms)
            except apsw.Error as exc:  # the commit stands; the background thread tries again
                log.warning("restarting the WAL of %s failed: %s", self.path, exc)
                restarted = False
            if restarted:
                self.checkpoints += 1
                self.wal_restarts += 1
                return apsw.SQLITE_OK
            self._force_at = pages + self._checkpoint_pages  # a reader holds on: not every commit
        if pages < self._checkpoint_pages:
            self._passive_at = self._checkpoint_pages  # the log started again
        elif pages >= self._passive_at and not self._need_checkpoint:
            # not after every commit: see PASSIVE_STEPS
            self._passive_at = pages + max(1, self._checkpoint_pages // PASSIVE_STEPS)
            self._need_checkpoint = True
            self._wake.set()
        return apsw.SQLITE_OK

    def _checkpoint(self, conn: apsw.Connection) -> bool:
        """Copy the WAL into the database without holding up writers for long; True if all of it.

        A passive checkpoint runs beside the writer; it cannot copy past the snapshot of a
        reader, and the log only restarts once nobody reads it, so under steady writes and
        reads it would grow without bound. Past the escalation level the log is restarted
        with this store's writers held off and a bounded wait for readers (at most once a
        second while a reader of another program holds on).
        """
        with self._checkpointing:
            log_frames, copied = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
        self.checkpoints += 1
        if log_frames < self._wal.escalate_pages or time.monotonic() < self._restart_after:
            return bool(log_frames == copied)
        with self._lock, self._checkpointing:
            if restart_wal(conn, self._wal_wait, self._busy_ms):
                self.wal_restarts += 1
                return True
            self._restart_after = time.monotonic() + 1.0
            return False

    def _start_reclaim(self) -> None:
        """After a purge, return free pages to the file system in the background."""
        if self._incremental and not self._closed:
            self._reclaiming = True
            self._wake.set()

    def _reclaim_step(self) -> None:
        """Return one step of free pages; once none is left, checkpoint to shrink the file."""
        with self.write_transaction("reclaim free pages") as tx:
            left = reclaim_step(tx.conn)
        if not left:
            self._reclaiming = False
            self._shrink_pending = True  # the file shrinks when all of the log is copied back

    def _maintenance_loop(self) -> None:
        """Count and index new events, reclaim free pages and checkpoint, off the insert path."""
        conn: apsw.Connection | None = None
        last_index = time.monotonic()
        while True:
            # between reclaim steps, a short pause lets waiting writers take the lock
            self._wake.wait(timeout=0.005 if self._reclaiming else 1.0)
            self._wake.clear()
            if self._closed:
                break
            try:
                due = time.monotonic() - last_index >= 1.0
                pending = max(self._pending_texts, self._unrolled)
                if pending >= _SETTLE_AT or (pending and due):
                    self._settle_all(pause=0.001)
                    last_index = time.monotonic()
                if self._reclaiming:
                    self._reclaim_step()
                if self._need_checkpoint or self._shrink_pending:
                    if conn is None:
                        conn = self._connect("checkpoint", writer=False)
                    self._need_checkpoint = False
                    if self._checkpoint(conn):
                        self._shrink_pending = False  # else a reader held on: next round
            except apsw.BusyError:
                self._need_checkpoint = True  # another checkpoint is running; next round
            except (apsw.Error, DatabaseError) as exc:
                log.warning("background maintenance of %s failed (will retry): %s", self.path, exc)
                time.sleep(0.5)
        if conn is not None:
            conn.close()

    # -- schema -----------------------------------------------------------------------

    def _current_version(self) -> int:
        """Return the applied schema version (0 for an empty database)."""
        conn = self._writer
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        if "schema_migrations" in tables:
            return int(
                conn.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0] or 0
            )
        if tables:
            raise MigrationError(
                f"{self.path} is a SQLite database but not a camvault one "
                f"(it has tables {', '.join(sorted(tables)[:5])}); point camvault at another file"
            )
        return 0

    def _use_wal(self) -> None:
        """Switch the (camvault-owned) file to WAL; a read-only file may stay as it is."""
        conn = self._writer
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
        if mode != "wal" and not conn.readonly("main"):
            raise DatabaseError(f"cannot switch {self.path} to WAL mode (it is {mode})")

    def _migrate(self, migrations: list[Migration]) -> None:
        """Apply pending migrations in one transaction, after copying the file aside.

        A file that is not camvault's is refused before anything about it changes.
        """
        try:
            current = self._current_version()
            self._use_wal()
        except apsw.Error as exc:
            raise translate(exc, "read the schema version", str(self.path), write=False) from exc
        latest = migrations[-1].version if migrations else 0
        if current > latest:
            raise MigrationError(
                f"{self.path} has schema v{current}, newer than this camvault knows (v{latest}); "
                "upgrade camvault"
            )
        if current < latest and current > 0:
            self.backup_path = self._backup(current)
        if current < latest:
            self._apply(migrations, latest)
        self.schema_version = latest

    def _backup(self, version: int) -> Path:
        """Copy the database aside (consistently, WAL included) before migrating it."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.v{version}-{stamp}.bak")
        try:
            self._writer.execute("VACUUM INTO ?", (str(target),))
        except apsw.Error as exc:
            target.unlink(missing_ok=True)  # a partial copy is no backup
            size = max(1, -(-self.path.stat().st_size // 2**20))
            raise MigrationError(
                f"could not back up {self.path} to {target} before migrating it from schema "
                f"v{version}: {exc}; nothing was changed. Free space in {target.parent} (the "
                f"copy needs about {size} MiB) or make that folder writable, then open it again"
            ) from exc
        log.info("backed up %s (schema v%d) to %s before migrating", self.path, version, target)
        return target

    def _apply(self, migrations: list[Migration], latest: int) -> None:
        """Apply every migration newer than the stored version, all or nothing."""
        conn = self._writer
        step: Migration | None = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            current = self._current_version()  # another process may have migrated meanwhile
            for step in migrations[current:]:
                conn.execute(step.sql)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                    (step.version, step.name, step.checksum, to_micros(datetime.now(UTC))),
                )
            conn.execute("COMMIT")
        except (apsw.Error, MigrationError) as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, MigrationError):
                raise
            name = f"{step.version:04d}_{step.name}" if step else "the migration table"
            backup = f" (backup: {self.backup_path})" if self.backup_path else ""
            raise MigrationError(
                f"applying {name} to {self.path} failed: {exc}; the database was left at its "
                f"previous version{backup}"
            ) from exc
        if latest:
            log.info("schema of %s is now v%d", self.path, latest)

    # -- ad-hoc reads -----------------------------------------------------------------

    @contextlib.contextmanager
    def read_snapshot(self, action: str, timeout: float | None = None) -> Iterator[SqlRun]:
        """Lend a reader inside one read transaction; writes, ATTACH and most pragmas refused.

        Readers run with ``query_only``; an authorizer also refuses ATTACH, DETACH and every
        pragma but those that only describe the database, so ``query_only`` stays on.
        """
        with self._reader(action) as conn:
            conn.authorizer = _read_only_authorizer
            conn.execute("BEGIN")
            try:

                def run(query: str, params: Sequence[Any]) -> tuple[list[str], list[Any]]:
                    deadline = None if timeout is None else time.monotonic() + timeout
                    conn.set_progress_handler(
                        None if deadline is None else lambda: time.monotonic() > deadline, 10_000
                    )
                    try:
                        cursor = conn.execute(query, tuple(params))
                        try:
                            columns = [d[0] for d in cursor.get_description()]
                        except apsw.ExecutionCompleteError:
                            return [], []
                        return columns, [tuple(row) for row in cursor]
                    except (apsw.SQLError, apsw.AuthError, apsw.ReadOnlyError) as exc:
                        raise InvalidQueryError("sql", [("query", _sql_problem(exc))]) from None
                    except apsw.BindingsError as exc:
                        raise InvalidQueryError("sql", [("params", str(exc))]) from None
                    except apsw.InterruptError:
                        problem = f"ran longer than {timeout:g} s; narrow it (WHERE, LIMIT)"
                        raise InvalidQueryError("sql", [("query", problem)]) from None
                    except apsw.Error as exc:
                        raise translate(exc, action, str(self.path), write=False) from exc

                yield run
            finally:
                conn.set_progress_handler(None)
                with contextlib.suppress(apsw.Error):
                    conn.execute("ROLLBACK")
                conn.authorizer = None

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint, then release every connection; safe to call twice."""
        if self._closed:
            return
        self._wake.set()
        with contextlib.suppress(DatabaseError):
            if self._settles() and self._unsettled(_UNSETTLED):
                self._settle_all()
        self._closed = True
        self._wake.set()
        self._checkpointer.join(timeout=10)
        with self._lock:
            with contextlib.suppress(apsw.Error):
                self._writer.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
            self._writer.close()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break


_DESCRIBING_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
        "compile_options",
        "page_count",
        "page_size",
        "freelist_count",
        "user_version",
        "schema_version",
        "journal_mode",
        "encoding",
        "quick_check",
        "integrity_check",
        "data_version",
    }
)
"""Pragmas that only describe the database (ad-hoc SQL may read these, with no value set)."""


def _read_only_authorizer(op: int, p1: str | None, p2: str | None, *_: Any) -> int:
    """Refuse ATTACH, DETACH and pragmas other than describing ones (query_only stays on)."""
    if op in (apsw.SQLITE_ATTACH, apsw.SQLITE_DETACH):
        return apsw.SQLITE_DENY
    if op == apsw.SQLITE_PRAGMA:
        name = (p1 or "").lower()
        describing = name in _DESCRIBING_PRAGMAS and (
            p2 is None
            or name
            in {
                "table_info",
                "table_xinfo",
                "index_list",
                "index_info",
                "index_xinfo",
                "foreign_key_list",
            }
        )
        return apsw.SQLITE_OK if describing else apsw.SQLITE_DENY
    return apsw.SQLITE_OK


def _sql_problem(exc: apsw.Error) -> str:
    """Say why SQLite refused an ad-hoc statement."""
    if isinstance(exc, apsw.AuthError | apsw.ReadOnlyError):
        return f"only reads are allowed here ({exc}); camvault changes the store itself"
    return str(exc).removeprefix("SQLError: ")
