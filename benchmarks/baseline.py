"""The hand-written baselines: camvault's schema with no validation, full text or rollups.

``Baseline`` is stdlib sqlite3 written by hand, ``ApswBulk`` a hand-tuned APSW bulk import,
``AioBaseline`` aiosqlite written the plain way (one await per statement), and
``apsw_writer`` / ``sqlean_writer`` the same raw hot-path insert on each driver.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiosqlite
import apsw
import sqlean  # type: ignore[import-untyped]

from benchmarks.harness import EventTuple
from camvault.migrations import load_migrations

SCHEMA: tuple[str, ...] = tuple(
    statement.strip()
    for statement in re.sub(r"--[^\n]*", "", load_migrations("sqlite")[0].sql).split(";")
    if statement.strip()
)
"""The CREATE statements of camvault's migration 0001, read from the migration itself."""

COLUMNS = (
    "event_id, ts, camera_id, motion_confidence, detected_objects, llm_description, "
    "image_path, json_log_path, thumbnail_path, person_name, face_confidence, face_distance, "
    "unlock_granted, door_action, recording_id, metadata"
)
INSERT_CAMERA = "INSERT OR IGNORE INTO cameras (camera_id, name, created_at) VALUES (?, NULL, ?)"
INSERT_EVENT = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 16)})"
INSERT_EVENT_ID = f"INSERT INTO events (id, {COLUMNS}) VALUES ({', '.join('?' * 17)})"
INSERT_DETECTION = "INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
SELECT = f"SELECT id, {COLUMNS} FROM events"
NAMES = ("id", *COLUMNS.split(", "))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
BATCH = 1000


dumps = json.JSONEncoder(separators=(",", ":")).encode
"""json.dumps with compact separators (camvault's bytes), the encoder built once."""


def event_row(ev: EventTuple, ts: int) -> tuple[Any, ...]:
    """Return the events row of an event tuple."""
    unlock = None if ev[12] is None else int(ev[12])
    return (ev[0], ts, ev[2], ev[3], dumps(ev[4]), *ev[5:12], unlock, ev[13], ev[14], dumps(ev[15]))


def detection_rows(rowid: int, ts: int, objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Return one detections row per detected object."""
    return [
        (rowid, i, o["label"], o["confidence"], *(o["bbox"] or (None,) * 4), ts)
        for i, o in enumerate(objects)
    ]


def camera_rows(events: Sequence[EventTuple]) -> list[tuple[str, int]]:
    """The cameras of ``events``, each with the time of its first event."""
    return list({ev[2]: (ev[1] - EPOCH) // MICRO for ev in reversed(events)}.items())


def bulk_batches(
    events: Sequence[EventTuple], next_id: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The event and detection rows of ``events`` in batches of BATCH, ids from ``next_id``."""
    for start in range(0, len(events), BATCH):
        rows: list[tuple[Any, ...]] = []
        detections: list[tuple[Any, ...]] = []
        for ev in events[start : start + BATCH]:
            ts = (ev[1] - EPOCH) // MICRO
            rows.append((next_id, *event_row(ev, ts)))
            detections.extend(detection_rows(next_id, ts, ev[4]))
            next_id += 1
        yield rows, detections


def to_dict(row: Sequence[Any]) -> dict[str, Any]:
    """Turn a selected row into a dict, parsing the JSON columns and the timestamp."""
    out = dict(zip(NAMES, row, strict=True))
    out["ts"] = EPOCH + timedelta(microseconds=row[2])
    out["detected_objects"] = json.loads(row[5])
    out["metadata"] = json.loads(row[16])
    return out


def fingerprint(db: Path) -> dict[str, Any]:
    """Count a closed database's events and detections, and hash their rows (v1 columns)."""
    digest = hashlib.sha256()
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    counts = []
    try:
        for sql in (f"{SELECT} ORDER BY id", "SELECT * FROM detections ORDER BY event_rowid, idx"):
            n = 0
            for row in con.execute(sql):
                digest.update(repr(row).encode())
                n += 1
            counts.append(n)
    finally:
        con.close()
    return {"events": counts[0], "detections": counts[1], "sha256": digest.hexdigest()[:16]}


def counts(db: Path) -> dict[str, int]:
    """Count a closed database's events and detections."""
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("events", "detections")
        }
    finally:
        con.close()


