"""The async baseline: aiosqlite written the plain way, one await per statement."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from benchmarks.baseline import (
    EPOCH,
    INSERT_CAMERA,
    INSERT_DETECTION,
    INSERT_EVENT,
    MICRO,
    SCHEMA,
    detection_rows,
    event_row,
)
from benchmarks.stats import percentiles
from benchmarks.workload import EventTuple, scratch


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


async def _run(
    path: Path, events: Sequence[EventTuple], warmup: Sequence[EventTuple], producers: int
) -> dict[str, Any]:
    store = await AioBaseline.open(path, cameras_of(warmup, events))
    try:
        for ev in warmup:
            await store.insert(ev)
        samples: list[int] = []
        clock = time.perf_counter_ns

        async def produce(share: Sequence[EventTuple]) -> None:
            for ev in share:
                t0 = clock()
                await store.insert(ev)
                samples.append(clock() - t0)

        gc.collect()
        start = clock()
        await asyncio.gather(*(produce(events[i::producers]) for i in range(producers)))
        elapsed = clock() - start
    finally:
        await store.close()
    return {"rate": len(events) / (elapsed / 1e9), "latency": percentiles(samples)}


def run(
    events: Sequence[EventTuple], warmup: Sequence[EventTuple], producers: int
) -> dict[str, Any]:
    """Insert ``events`` from ``producers`` coroutines through aiosqlite on a fresh database."""
    with scratch("aiosqlite") as folder:
        db = folder / "aiosqlite.db"
        out = asyncio.run(_run(db, events, warmup, producers))
        out["counts"] = counts(db)
    return out
