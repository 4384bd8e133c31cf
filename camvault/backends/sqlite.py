"""The embedded SQLite engine, through APSW (which bundles a current SQLite).

One writer connection serializes every write with ``BEGIN IMMEDIATE``; readers have
connections of their own, so queries never wait behind writes (WAL). Checkpoints run on a
background thread fed by the WAL hook, so they stay off the insert path.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apsw

from camvault.backends.sqlite_errors import translate
from camvault.errors import DatabaseError, MigrationError
from camvault.migrations import Migration, load_migrations
from camvault.models import Camera, Event, Person
from camvault.query import QuerySpec
from camvault.rows import (
    EVENT_COLUMNS,
    INSERT_COLUMNS,
    camera_from_row,
    detection_rows,
    event_from_row,
    event_to_row,
    person_from_row,
    to_micros,
)

__all__ = ["SQLiteBackend"]

log = logging.getLogger("camvault")

_COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))}) ON CONFLICT (event_id) DO NOTHING"
)
_INSERT_DETECTION = (
    "INSERT INTO detections (event_rowid, idx, label, confidence, x1, y1, x2, y2, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CAMERA = "INSERT OR IGNORE INTO cameras (camera_id, name, created_at) VALUES (?, NULL, ?)"
_PERSON_COLUMNS = "name, authorized, notes, created_at, updated_at"
_FLUSH_ROWS = 4096


class _Transaction:
    """An open write transaction on the writer connection."""

    __slots__ = ("_backend", "_detections", "conn", "new_cameras")

    def __init__(self, backend: SQLiteBackend, conn: apsw.Connection) -> None:
        self._backend = backend
        self.conn = conn
        self._detections: list[tuple[Any, ...]] = []
        self.new_cameras: set[str] = set()

    def insert(self, event: Event) -> bool:
        """Insert one event and its detections; False if its event_id already exists."""
        conn = self.conn
        row = event_to_row(event)
        camera = event.camera_id
        if camera not in self._backend.known_cameras and camera not in self.new_cameras:
            conn.execute(_INSERT_CAMERA, (camera, row[1]))
            self.new_cameras.add(camera)
        conn.execute(_INSERT_EVENT, row)
        if conn.changes() == 0:
            return False
        if event.detected_objects:
            self._detections.extend(detection_rows(conn.last_insert_rowid(), row[1], event))
            if len(self._detections) >= _FLUSH_ROWS:
                self.flush()
        return True

    def flush(self) -> None:
        """Write buffered detection rows."""
        if self._detections:
            self.conn.executemany(_INSERT_DETECTION, self._detections)
            self._detections.clear()

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Scope a part of the transaction that rolls back alone if it raises."""
        self.flush()
        self.conn.execute("SAVEPOINT one")
        try:
            yield
            self.flush()
        except BaseException:
            self._detections.clear()
            self.conn.execute("ROLLBACK TO one")
            self.conn.execute("RELEASE one")
            raise
        self.conn.execute("RELEASE one")