class Baseline:
    """What a developer would write by hand with the standard library's sqlite3."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        self.con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        if create:
            for statement in SCHEMA:
                self.con.execute(statement)

    def insert_one(self, ev: EventTuple) -> None:
        """Write one event and its detections in a transaction of its own."""
        con = self.con
        ts = (ev[1] - EPOCH) // MICRO
        con.execute("BEGIN IMMEDIATE")
        con.execute(INSERT_CAMERA, (ev[2], ts))
        rowid = con.execute(INSERT_EVENT, event_row(ev, ts)).lastrowid
        if ev[4]:
            con.executemany(INSERT_DETECTION, detection_rows(rowid or 0, ts, ev[4]))
        con.execute("COMMIT")

    def insert_bulk(self, events: Sequence[EventTuple]) -> None:
        """Write many events in one transaction, batched with executemany."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        con.executemany(INSERT_CAMERA, camera_rows(events))
        next_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchone()[0]
        for rows, detections in bulk_batches(events, next_id):
            con.executemany(INSERT_EVENT_ID, rows)
            con.executemany(INSERT_DETECTION, detections)
        con.execute("COMMIT")

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        """Return one event as a dict, or None."""
        row = self.con.execute(f"{SELECT} WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else to_dict(row)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """Return the newest events as dicts."""
        sql = f"{SELECT} ORDER BY ts DESC, id DESC LIMIT ?"
        return [to_dict(r) for r in self.con.execute(sql, (limit,))]

    def query(self, label: str, min_confidence: float, since: int, limit: int) -> list[Any]:
        """Return the newest events with a confident detection of ``label`` since ``since``."""
        sql = (
            f"{SELECT} e WHERE e.ts >= ? AND EXISTS (SELECT 1 FROM detections d "
            "WHERE d.event_rowid = e.id AND d.label IN (?) AND d.confidence >= ?) "
            "ORDER BY e.ts DESC, e.id DESC LIMIT ?"
        )
        rows = self.con.execute(sql, (since, label, min_confidence, limit))
        return [to_dict(r) for r in rows]

    def close(self) -> None:
        """Checkpoint and close."""
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.con.close()


class AioBaseline:
    """One aiosqlite connection; an asyncio.Lock keeps each transaction whole."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, cameras: Sequence[tuple[str, int]]) -> AioBaseline:
        """Create the baseline schema (WAL, synchronous=NORMAL) and register the cameras."""
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            await db.execute(statement)
        await db.executemany(INSERT_CAMERA, cameras)
        return cls(db)

    async def insert(self, ev: EventTuple) -> None:
        """Write one event and its detections in a transaction of its own."""
        ts = (ev[1] - EPOCH) // MICRO
        row = event_row(ev, ts)
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            cursor = await self.db.execute(INSERT_EVENT, row)
            if ev[4]:
                await self.db.executemany(
                    INSERT_DETECTION, detection_rows(cursor.lastrowid or 0, ts, ev[4])
                )
            await self.db.commit()

    async def close(self) -> None:
        """Checkpoint and close."""
        await self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await self.db.close()


def cameras_of(*groups: Sequence[EventTuple]) -> list[tuple[str, int]]:
    """Return (camera_id, first ts) for every camera, registered once before timing."""
    first: dict[str, int] = {}
    for group in groups:
        for ev in group:
            first.setdefault(ev[2], (ev[1] - EPOCH) // MICRO)
    return list(first.items())


Prepared = tuple[str, int, tuple[Any, ...], list[tuple[Any, ...]]]
"""(camera_id, ts, event row, detection rows without their event rowid)."""

DRIVERS = ("apsw", "sqlean.py")


def prepare(ev: EventTuple) -> Prepared:
    """Serialize an event ahead of time, so only the driver's work is timed."""
    ts = (ev[1] - EPOCH) // MICRO
    detections = [
        (i, o["label"], o["confidence"], *(o["bbox"] or (None,) * 4), ts)
        for i, o in enumerate(ev[4])
    ]
    return ev[2], ts, event_row(ev, ts), detections


def apsw_writer(path: Path) -> tuple[Callable[[Prepared], None], Callable[[], None]]:
    """Open an APSW connection and return its insert function and its closer."""
    con = apsw.Connection(str(path))
    con.execute("PRAGMA journal_mode=WAL").fetchall()  # one pragma per execute with APSW
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        con.execute(statement)
    execute, executemany = con.execute, con.executemany

    def insert(p: Prepared) -> None:
        execute("BEGIN IMMEDIATE")
        execute(INSERT_CAMERA, (p[0], p[1]))
        execute(INSERT_EVENT, p[2])
        if p[3]:
            rowid = con.last_insert_rowid()
            executemany(INSERT_DETECTION, [(rowid, *d) for d in p[3]])
        execute("COMMIT")

    return insert, con.close


def sqlean_writer(path: Path) -> tuple[Callable[[Prepared], None], Callable[[], None]]:
    """Open a sqlean.py connection (sqlite3's API) and return its insert function and closer."""
    con = sqlean.connect(str(path), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        con.execute(statement)
    execute, executemany = con.execute, con.executemany

    def insert(p: Prepared) -> None:
        execute("BEGIN IMMEDIATE")
        execute(INSERT_CAMERA, (p[0], p[1]))
        rowid = execute(INSERT_EVENT, p[2]).lastrowid
        if p[3]:
            executemany(INSERT_DETECTION, [(rowid, *d) for d in p[3]])
        execute("COMMIT")

    return insert, con.close


class ApswBulk:
    """The bulk ceiling: one APSW connection, prebuilt rows, executemany per batch.

    Migration 0001's tables and indexes with journal_mode=WAL and synchronous=NORMAL, no
    validation, full-text index or rollups: what a hand-tuned import of the same rows costs.
    """

    def __init__(self, path: Path) -> None:
        self.con = apsw.Connection(str(path))
        self.con.execute("PRAGMA journal_mode=WAL").fetchall()
        self.con.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            self.con.execute(statement)

    def insert_bulk(self, events: Sequence[EventTuple]) -> None:
        """Write many events in one transaction, batched with executemany."""
        con = self.con
        with con:
            con.executemany(INSERT_CAMERA, camera_rows(events))
            next_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM events").fetchall()[0][0]
            for rows, detections in bulk_batches(events, next_id):
                con.executemany(INSERT_EVENT_ID, rows)
                con.executemany(INSERT_DETECTION, detections)

    def close(self) -> None:
        """Checkpoint and close."""
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        self.con.close()


def versions() -> dict[str, str]:
    """Return each driver's version and the SQLite it bundles."""
    return {
        "apsw": f"apsw {apsw.apsw_version()}, SQLite {apsw.sqlite_lib_version()}",
        "sqlean.py": f"sqlean.py {version('sqlean.py')}, SQLite {sqlean.sqlite_version}",
    }
