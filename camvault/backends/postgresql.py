"""The PostgreSQL engine, through psycopg 3: a connection pool, COPY, LISTEN/NOTIFY.

Any number of processes on any number of machines may write to one database. Each write
transaction takes the store's commit lock (a transaction-level advisory lock) before it
hands out positions, so positions commit in increasing order (``tail()`` and ``watch()``
never skip an event) and rollup cells are never updated by two writers at once (no
deadlock, no lost count). Events and detections are partitioned by month; partitions are
created ahead and on demand, and ``purge`` drops whole old months.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import select
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from camvault.backends.base import (
    EngineOptions,
    GroupWrite,
    InsertLog,
    PurgeBatch,
    SqlRun,
    ThumbnailRef,
    Version,
    run_insert_checks,
)
from camvault.backends.greenlets import await_only, in_greenlet
from camvault.backends.postgresql_async import AsyncFetch, PostgresFace
from camvault.backends.postgresql_errors import translate
from camvault.backends.postgresql_options import PostgresOptions
from camvault.backends.postgresql_sql import (
    COLUMNS,
    INSERT_ARRAYS,
    INSERT_STAGED,
    STAGING,
    data_days,
    events_histogram,
    rollup_histogram,
    select_events,
    where,
)
from camvault.backends.sqlite_rows import (
    INSERT_COLUMNS,
    camera_from_row,
    event_from_row,
    event_to_row,
    labels_from_json,
    person_from_row,
)
from camvault.bus import CommitListener, CommitListeners
from camvault.errors import DatabaseError, InvalidInputError, InvalidQueryError, MigrationError
from camvault.histogram import HistogramSpec, RollupPart
from camvault.migrations import Migration, load_migrations
from camvault.models import Camera, Event, Person
from camvault.query import QuerySpec
from camvault.rollups import RollupKey, add_event
from camvault.rows import from_micros, to_micros

__all__ = ["PostgresBackend", "month_bounds"]

log = logging.getLogger("camvault")

T = TypeVar("T")

ANALYZE_AFTER = 50_000
"""Events stored by this process that make it refresh the planner's statistics (ANALYZE)."""
COPY_MIN = 64
"""Batches of at least this many events go through COPY; smaller ones through arrays."""
_AHEAD = 2
"""Months of partitions created ahead of the current one."""
LOCK = "SELECT pg_advisory_xact_lock(%s)"
"""Take the store's commit lock, before any statement of the transaction locks a table.

A statement locks its tables when it starts; waiting for the commit lock while holding them
would deadlock with a session that holds it and wants a table exclusively (creating or
dropping a month's partition). store_events() takes it first for the same reason.
"""
COPY_SQL = sql.SQL("COPY camvault_staging ({}) FROM STDIN").format(
    sql.SQL(", ").join(sql.Identifier(c) for c in (*INSERT_COLUMNS, "n"))
)
_ROLLUP = (
    "INSERT INTO rollup_hourly (dim, hour, camera_id, key, n) "
    "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::bigint[]) "
    "ON CONFLICT (dim, hour, camera_id, key) DO UPDATE SET n = rollup_hourly.n + excluded.n"
)
"""Add a batch of cells in one statement (the all-cameras triggers run once per statement)."""
_ROLLUP_PRUNE = (
    "DELETE FROM rollup_hourly r "
    "USING unnest(%s::text[], %s::bigint[], %s::text[], %s::text[]) c(dim, hour, camera_id, key) "
    "WHERE (r.dim, r.hour, r.camera_id, r.key) = (c.dim, c.hour, c.camera_id, c.key) AND r.n <= 0"
)
_PERSON_COLUMNS = "name, authorized, notes, created_at, updated_at"
_MONTHS = (
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
    "WHERE n.nspname = %s AND p.relname = 'events'"
)
_BY_EVENT_ID = "(e.id, e.ts) = (SELECT id, ts FROM event_ids WHERE event_id = %s)"
_BY_EVENT_IDS = "(e.id, e.ts) IN (SELECT id, ts FROM event_ids WHERE event_id = ANY(%s))"


