"""The write runs of the PostgreSQL section: bulk, single inserts and async producers.

Every run gets a fresh schema, dropped when it ends. camvault creates its schema itself
(``?schema=NAME``); the raw psycopg runs get a schema where camvault's migration was applied
by opening (and closing) an EventStore on it, plus the month partitions of their events;
the ORM creates its own tables with ``metadata.create_all``.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from benchmarks import pg_orm, pg_raw
from benchmarks.harness import EventTuple, counting_logs, produce_all
from benchmarks.pg_common import connect, ensure_partitions, fresh_schema, months, with_schema
from camvault import Event, EventStore
from camvault.aio import AsyncEventStore

COUNTED = ("events", "detections", "event_ids")
"""The tables whose rows are counted after each run, in raw SQL."""


def table_counts(url: str, schema: str, tables: Sequence[str] = COUNTED) -> dict[str, int]:
    """Count the rows of ``tables`` in ``schema`` with plain SQL."""
    with connect(url, schema) as conn:
        out = {}
        for table in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            out[table] = int(row.fetchone()[0])  # type: ignore[index]
    return out


def camvault_schema(url: str, schema: str, times: Sequence[datetime]) -> None:
    """Apply camvault's migration to ``schema`` (by opening a store) and add month partitions."""
    EventStore(with_schema(url, schema)).close()
    with connect(url, schema) as conn:
        ensure_partitions(conn, months(times))


def _times(*groups: Sequence[EventTuple]) -> list[datetime]:
    return [ev[1] for group in groups for ev in group]


def _expect(what: str, counts: dict[str, int], events: int) -> None:
    if counts["events"] != events:
        raise RuntimeError(f"{what} stored {counts} rows for {events} events")


def bulk_camvault(url: str, events: Sequence[Event], warmup: Sequence[Event]) -> dict[str, Any]:
    """Import events in one insert_events call on a fresh schema; return its rate."""
    with fresh_schema(url, "bulk_cv", create=False) as schema, counting_logs():
        store = EventStore(with_schema(url, schema))
        try:
            store.insert_events(warmup)
            gc.collect()
            start = time.perf_counter_ns()
            result = store.insert_events(events)
            elapsed = time.perf_counter_ns() - start
        finally:
            store.close()
        counts = table_counts(url, schema)
    if result.inserted != len(events):
        raise RuntimeError(f"camvault stored {result} of {len(events)} events")
    _expect("camvault", counts, len(events) + len(warmup))
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9, "counts": counts}


RawBulk = Callable[[psycopg.Connection, Sequence[EventTuple]], None]


def bulk_raw(
    url: str, how: RawBulk, events: Sequence[EventTuple], warmup: Sequence[EventTuple]
) -> dict[str, Any]:
    """Import event tuples in one transaction with a raw psycopg writer; return its rate."""
    with fresh_schema(url, "bulk_raw", create=False) as schema:
        camvault_schema(url, schema, _times(warmup, events))
        with connect(url, schema) as conn:
            how(conn, warmup)
            gc.collect()
            start = time.perf_counter_ns()
            how(conn, events)
            elapsed = time.perf_counter_ns() - start
        counts = table_counts(url, schema)
    _expect("raw", counts, len(events) + len(warmup))
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9, "counts": counts}


def bulk_orm(
    url: str, events: Sequence[EventTuple], warmup: Sequence[EventTuple]
) -> dict[str, Any]:
    """Write event tuples through the SQLAlchemy ORM on a fresh schema; return its rate."""
    with fresh_schema(url, "bulk_orm") as schema:
        engine = pg_orm.engine_for(url, schema)
        try:
            pg_orm.orm_bulk(engine, warmup)
            gc.collect()
            start = time.perf_counter_ns()
            pg_orm.orm_bulk(engine, events)
            elapsed = time.perf_counter_ns() - start
            counts = pg_orm.orm_counts(engine)
        finally:
            engine.dispose()
    _expect("the ORM", counts, len(events) + len(warmup))
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9, "counts": counts}


def _interleaved(
    first: Callable[[Any], object], second: Callable[[Any], object], items: Sequence[Any]
) -> tuple[list[int], list[int]]:
    """Call both sides once per item, alternating which goes first; return their samples (ns).

    Side by side call by call, so both see the same noise of a shared machine.
    """
    clock = time.perf_counter_ns
    a: list[int] = []
    b: list[int] = []
    gc.collect()
    for i, (x, y) in enumerate(items):
        sides = ((first, x, a), (second, y, b))
        for call, item, samples in sides[::-1] if i % 2 else sides:
            t0 = clock()
            call(item)
            samples.append(clock() - t0)
    return a, b


def single_pair(
    url: str,
    events: Sequence[Event],
    warmup: Sequence[Event],
    tuples: Sequence[EventTuple],
    warm_t: Sequence[EventTuple],
) -> dict[str, Any]:
    """Insert events one by one (a commit each) with camvault and with raw psycopg, interleaved.

    camvault's insert_event on a schema of its own; the raw side on a schema migrated by
    camvault, cameras registered before timing. Returns each side's samples and row counts.
    """
    with (
        fresh_schema(url, "single_cv", create=False) as cv_schema,
        fresh_schema(url, "single_raw", create=False) as raw_schema,
        counting_logs() as logs,
    ):
        camvault_schema(url, raw_schema, _times(warm_t, tuples))
        store = EventStore(with_schema(url, cv_schema))
        try:
            with connect(url, raw_schema) as conn:
                pg_raw.register_cameras(conn, [*warm_t, *tuples])
                insert = pg_raw.single_writer(conn)
                _interleaved(store.insert_event, insert, list(zip(warmup, warm_t, strict=True)))
                cv, raw = _interleaved(
                    store.insert_event, insert, list(zip(events, tuples, strict=True))
                )
        finally:
            store.close()
        out: dict[str, Any] = {
            "camvault": {"samples": cv, "counts": table_counts(url, cv_schema)},
            "raw": {"samples": raw, "counts": table_counts(url, raw_schema)},
            "logs": dict(logs.counts),
        }
    for side in ("camvault", "raw"):
        _expect(side, out[side]["counts"], len(events) + len(warmup))
    return out


async def _insert_all(
    store: AsyncEventStore, events: Sequence[Event], warmup: Sequence[Event], producers: int
) -> dict[str, Any]:
    for ev in warmup:
        await store.insert_event(ev)
    rate, lat = await produce_all(store.insert_event, events, producers)
    return {"rate": rate, "latency": lat}


async def _open_and_insert(
    url: str, events: Sequence[Event], warmup: Sequence[Event], producers: int
) -> dict[str, Any]:
    async with AsyncEventStore(url) as store:
        return await _insert_all(store, events, warmup, producers)


def async_camvault(
    url: str, events: Sequence[Event], warmup: Sequence[Event], producers: int
) -> dict[str, Any]:
    """Insert events from ``producers`` tasks (1: one task, one await after another)."""
    with fresh_schema(url, f"async{producers}", create=False) as schema, counting_logs() as logs:
        target = with_schema(url, schema)
        out = asyncio.run(_open_and_insert(target, events, warmup, producers))
        out["counts"] = table_counts(url, schema)
    out["logs"] = dict(logs.counts)
    _expect("camvault", out["counts"], len(events) + len(warmup))
    return out
