"""Insert benchmarks: single events, bulk imports, model construction and import memory."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator, Sequence
from typing import Any

import apsw

from benchmarks.baseline import Baseline, fingerprint
from benchmarks.reads import ReadPlan, read_baseline, read_camvault
from benchmarks.workload import (
    EventTuple,
    counting_logs,
    scratch,
    time_each,
    wal_state,
)
from camvault import Event, EventStore
from camvault.models import new_event_id


def construct_p50(events: Sequence[Event]) -> dict[str, float]:
    """Time building and validating an Event from a plain dict (what a real caller pays)."""
    dicts = [ev.model_dump() for ev in events]
    for d in dicts[:200]:
        Event(**d)
    lat = time_each(lambda d: Event(**d), dicts)
    return {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "n": lat.n}


def single_camvault(
    events: Sequence[Event], warmup: Sequence[Event], plan: ReadPlan | None
) -> dict[str, Any]:
    """Insert events one by one with EventStore.insert_event (a commit each), then read."""
    with scratch("camvault") as folder, counting_logs() as logs:
        db = folder / "camvault.db"
        store = EventStore(db)
        try:
            for ev in warmup:
                store.insert_event(ev)
            lat = time_each(store.insert_event, events)
            wal = wal_state(db)
            schema = store.info().get("schema_version")
            reads = read_camvault(store, plan) if plan else {}
        finally:
            store.close()
        counts = fingerprint(db)
    return {
        "latency": lat,
        **wal,
        "counts": counts,
        "logs": dict(logs.counts),
        "reads": reads,
        "schema_version": schema,
    }


def single_baseline(
    events: Sequence[EventTuple], warmup: Sequence[EventTuple], plan: ReadPlan | None
) -> dict[str, Any]:
    """Insert event tuples one by one with the raw-SQL baseline, then read."""
    with scratch("baseline") as folder:
        db = folder / "baseline.db"
        store = Baseline(db)
        try:
            for ev in warmup:
                store.insert_one(ev)
            lat = time_each(store.insert_one, events)
            wal = wal_state(db)
            reads = read_baseline(store, plan) if plan else {}
        finally:
            store.close()
        counts = fingerprint(db)
    return {"latency": lat, **wal, "counts": counts, "logs": {}, "reads": reads}


def bulk_camvault(events: Sequence[Event], warmup: Sequence[Event]) -> dict[str, Any]:
    """Import events in one insert_events call and return its rate."""
    with scratch("camvault-bulk") as folder, counting_logs():
        store = EventStore(folder / "camvault.db")
        try:
            store.insert_events(warmup)
            start = time.perf_counter_ns()
            result = store.insert_events(events)
            elapsed = time.perf_counter_ns() - start
        finally:
            store.close()
    if result.inserted != len(events):
        raise RuntimeError(f"camvault stored {result} of {len(events)} events")
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9}


def bulk_baseline(events: Sequence[EventTuple], warmup: Sequence[EventTuple]) -> dict[str, Any]:
    """Import event tuples in one transaction with the baseline and return its rate."""
    with scratch("baseline-bulk") as folder:
        store = Baseline(folder / "baseline.db")
        try:
            store.insert_bulk(warmup)
            start = time.perf_counter_ns()
            store.insert_bulk(events)
            elapsed = time.perf_counter_ns() - start
        finally:
            store.close()
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9}


def _stream(pool: Sequence[Event], n: int) -> Iterator[Event]:
    """Yield ``n`` events cycled from ``pool``, each a copy under a fresh event_id."""
    for i in range(n):
        yield pool[i % len(pool)].model_copy(update={"event_id": new_event_id()})


def import_memory(pool: Sequence[Event], n: int) -> dict[str, Any]:
    """Measure peak traced Python memory and SQLite's high water of a generator import."""
    with scratch("camvault-memory") as folder, counting_logs():
        store = EventStore(folder / "camvault.db")
        try:
            tracemalloc.start()
            apsw.memory_high_water(True)
            start = time.perf_counter()
            result = store.insert_events(_stream(pool, n))
            seconds = time.perf_counter() - start
            python_peak = tracemalloc.get_traced_memory()[1]
            sqlite_peak = apsw.memory_high_water()
        finally:
            tracemalloc.stop()
            store.close()
    if result.inserted != n:
        raise RuntimeError(f"camvault stored {result} of {n} events")
    return {
        "events": n,
        "python_peak_bytes": python_peak,
        "sqlite_high_water_bytes": sqlite_peak,
        "seconds_traced": seconds,
    }