def insert_rows(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    """Return the rows of a batch (``event_to_row`` plus its place), after the test checks."""
    for event in events:
        run_insert_checks(event)
    return [(*event_to_row(event), n) for n, event in enumerate(events)]


def as_columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Return one list per column of ``rows`` (the arrays a statement unnests)."""
    return [list(values) for values in zip(*rows, strict=True)]


def array_params(key: int, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Return the parameters of INSERT_ARRAYS: the commit lock key, then one array per column."""
    return [key, *as_columns(rows)[:-1]]  # the place is the array's own ordinality


def outcomes(
    events: Sequence[Event], stored: Sequence[Any], collect: list[tuple[int, Event]] | None
) -> list[bool]:
    """Return each event's outcome from the (event_id, position) rows the insert returned.

    The first of a repeated event_id wins. ``collect`` receives (position, event) pairs.
    """
    positions = {str(event_id): int(position) for event_id, position in stored}
    result: list[bool] = []
    for event in events:
        position = positions.pop(event.event_id, None)
        result.append(position is not None)
        if position is not None and collect is not None:
            collect.append((position, event))
    return result


def month_of(ts: int) -> tuple[int, int]:
    """Return the UTC (year, month) of a timestamp in microseconds."""
    moment = from_micros(ts)
    return moment.year, moment.month


def month_bounds(month: tuple[int, int]) -> tuple[int, int]:
    """Return [start, end) in microseconds of a UTC (year, month)."""
    year, number = month
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return to_micros(start), to_micros(end)


def _lock_key(purpose: str, schema: str) -> int:
    """Return a stable signed 64-bit advisory lock key for ``purpose`` in ``schema``."""
    digest = hashlib.blake2b(f"camvault.{purpose}.{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _Transaction:
    """An open write transaction on one pooled connection."""

    __slots__ = ("_backend", "_collect", "conn", "inserted", "locked", "months", "stored")

    def __init__(self, backend: PostgresBackend, conn: psycopg.Connection[Any]) -> None:
        self._backend = backend
        self.conn = conn
        self.stored: list[tuple[int, Event]] = []  # (position, event) for the listeners
        self.months: set[tuple[int, int]] = set()  # partitions created in this transaction
        self.inserted = 0
        self._collect = bool(backend.listeners)
        self.locked = False

    def lock(self) -> None:
        """Take the commit lock (held until the transaction ends)."""
        if not self.locked:
            self.conn.execute(LOCK, (self._backend.commit_key,))
            self.locked = True

    def insert_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert events in order; for each, False if its event_id was already stored."""
        rows = insert_rows(events)
        # The commit lock comes before any table lock: the insert statement locks its tables
        # when it starts, and waiting for the commit lock while holding them deadlocks with a
        # session that holds it and wants the tables exclusively (creating or dropping a
        # month's partition).
        self.lock()
        self._partitions({month_of(row[1]) for row in rows})
        key = self._backend.commit_key
        if len(rows) >= COPY_MIN:
            with self.conn.cursor() as cur:
                cur.execute(STAGING)
                with cur.copy(COPY_SQL) as copy:
                    for row in rows:
                        copy.write_row(row)
                stored = cur.execute(INSERT_STAGED, (key,)).fetchall()
                cur.execute("TRUNCATE camvault_staging")
        else:
            stored = self.conn.execute(INSERT_ARRAYS, array_params(key, rows)).fetchall()
        self.inserted += len(stored)
        return outcomes(events, stored, self.stored if self._collect else None)

    def _partitions(self, months: set[tuple[int, int]]) -> None:
        """Create the month partitions these events need that do not exist yet."""
        if months and min(months) < month_of(to_micros(datetime.now(UTC))):
            # a purge in another process may have dropped a past month this one still
            # remembers: ask the catalog (stable now, under the commit lock)
            self._backend.months = self._backend._read_months(self.conn)
        missing = months - self._backend.months - self.months
        if not missing:
            return
        self.lock()  # one creator at a time, in any process
        for month in sorted(missing):
            self._backend.create_partition(self.conn, month)
            self.months.add(month)

    def current(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Return the stored events with these ids, read under the commit lock, by id."""
        self.lock()
        rows = self.conn.execute(
            f"SELECT {COLUMNS} FROM events e WHERE {_BY_EVENT_IDS}", (list(event_ids),)
        ).fetchall()
        return {event.event_id: event for event in map(event_from_row, rows)}

    def replace(self, versions: Sequence[Version]) -> list[ThumbnailRef]:
        """Store new versions in place of stored events, at new positions (camvault.upserts).

        One statement removes the old rows with their detections, event ids and counts,
        and one stores the new versions. A thumbnail stored in the database stays when the
        new version keeps it, and follows the event's timestamp.
        """
        old = [v for v in versions if v.stored is not None]
        keep = [v.new.event_id for v in old if v.keeps_thumbnail]
        refs: list[ThumbnailRef] = []
        if old:
            ids = [v.new.event_id for v in old]
            _, refs = self.delete(_BY_EVENT_IDS, (ids,), None, keep=keep)
            kept = set(keep)
            refs = [ref for ref in refs if ref[0] not in kept]
        self.insert_many([v.new for v in versions])
        moved = [
            (v.new.event_id, to_micros(v.new.timestamp))
            for v in old
            if v.keeps_thumbnail and v.stored is not None and v.new.timestamp != v.stored.timestamp
        ]
        if moved:
            self.conn.execute(
                "UPDATE thumbnails t SET ts = v.ts FROM unnest(%s::text[], %s::bigint[]) "
                "AS v(event_id, ts) WHERE t.event_id = v.event_id",
                ([m[0] for m in moved], [m[1] for m in moved]),
            )
        return refs

    def delete(
        self,
        condition: str,
        params: Sequence[Any],
        limit: int | None,
        *,
        keep: Sequence[str] = (),
    ) -> PurgeBatch:
        """Delete events matching ``condition`` (on ``events e``), oldest first, up to ``limit``.

        Their detections, event ids, stored thumbnails (except those of the event ids in
        ``keep``) and rollup counts go with them. Returns how many events were deleted and
        the thumbnail files of those that had one.
        """
        self.lock()
        drop_thumbnails = (
            ", dt AS (DELETE FROM thumbnails t USING del WHERE t.event_id = del.event_id"
            + (" AND t.event_id <> ALL(%s))" if keep else ")")
        )
        pick = f"SELECT e.id, e.ts FROM events e WHERE {condition} ORDER BY e.ts"
        if limit is not None:
            pick += f" LIMIT {int(limit)}"
        rows = self.conn.execute(
            f"""WITH del AS (
                DELETE FROM events x USING ({pick}) v WHERE x.id = v.id AND x.ts = v.ts
                RETURNING x.id, x.ts, x.camera_id, x.person_name, x.detected_objects::text
                          AS objects, x.thumbnail_path, x.event_id),
            dd AS (DELETE FROM detections d USING del
                   WHERE d.event_rowid = del.id AND d.ts = del.ts),
            di AS (DELETE FROM event_ids i USING del WHERE i.event_id = del.event_id)
            {drop_thumbnails}
            SELECT ts, camera_id, person_name, objects, thumbnail_path, event_id FROM del""",
            [*params, list(keep)] if keep else params,
        ).fetchall()
        cells: Counter[RollupKey] = Counter()
        refs: list[ThumbnailRef] = []
        for ts, camera_id, person, objects, thumbnail, event_id in rows:
            add_event(cells, ts, camera_id, labels_from_json(objects), person, sign=-1)
            if thumbnail:
                refs.append((str(event_id), str(camera_id), int(ts), str(thumbnail)))
        self.apply_rollups(cells)
        return len(rows), refs

    def apply_rollups(self, cells: Counter[RollupKey]) -> None:
        """Add ``cells`` to the hourly rollups (in key order) and drop emptied cells."""
        changes = sorted((*key, n) for key, n in cells.items() if n)
        if not changes:
            return
        self.conn.execute(_ROLLUP, as_columns(changes))
        emptied = [c[:4] for c in changes if c[4] < 0]
        if emptied:
            self.conn.execute(_ROLLUP_PRUNE, as_columns(emptied))

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Scope a part of the transaction that rolls back alone if it raises."""
        self.conn.execute("SAVEPOINT one")
        stored, months, locked = len(self.stored), set(self.months), self.locked
        try:
            yield
        except BaseException:
            del self.stored[stored:]
            self.months, self.locked = months, locked  # a lock taken inside is released
            self.conn.execute("ROLLBACK TO SAVEPOINT one")
            self.conn.execute("RELEASE SAVEPOINT one")
            raise
        self.conn.execute("RELEASE SAVEPOINT one")


class PostgresBackend:
    """Events in one PostgreSQL schema, shared by any number of camvault processes."""

    engine = "postgresql"
    insert_chunk = 5000  # one COPY and one statement per chunk
    # statements are prepared on first use (prepare_threshold=0 below): the insert statement
    # takes milliseconds to plan and runs in a third of one

    def __init__(
        self,
        conninfo: str,
        options: PostgresOptions,
        *,
        create: bool = True,
        migrations_dir: Path | None = None,
    ) -> None:
        params = conninfo_to_dict(conninfo)
        self.options = options
        self.schema = options.schema
        self.host = str(params.get("host") or "localhost")
        port = str(params.get("port") or "5432")
        self.port: int | str = int(port) if port.isdigit() else port  # "5432,5433": several hosts
        self.database = str(params.get("dbname") or params.get("user") or "postgres")
        self.location = (
            f"postgresql://{self.host}:{self.port}/{self.database} (schema {self.schema})"
        )
        self._password = str(params.get("password") or "")
        self.commit_key = _lock_key("commit", self.schema)
        self.channel = f"camvault_{self.schema}"
        self.listeners = CommitListeners()
        self.months: set[tuple[int, int]] = set()
        self.schema_version = 0
        self.commits = 0
        self._lock = threading.Lock()
        self._analyzing = threading.Lock()
        self.async_fetch: AsyncFetch | None = None
        """Set by the async face: how a read under it is awaited."""
        self._unanalyzed = 0
        self._closed = False
        self._conninfo = make_conninfo(
            conninfo, connect_timeout=max(1, round(options.connect_timeout))
        )
        self.settings = sql.SQL(
            "SET search_path TO {}; SET statement_timeout = {}; SET lock_timeout = {}; "
            "SET parallel_setup_cost = 10000"  # no parallel workers for millisecond queries
        ).format(
            sql.Identifier(self.schema),
            sql.Literal(_milliseconds(options.statement_timeout)),
            sql.Literal(_milliseconds(options.lock_timeout)),
        )
        """Run on every new connection: settings that hold for the whole session."""
        with self._connect("open the database") as conn:
            self._migrate(conn, load_migrations("postgresql", migrations_dir), create=create)
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=options.pool_size,
            kwargs={"autocommit": True, "prepare_threshold": self.prepare_threshold},
            configure=self._configure,
            name=f"camvault-{self.schema}",
            open=False,
            timeout=max(options.connect_timeout, 1.0),
        )
        self._pool.open()

    @classmethod
    def open(cls, url: str, options: EngineOptions | None, *, create: bool) -> PostgresBackend:
        """Open ``postgresql://user@host:5432/db?schema=camvault`` (URL options win)."""
        if options is not None and not isinstance(options, PostgresOptions):
            raise InvalidInputError(
                "EventStore",
                [("options", f"a PostgreSQL store takes PostgresOptions, not {options!r}")],
            )
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        names = [name for name, _ in pairs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InvalidInputError(
                "database URL", [(name, "given more than once") for name in repeated]
            )
        chosen, passthrough = PostgresOptions.from_query(dict(pairs), options)
        base = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
        try:
            conninfo = make_conninfo(base, **passthrough)
        except psycopg.ProgrammingError as exc:
            known = ", ".join(f.name for f in dataclasses.fields(PostgresOptions))
            raise DatabaseError(
                f"invalid PostgreSQL URL parameters: {str(exc).strip()}; camvault's own are "
                f"{known}, any other goes to libpq"
            ) from None
        return cls(conninfo, chosen, create=create)

    def async_face(
        self,
        write_group: GroupWrite,
        *,
        max_group: int,
        read_threads: int,
        log_insert: InsertLog | None = None,
    ) -> PostgresFace:
        """Start the asyncio face: group-committed inserts and reads awaited on the loop."""
        return PostgresFace(
            self,
            write_group,
            max_group=max_group,
            read_threads=read_threads,
            log_insert=log_insert,
        )

    @property
    def conninfo(self) -> str:
        """The connection string every connection of this store uses."""
        return self._conninfo

    def default_thumbnails_dir(self) -> Path:
        """Return the ``thumbnails_dir`` option, else ``./camvault-thumbnails/<db>.<schema>``."""
        if self.options.thumbnails_dir:
            return Path(self.options.thumbnails_dir).expanduser().absolute()
        return Path("camvault-thumbnails", f"{self.database}.{self.schema}").absolute()

    @property
    def thumbnails_in_database(self) -> bool:
        """True when thumbnails are stored in the database rather than in files."""
        return self.options.thumbnails == "database"

    # -- connections ------------------------------------------------------------------

    @property
    def prepare_threshold(self) -> int | None:
        """Return psycopg's prepare_threshold: 0 prepares on first use, None never."""
        return 0 if self.options.prepared_statements else None

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Apply the session settings to a new pooled connection."""
        conn.execute(self.settings, prepare=False)

    def _reason(self, exc: BaseException) -> str:
        """Return an error's text with the password (if any) blanked out."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text.replace(self._password, "***") if self._password else text

    @contextlib.contextmanager
    def _connect(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        """Open one connection of its own (not pooled), with a clear error if it fails."""
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
            conn.execute(self.settings, prepare=False)
        except psycopg.Error as exc:
            if f'database "{self.database}" does not exist' in str(exc):  # libpq's words
                raise DatabaseError(
                    f"cannot {action}: there is no database {self.database!r} on the PostgreSQL "
                    f"server at {self.host}:{self.port}; create it (createdb {self.database}) "
                    "or fix the database name in the URL"
                ) from None
            raise DatabaseError(
                f"cannot {action}: PostgreSQL database {self.database!r} at "
                f"{self.host}:{self.port} is not reachable ({self._reason(exc)}); check that "
                "the server runs and the URL (host, port, user, database) is right"
            ) from None
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _pooled(self, action: str, *, write: bool) -> Iterator[psycopg.Connection[Any]]:
        """Lend a pooled connection, translating driver errors; a dead one is replaced."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise translate(exc, action, self.location, write=write) from None
        except psycopg.Error as exc:
            raise translate(exc, action, self.location, write=write) from None

    def _fetch(self, action: str, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one read and return its rows; retried once on a connection that was lost.

        Under the async face (camvault.backends.greenlets) the read is awaited on an
        asyncio connection instead, on the event loop's thread.
        """
        if self.async_fetch is not None and in_greenlet():
            return await_only(self.async_fetch(action, query, params))
        for attempt in (1, 2):
            try:
                with self._pooled(action, write=False) as conn:
                    return conn.execute(query, params).fetchall()
            except DatabaseError as exc:
                if attempt == 2 or not isinstance(exc.__context__, psycopg.OperationalError):
                    raise
                self._pool.check()  # the other idle connections died with it (a restart)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writes -----------------------------------------------------------------------

    @contextlib.contextmanager
    def write_transaction(self, action: str) -> Iterator[_Transaction]:
        """Run the body in one transaction on a pooled connection, then tell the listeners."""
        self.listeners.refuse_write(action)
        with self._lock:
            tx = self._begin(action)
            conn = tx.conn
            try:
                try:
                    yield tx
                    conn.execute("COMMIT")
                except BaseException as exc:
                    if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                        with contextlib.suppress(psycopg.Error):
                            conn.execute("ROLLBACK")
                    if isinstance(exc, psycopg.Error):
                        raise translate(exc, action, self.location, write=True) from None
                    raise
            finally:
                self._pool.putconn(conn)
            self.months |= tx.months
            self.committed(tx.stored, tx.inserted)

    def committed(self, published: list[tuple[int, Event]], inserted: int) -> None:
        """Count a commit that stored ``inserted`` events; hand the listeners theirs in order.

        ``published`` holds (position, event) pairs; positions give the commit order.
        """
        self.commits += 1
        self.count_inserted(inserted)
        if published:
            published.sort(key=lambda pair: pair[0])
            self.listeners.publish([event for _, event in published])

    def count_inserted(self, n: int) -> None:
        """Note ``n`` events stored; after many (an import, a copy) refresh the statistics.

        The planner's statistics drive index choice; autovacuum refreshes them on a server
        where it runs, and this makes sure a bulk load is followed by ANALYZE either way.
        """
        self._unanalyzed += n
        if self._unanalyzed < ANALYZE_AFTER or self._analyzing.locked():
            return
        self._unanalyzed = 0
        threading.Thread(target=self._analyze, name="camvault-analyze", daemon=True).start()

    def _analyze(self) -> None:
        """Run ANALYZE on the event tables (on a thread of its own, off the write path)."""
        with self._analyzing:
            try:
                with self._pooled("refresh the statistics", write=False) as conn:
                    conn.execute("ANALYZE events, detections, event_ids, rollup_hourly")
            except DatabaseError as exc:  # the next bulk load tries again
                if not self._closed:
                    log.warning("ANALYZE after a bulk load failed: %s", exc)

    def _take(self, action: str) -> psycopg.Connection[Any]:
        """Take a pooled connection that is not known dead (no round trip to find out).

        An idle connection has nothing to read; one that has (the server's goodbye when it
        was terminated, or end of file) is closed and replaced.
        """
        for _ in range(self.options.pool_size + 1):
            try:
                conn = self._pool.getconn()
            except PoolTimeout as exc:
                raise translate(exc, action, self.location, write=True) from None
            if not select.select([conn.fileno()], [], [], 0)[0]:
                return conn
            conn.close()
            self._pool.putconn(conn)  # the pool discards a closed connection
        raise translate(
            PoolTimeout("every pooled connection was dead"), action, self.location, write=True
        )

    def insert_alone(self, events: Sequence[Event], action: str) -> list[bool]:
        """Insert events in one transaction of their own: one statement, one round trip.

        Used for single inserts and group commits. A batch for a month without a partition
        yet (or whose partition a purge elsewhere dropped), or with enough events for COPY,
        takes the general write transaction, which makes the partition.
        """
        months = {month_of(to_micros(event.timestamp)) for event in events}
        if months - self.months or len(events) >= COPY_MIN:
            with self.write_transaction(action) as tx:
                return tx.insert_many(events)
        self.listeners.refuse_write(action)
        rows = insert_rows(events)
        with self._lock:
            stored = self._insert_rows(rows, action)
            if stored is not None:
                published: list[tuple[int, Event]] = []
                result = outcomes(events, stored, published if self.listeners else None)
                self.committed(published, len(stored))
                return result
        self.months = self._read_months()  # a purge elsewhere dropped a month: make it again
        with self.write_transaction(action) as tx:
            return tx.insert_many(events)

    def _insert_rows(self, rows: list[tuple[Any, ...]], action: str) -> list[Any] | None:
        """Store rows with one autocommit statement (store_events); None if a month is gone."""
        conn = self._take(action)
        try:
            return conn.execute(INSERT_ARRAYS, array_params(self.commit_key, rows)).fetchall()
        except psycopg.errors.CheckViolation as exc:
            if "no partition" in str(exc):
                return None  # nothing was written: the transaction rolled back
            raise translate(exc, action, self.location, write=True) from None
        except psycopg.Error as exc:
            raise translate(exc, action, self.location, write=True) from None
        finally:
            self._pool.putconn(conn)

    def _begin(self, action: str) -> _Transaction:
        """Take a pooled connection and BEGIN; a connection found dead is replaced once."""
        for attempt in (1, 2):
            try:
                conn = self._pool.getconn()
            except PoolTimeout as exc:
                raise translate(exc, action, self.location, write=True) from None
            try:
                conn.execute("BEGIN")
                return _Transaction(self, conn)
            except psycopg.Error as exc:
                self._pool.putconn(conn)  # the pool discards a broken connection
                if attempt == 2 or not isinstance(exc, psycopg.OperationalError):
                    raise translate(exc, action, self.location, write=True) from None
                self._pool.check()  # the other idle connections died with it (a restart)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_partition(self, conn: psycopg.Connection[Any], month: tuple[int, int]) -> None:
        """Create the events and detections partitions of one month (if absent)."""
        lo, hi = month_bounds(month)
        suffix = f"_p{month[0]:04d}_{month[1]:02d}"
        for table in ("events", "detections"):
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(self.schema, table + suffix),
                    sql.Identifier(self.schema, table),
                    sql.Literal(lo),
                    sql.Literal(hi),
                )
            )

    def _read_months(self, conn: psycopg.Connection[Any] | None = None) -> set[tuple[int, int]]:
        """Return the months that have an events partition (on ``conn``, else pooled)."""
        args = (_MONTHS, (self.schema,))
        rows = conn.execute(*args).fetchall() if conn else self._fetch("list partitions", *args)
        months = set()
        for (name,) in rows:
            year, number = name.removeprefix("events_p").split("_")
            months.add((int(year), int(number)))
        return months

    def add_commit_listener(self, callback: CommitListener) -> Callable[[], None]:
        """Call ``callback`` with the events of each commit that stored some; returns remove."""
        return self.listeners.add(callback)

    def watch_commits(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` soon after any process commits new events (LISTEN); returns stop."""
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set() and not self._closed:
                try:
                    with self._connect("watch for commits") as conn:
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                        wake()  # anything committed while (re)connecting
                        while not stop.is_set() and not self._closed:
                            for _ in conn.notifies(timeout=0.25, stop_after=1):
                                wake()
                except (psycopg.Error, DatabaseError) as exc:
                    log.warning("listening for commits on %s failed: %s", self.location, exc)
                    stop.wait(1.0)

        threading.Thread(target=run, name="camvault-watch", daemon=True).start()
        return stop.set

    def set_thumbnail_path(self, event_id: str, path: str) -> bool:
        """Record an event's thumbnail file; False if the event does not exist."""
        with self.write_transaction("record a thumbnail") as tx:
            cur = tx.conn.execute(
                f"UPDATE events e SET thumbnail_path = %s WHERE {_BY_EVENT_ID}", (path, event_id)
            )
            return cur.rowcount > 0

    def save_thumbnail_data(self, event_id: str, data: bytes, fmt: str, path: str) -> bool:
        """Store a thumbnail's bytes in the database; False if the event does not exist."""
        with self.write_transaction("store a thumbnail") as tx:
            found = tx.conn.execute(
                f"UPDATE events e SET thumbnail_path = %s WHERE {_BY_EVENT_ID} RETURNING e.ts",
                (path, event_id),
            ).fetchall()
            if not found:
                return False
            tx.conn.execute(
                "INSERT INTO thumbnails (event_id, ts, format, data) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (event_id) DO UPDATE SET format = excluded.format, "
                "data = excluded.data",
                (event_id, found[0][0], fmt, data),
            )
            return True

    def load_thumbnail(self, event_id: str) -> tuple[bytes, str] | None:
        """Return a thumbnail stored in the database (bytes, format), or None."""
        rows = self._fetch(
            "read a thumbnail",
            "SELECT data, format FROM thumbnails WHERE event_id = %s",
            (event_id,),
        )
        return (bytes(rows[0][0]), str(rows[0][1])) if rows else None

    def purge_batches(
        self,
        before: int | None,
        camera_id: str | None,
        labels: tuple[str, ...],
        batch_size: int,
    ) -> Iterator[PurgeBatch]:
        """Delete non-retained events, whole old months first, then in bounded batches."""
        if before is not None and camera_id is None and not labels:
            yield from self._drop_months(before)
        clauses: list[str] = ["NOT e.retain"]
        params: list[Any] = []
        if before is not None:
            clauses.append("e.ts < %s")
            params.append(before)
        if camera_id is not None:
            clauses.append("e.camera_id = %s")
            params.append(camera_id)
        if labels:
            clauses.append(
                "EXISTS (SELECT 1 FROM detections d WHERE d.event_rowid = e.id AND d.ts = e.ts "
                "AND d.label = ANY(%s)) AND NOT EXISTS (SELECT 1 FROM detections d "
                "WHERE d.event_rowid = e.id AND d.ts = e.ts AND d.label <> ALL(%s))"
            )
            params.extend([list(labels), list(labels)])
        condition = " AND ".join(clauses)
        while True:
            with self.write_transaction("purge events") as tx:
                removed, refs = tx.delete(condition, params, batch_size)
            if not removed:
                return
            yield removed, refs

    def _drop_months(self, before: int) -> Iterator[PurgeBatch]:
        """Drop each month partition that lies wholly before ``before`` and retains nothing.

        The month's event ids and stored thumbnails go first, in small transactions beside
        the writers; then one short transaction under the commit lock removes what arrived
        meanwhile, the month's rollup cells and the two partitions.
        """
        self.months = self._read_months()
        for month in sorted(self.months):
            lo, hi = month_bounds(month)
            if hi > before:
                break
            suffix = f"_p{month[0]:04d}_{month[1]:02d}"
            events = sql.Identifier(self.schema, "events" + suffix)
            kept = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE retain)").format(events)
            if self._fetch("check an old month", kept.as_string())[0][0]:
                continue  # its old events go row by row; the retained ones stay
            seen = self._fetch(
                "count an old month",
                sql.SQL("SELECT count(*), coalesce(max(id), 0) FROM {}").format(events).as_string(),
            )[0]
            refs_sql = sql.SQL(
                "SELECT event_id, camera_id, ts, thumbnail_path FROM {} "
                "WHERE thumbnail_path IS NOT NULL AND id <= %s"
            ).format(events)
            refs = self._fetch("list an old month's thumbnails", refs_sql.as_string(), (seen[1],))
            for table in ("event_ids", "thumbnails"):
                self._delete_range(table, lo, hi)
            with self.write_transaction("drop an old month of events") as tx:
                tx.lock()
                conn = tx.conn
                if conn.execute(kept).fetchall()[0][0]:  # retained meanwhile: keep the month
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO event_ids (event_id, ts, id) SELECT event_id, ts, id "
                            "FROM {} ON CONFLICT (event_id) DO NOTHING"
                        ).format(events)
                    )
                    continue
                late = conn.execute(
                    sql.SQL(
                        "SELECT event_id, camera_id, ts, thumbnail_path FROM {} WHERE id > %s"
                    ).format(events),
                    (seen[1],),
                ).fetchall()
                for table in ("event_ids", "thumbnails"):
                    conn.execute(
                        sql.SQL("DELETE FROM {} WHERE ts >= %s AND ts < %s").format(
                            sql.Identifier(table)
                        ),
                        (lo, hi),
                    )
                conn.execute("DELETE FROM rollup_hourly WHERE hour >= %s AND hour < %s", (lo, hi))
                for table in ("events", "detections"):
                    conn.execute(
                        sql.SQL("DROP TABLE {}").format(sql.Identifier(self.schema, table + suffix))
                    )
            self.months.discard(month)
            removed = int(seen[0]) + len(late)
            found = [*refs, *(r for r in late if r[3])]
            if removed:
                log.info("dropped the partition of %04d-%02d (%d events)", *month, removed)
                yield removed, [(str(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in found]

    def _delete_range(self, table: str, lo: int, hi: int, batch: int = 10_000) -> None:
        """Delete a table's rows with ts in [lo, hi) in transactions of ``batch`` rows."""
        query = sql.SQL(
            "DELETE FROM {} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {} "
            "WHERE ts >= %s AND ts < %s LIMIT %s))"
        ).format(sql.Identifier(table), sql.Identifier(table))
        while True:
            with self._pooled("purge an old month", write=True) as conn:
                if conn.execute(query, (lo, hi, batch)).rowcount < batch:
                    return

    def trim_batches(self, max_bytes: int, batch_size: int) -> Iterator[PurgeBatch]:
        """Delete the oldest non-retained events until their rows fit in ``max_bytes``.

        PostgreSQL keeps the space of deleted rows for reuse (after VACUUM) rather than
        shrinking its files, so the size counted is that of the stored rows themselves
        (events, detections, thumbnails: one scan), and the number of events to remove is
        worked out once from the average size of an event.
        """
        used = self.live_bytes()
        if used <= max_bytes:
            return
        total = int(self._fetch("count events", "SELECT count(*) FROM events")[0][0])
        if not total:
            return
        remaining = -(-(used - max_bytes) * total // used)
        while remaining > 0:
            with self.write_transaction("trim the database to its size cap") as tx:
                removed, refs = tx.delete("NOT e.retain", (), min(batch_size, remaining))
            if not removed:
                return
            remaining -= removed
            yield removed, refs

    def live_bytes(self) -> int:
        """Bytes of the rows stored for events: events, detections and thumbnails."""
        sizes = " + ".join(
            f"(SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t)"
            for table in ("events", "detections", "thumbnails")
        )
        return int(self._fetch("measure the stored events", f"SELECT {sizes}")[0][0])

    def used_bytes(self) -> int:
        """Bytes of camvault's tables and indexes in this schema."""
        rows = self._fetch(
            "measure the database",
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (self.schema,),
        )
        return int(rows[0][0])

    def delete_event(self, event_id: str) -> list[ThumbnailRef] | None:
        """Delete one event; None if it did not exist, else its thumbnail reference."""
        with self.write_transaction("delete an event") as tx:
            removed, refs = tx.delete(_BY_EVENT_ID, (event_id,), None)
        return refs if removed else None

    def delete_person(self, name: str) -> bool:
        """Delete one person by name; False if there was none."""
        with self.write_transaction("delete a person") as tx:
            return tx.conn.execute("DELETE FROM persons WHERE name = %s", (name,)).rowcount > 0

    def upsert_person(self, person: Person, now: int) -> Person:
        """Insert or update a person by name and return it as stored."""
        with self.write_transaction("save a person") as tx:
            row = tx.conn.execute(
                f"INSERT INTO persons ({_PERSON_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET authorized = excluded.authorized, "
                "notes = excluded.notes, updated_at = excluded.updated_at "
                f"RETURNING {_PERSON_COLUMNS}",
                (person.name, person.authorized, person.notes, now, now),
            ).fetchall()[0]
        return person_from_row(row)

    # -- reads ------------------------------------------------------------------------

    def get_event(self, event_id: str) -> Event | None:
        """Return one event by id, or None."""
        rows = self._fetch(
            "read an event", f"SELECT {COLUMNS} FROM events e WHERE {_BY_EVENT_ID}", (event_id,)
        )
        return event_from_row(rows[0]) if rows else None

    def query(self, spec: QuerySpec) -> tuple[list[Event], tuple[int, int] | None]:
        """Return events matching ``spec`` in its order, and the keyset of the last one."""
        query, params = select_events(spec)
        rows = self._fetch("query events", query, params)
        events = [event_from_row(r) for r in rows]
        last = (int(rows[-1][2]), int(rows[-1][0])) if len(rows) == spec.limit else None
        return events, last

    def tail(self, after: int | None, limit: int) -> tuple[list[Event], int]:
        """Return events stored after position ``after`` (oldest first) and the new position."""
        if after is None:
            rows = self._fetch("follow new events", "SELECT high_water FROM positions")
            return [], int(rows[0][0])
        rows = self._fetch(
            "follow new events",
            f"SELECT {COLUMNS} FROM events e WHERE e.id > %s ORDER BY e.id LIMIT %s",
            (after, limit),
        )
        return [event_from_row(r) for r in rows], int(rows[-1][0]) if rows else after

    def follow(self, spec: QuerySpec, after: int, upto: int, limit: int) -> list[tuple[int, Event]]:
        """Return (position, event) of events matching ``spec`` in (after, upto], oldest first."""
        clauses, params = where(spec)
        query = f"SELECT {COLUMNS} FROM events e WHERE " + " AND ".join(
            ["e.id > %s", "e.id <= %s", *clauses]
        )
        rows = self._fetch(
            "follow new events", f"{query} ORDER BY e.id LIMIT %s", [after, upto, *params, limit]
        )
        return [(int(r[0]), event_from_row(r)) for r in rows]

    def count(self, spec: QuerySpec) -> int:
        """Return how many events match ``spec`` (limit and cursor ignored)."""
        clauses, params = where(spec)
        query = "SELECT count(*) FROM events e"
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        return int(self._fetch("count events", query, params)[0][0])

    def data_range(self) -> tuple[int, int] | None:
        """Return the (oldest, newest) event timestamps, or None when empty."""
        row = self._fetch("read the time range", "SELECT min(ts), max(ts) FROM events")[0]
        return None if row[0] is None else (int(row[0]), int(row[1]))

    def data_days(self, lo: int, hi: int) -> list[int]:
        """Return the starts of the UTC days holding events in [lo, hi), ascending."""
        query, params = data_days(lo, hi)
        return [int(row[0]) for row in self._fetch("list the days holding events", query, params)]

    def histogram(self, spec: HistogramSpec) -> list[tuple[int, str | None, int]]:
        """Return (bucket number, key, count) rows, from rollups where they answer exactly."""
        totals: Counter[tuple[int, str | None]] = Counter()
        for part in spec.parts():
            query, params = (
                rollup_histogram(spec, part.plan, part.since, part.until)
                if isinstance(part, RollupPart)
                else events_histogram(spec, part)
            )
            for number, key, n in self._fetch("count events for a histogram", query, params):
                totals[int(number), key] += int(n)
        return [(number, key, n) for (number, key), n in totals.items()]

    def get_person(self, name: str) -> Person | None:
        """Return one person by name, or None."""
        rows = self._fetch(
            "read a person", f"SELECT {_PERSON_COLUMNS} FROM persons WHERE name = %s", (name,)
        )
        return person_from_row(rows[0]) if rows else None

    def list_persons(self) -> list[Person]:
        """Return every person, by name."""
        rows = self._fetch("list persons", f"SELECT {_PERSON_COLUMNS} FROM persons ORDER BY name")
        return [person_from_row(r) for r in rows]

    def list_cameras(self) -> list[Camera]:
        """Return every camera, by id."""
        rows = self._fetch(
            "list cameras", "SELECT camera_id, name, created_at FROM cameras ORDER BY camera_id"
        )
        return [camera_from_row(r) for r in rows]

    def ping(self) -> None:
        """Run one trivial query on a pooled connection."""
        self._fetch("check the database", "SELECT 1")

    def info(self) -> dict[str, Any]:
        """Describe the engine, schema and contents."""
        tables = ("events", "detections", "cameras", "persons", "thumbnails")
        counted = ", ".join(f"(SELECT count(*) FROM {table})" for table in tables)
        row = self._fetch(
            "describe the database", f"SELECT current_setting('server_version'), {counted}"
        )[0]
        server, counts = str(row[0]), dict(zip(tables, map(int, row[1:]), strict=True))
        self.months = self._read_months()
        stats = self._pool.get_stats()
        return {
            "engine": "postgresql",
            "engine_version": server,
            "driver": f"psycopg {psycopg.__version__}",
            "schema_version": self.schema_version,
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "schema": self.schema,
            "events": counts["events"],
            "detections": counts["detections"],
            "cameras": counts["cameras"],
            "persons": counts["persons"],
            "thumbnails_stored": counts["thumbnails"],
            "size_bytes": self.used_bytes(),
            "partitions": [f"{y:04d}-{m:02d}" for y, m in sorted(self.months)],
            "thumbnails": self.options.thumbnails,
            "write_transactions": self.commits,
            "pool_size": self.options.pool_size,
            "pool_connections": stats.get("pool_size", 0),
            "statement_timeout": self.options.statement_timeout,
            "lock_timeout": self.options.lock_timeout,
        }

    # -- schema -----------------------------------------------------------------------

    def _migrate(
        self, conn: psycopg.Connection[Any], migrations: list[Migration], *, create: bool
    ) -> None:
        """Create the schema and apply pending migrations, one process at a time."""
        latest = migrations[-1].version if migrations else 0
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key("migrate", self.schema),))
            try:
                current = self._current_version(conn, create=create)
                if current > latest:
                    raise MigrationError(
                        f"{self.location} has schema v{current}, newer than this camvault "
                        f"knows (v{latest}); upgrade camvault"
                    )
                if current < latest:
                    self._apply(conn, migrations, current)
                self.schema_version = latest
                self._ahead(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error as exc:
            raise translate(exc, "prepare the schema", self.location, write=False) from None

    def _current_version(self, conn: psycopg.Connection[Any], *, create: bool) -> int:
        """Return the applied schema version (0: none), refusing a schema that is not ours."""
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
                (self.schema,),
            )
        }
        if "schema_migrations" in tables:
            row = conn.execute(
                sql.SQL("SELECT max(version) FROM {}").format(
                    sql.Identifier(self.schema, "schema_migrations")
                )
            ).fetchall()[0]
            return int(row[0] or 0)
        if tables:
            raise MigrationError(
                f"schema {self.schema!r} of database {self.database!r} holds tables that are not "
                f"camvault's ({', '.join(sorted(tables)[:5])}); give another ?schema= in the URL"
            )
        if not create:
            raise DatabaseError(
                f"no camvault store in schema {self.schema!r} of database {self.database!r} at "
                f"{self.host}:{self.port}; check the URL (and ?schema=), or record events first"
            )
        return 0

    def _apply(
        self, conn: psycopg.Connection[Any], migrations: list[Migration], current: int
    ) -> None:
        """Apply every migration newer than ``current`` in one transaction."""
        step: Migration | None = None
        try:
            with conn.transaction():
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                    "name text NOT NULL, checksum text NOT NULL, applied_at bigint NOT NULL)"
                )
                for step in migrations[current:]:
                    conn.execute(step.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (%s, %s, %s, %s)",
                        (step.version, step.name, step.checksum, to_micros(datetime.now(UTC))),
                    )
        except psycopg.Error as exc:
            name = f"{step.version:04d}_{step.name}" if step else "the migration table"
            hint = (
                "; raise ?statement_timeout= (seconds) in the URL"
                if isinstance(exc, psycopg.errors.QueryCanceled)
                else ""
            )
            raise MigrationError(
                f"applying {name} to {self.location} failed: {self._reason(exc)}; the schema "
                f"was left at its previous version{hint}"
            ) from None
        log.info("schema of %s is now v%d", self.location, migrations[-1].version)

    def _ahead(self, conn: psycopg.Connection[Any]) -> None:
        """Create the partitions of this month and the next ones (if absent)."""
        now = datetime.now(UTC)
        wanted = set()
        for step in range(_AHEAD + 1):
            index = now.month - 1 + step
            wanted.add((now.year + index // 12, index % 12 + 1))
        self.months = self._read_months(conn)
        missing = wanted - self.months
        if not missing:
            return
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.commit_key,))
                for month in sorted(missing):
                    self.create_partition(conn, month)
        except psycopg.errors.ReadOnlySqlTransaction:  # a read replica: reads still work
            log.warning("%s is read-only: month partitions are not created ahead", self.location)
            return
        self.months |= missing

    # -- ad-hoc reads -----------------------------------------------------------------

    @contextlib.contextmanager
    def read_snapshot(self, action: str, timeout: float | None = None) -> Iterator[SqlRun]:
        """Lend a connection of its own in one REPEATABLE READ, READ ONLY transaction.

        Not a pooled one: whatever the SQL changes in the session (set_config, say) ends with
        the connection, never reaching camvault's own queries.
        """
        with self._connect(action) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            limit = 0 if timeout is None else _milliseconds(timeout)
            conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(limit)))

            def run(query: str, params: Sequence[Any]) -> tuple[list[str], list[Any]]:
                try:
                    with conn.transaction():  # a savepoint: a bad statement spoils nothing
                        cursor = conn.execute(query, tuple(params), prepare=False)
                        if cursor.description is None:
                            return [], []
                        return [c.name for c in cursor.description], cursor.fetchall()
                except psycopg.errors.ReadOnlySqlTransaction as exc:
                    problem = f"only reads are allowed here ({self._reason(exc)})"
                    raise InvalidQueryError("sql", [("query", problem)]) from None
                except psycopg.errors.QueryCanceled:
                    problem = f"ran longer than {timeout:g} s; narrow it (WHERE, LIMIT)"
                    raise InvalidQueryError("sql", [("query", problem)]) from None
                except (psycopg.ProgrammingError, psycopg.DataError) as exc:
                    raise InvalidQueryError("sql", [("query", self._reason(exc))]) from None
                except psycopg.Error as exc:
                    raise translate(exc, action, self.location, write=False) from None

            yield run

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Release every connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with self._lock, self._analyzing:
            self._pool.close()


def _milliseconds(seconds: float) -> int:
    """Return a timeout in whole milliseconds; 0 stays "no limit", any other is at least 1."""
    return 0 if seconds == 0 else max(1, round(seconds * 1000))