class SQLiteBackend:
    """Events in one SQLite file in WAL mode."""

    engine = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
        checkpoint_pages: int = 1000,
        pragmas: Mapping[str, int | str] | None = None,
        migrations_dir: Path | None = None,
        create: bool = True,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self._busy_ms = int(busy_timeout * 1000)
        self._synchronous = synchronous.upper()
        self._checkpoint_pages = checkpoint_pages
        self._pragmas = dict(pragmas or {})
        self._lock = threading.Lock()
        self._readers: queue.SimpleQueue[apsw.Connection] = queue.SimpleQueue()
        self._closed = False
        self.known_cameras: set[str] = set()
        self.checkpoints = 0
        self.commits = 0
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
        except BaseException:
            self._writer.close()
            raise
        self._wake = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="camvault-checkpoint", daemon=True
        )
        self._checkpointer.start()
        self._writer.set_wal_hook(self._on_wal)

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
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
                if mode != "wal" and not conn.readonly("main"):
                    raise DatabaseError(f"cannot switch {self.path} to WAL mode (it is {mode})")
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA journal_size_limit = 67108864")
            else:
                conn.execute("PRAGMA query_only = ON")
                conn.execute("PRAGMA mmap_size = 268435456")
            conn.execute("PRAGMA cache_size = -16000")
            conn.execute("PRAGMA temp_store = MEMORY")
            for name, value in self._pragmas.items():
                if not name.replace("_", "").isalnum():
                    raise DatabaseError(f"pragma name {name!r} is not a SQLite pragma")
                conn.execute(f"PRAGMA {name} = {int(value) if isinstance(value, int) else value!r}")
        except apsw.Error as exc:
            conn.close()
            raise translate(exc, action, str(self.path), write=False) from exc
        except BaseException:
            conn.close()
            raise
        return conn

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

    def set_thumbnail_path(self, event_id: str, path: str) -> bool:
        """Record an event's thumbnail file; False if the event does not exist."""
        with self.write_transaction("record a thumbnail") as tx:
            tx.conn.execute(
                "UPDATE events SET thumbnail_path = ? WHERE event_id = ?", (path, event_id)
            )
            return bool(tx.conn.changes())

    def purge_batches(
        self, before: int, camera_id: str | None, batch_size: int
    ) -> Iterator[tuple[int, list[str]]]:
        """Delete events older than ``before`` in transactions of at most ``batch_size``."""
        where = "ts < ?" + (" AND camera_id = ?" if camera_id is not None else "")
        params: tuple[Any, ...] = (before, camera_id) if camera_id is not None else (before,)
        sql = (
            f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE {where} "
            "ORDER BY ts LIMIT ?) RETURNING thumbnail_path"
        )
        while True:
            with self.write_transaction("purge events") as tx:
                rows = tx.conn.execute(sql, (*params, batch_size)).fetchall()
            if not rows:
                return
            yield len(rows), [str(r[0]) for r in rows if r[0]]

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
                f"SELECT {_COLUMNS} FROM events e WHERE e.event_id = ?", (event_id,)
            ).fetchall()
        return event_from_row(rows[0]) if rows else None

    def query(self, spec: QuerySpec) -> tuple[list[Event], tuple[int, int] | None]:
        """Return events matching ``spec``, newest first, and the keyset of the last one."""
        where: list[str] = []
        params: list[Any] = []
        if spec.camera_ids:
            where.append(f"e.camera_id IN ({', '.join('?' * len(spec.camera_ids))})")
            params.extend(spec.camera_ids)
        if spec.since is not None:
            where.append("e.ts >= ?")
            params.append(spec.since)
        if spec.until is not None:
            where.append("e.ts < ?")
            params.append(spec.until)
        if spec.person_name is not None:
            where.append("e.person_name = ?")
            params.append(spec.person_name)
        if spec.labels or spec.min_confidence is not None:
            sub = ["d.event_rowid = e.id"]
            if spec.labels:
                sub.append(f"d.label IN ({', '.join('?' * len(spec.labels))})")
                params.extend(spec.labels)
            if spec.min_confidence is not None:
                sub.append("d.confidence >= ?")
                params.append(spec.min_confidence)
            where.append(f"EXISTS (SELECT 1 FROM detections d WHERE {' AND '.join(sub)})")
        if spec.after is not None:
            where.append("(e.ts, e.id) < (?, ?)")
            params.extend(spec.after)
        sql = f"SELECT {_COLUMNS} FROM events e"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY e.ts DESC, e.id DESC LIMIT ?"
        params.append(spec.limit)
        with self._reader("query events") as conn:
            rows: list[Any] = conn.execute(sql, params).fetchall()
        events = [event_from_row(r) for r in rows]
        last = (rows[-1][2], rows[-1][0]) if len(rows) == spec.limit else None
        return events, last

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
            "wal_checkpoints": self.checkpoints,
            "write_transactions": self.commits,
            "journal_mode": mode,
            "synchronous": self._synchronous,
        }

    # -- checkpoints ------------------------------------------------------------------

    def _on_wal(self, _conn: apsw.Connection, _db: str, pages: int) -> int:
        """WAL hook: wake the checkpointer once the log passes the threshold."""
        if pages >= self._checkpoint_pages:
            self._wake.set()
        return apsw.SQLITE_OK

    def _checkpoint_loop(self) -> None:
        """Run passive checkpoints on a connection of its own until closed."""
        conn: apsw.Connection | None = None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                break
            try:
                if conn is None:
                    conn = self._connect("checkpoint", writer=False)
                conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_PASSIVE)
                self.checkpoints += 1
            except (apsw.Error, DatabaseError) as exc:
                log.warning("WAL checkpoint of %s failed (will retry): %s", self.path, exc)
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

    def _migrate(self, migrations: list[Migration]) -> None:
        """Apply pending migrations in one transaction, after copying the file aside."""
        try:
            current = self._current_version()
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
            raise MigrationError(
                f"could not back up {self.path} to {target} before migrating: {exc}; "
                "nothing was changed"
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

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint, then release every connection; safe to call twice."""
        if self._closed:
            return
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
