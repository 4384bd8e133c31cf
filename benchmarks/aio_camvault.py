"""camvault's side of the async section: sequential sync inserts and AsyncEventStore."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.aio_baseline import counts
from benchmarks.stats import percentiles
from benchmarks.workload import counting_logs, scratch, time_each
from camvault import Event, EventStore
from camvault.aio import AsyncEventStore


def sequential_sync(events: Sequence[Event], warmup: Sequence[Event]) -> dict[str, Any]:
    """Insert events one by one with EventStore.insert_event (a commit each)."""
    with scratch("sync") as folder, counting_logs() as logs:
        store = EventStore(folder / "camvault.db")
        try:
            for ev in warmup:
                store.insert_event(ev)
            lat = time_each(store.insert_event, events)
        finally:
            store.close()
    return {"rate": lat.rate, "latency": lat, "logs": dict(logs.counts)}


async def _run(
    store: AsyncEventStore, events: Sequence[Event], warmup: Sequence[Event], producers: int
) -> dict[str, Any]:
    for ev in warmup:
        await store.insert_event(ev)
    samples: list[int] = []
    clock = time.perf_counter_ns

    async def produce(share: Sequence[Event]) -> None:
        for ev in share:
            t0 = clock()
            await store.insert_event(ev)
            samples.append(clock() - t0)

    before = (await store.info())["write_transactions"]
    gc.collect()
    start = clock()
    await asyncio.gather(*(produce(events[i::producers]) for i in range(producers)))
    elapsed = clock() - start
    after = (await store.info())["write_transactions"]
    return {
        "rate": len(events) / (elapsed / 1e9),
        "latency": percentiles(samples),
        "write_transactions": after - before,
    }


async def _open_and_run(
    path: str, events: Sequence[Event], warmup: Sequence[Event], producers: int
) -> dict[str, Any]:
    async with AsyncEventStore(path) as store:
        return await _run(store, events, warmup, producers)


def run(events: Sequence[Event], warmup: Sequence[Event], producers: int) -> dict[str, Any]:
    """Insert ``events`` from ``producers`` coroutines with AsyncEventStore on a fresh database."""
    with scratch("async") as folder, counting_logs() as logs:
        db = folder / "camvault.db"
        out = asyncio.run(_open_and_run(str(db), events, warmup, producers))
        out["counts"] = counts(db)
    out["logs"] = dict(logs.counts)
    return out


async def _instrumented(
    path: str, events: Sequence[Event], warmup: Sequence[Event]
) -> tuple[list[int], list[int]]:
    """One coroutine awaiting insert_event, with the writer thread's insert_group timed."""
    inner: list[int] = []
    outer: list[int] = []
    clock = time.perf_counter_ns
    async with AsyncEventStore(path) as store:
        sync = store.store
        group = sync.insert_group

        def timed_group(items: Any, started: Any = None) -> Any:
            t0 = clock()
            try:
                return group(items, started)
            finally:
                inner.append(clock() - t0)

        setattr(sync, "insert_group", timed_group)  # noqa: B010 - patch one instance only
        for ev in warmup:
            await store.insert_event(ev)
        inner.clear()
        gc.collect()
        for ev in events:
            t0 = clock()
            await store.insert_event(ev)
            outer.append(clock() - t0)
    return outer, inner


def breakdown(events: Sequence[Event], warmup: Sequence[Event]) -> dict[str, Any]:
    """Split single-insert latency into the writer's insert_group (SQL + commit) and the hop.

    A separate, instrumented run: the figures of the table come from uninstrumented runs.
    """
    with scratch("async-breakdown") as folder, counting_logs():
        outer, inner = asyncio.run(_instrumented(str(folder / "camvault.db"), events, warmup))
    if len(inner) != len(outer):
        return {"total": percentiles(outer), "insert_group": percentiles(inner), "hop": None}
    slow = sorted(range(len(outer)), key=outer.__getitem__)[-max(1, len(outer) // 100) :]
    return {
        "total": percentiles(outer),
        "insert_group": percentiles(inner),
        "hop": percentiles([o - i for o, i in zip(outer, inner, strict=True)]),
        "slowest_1pct_insert_group_share": sum(inner[i] for i in slow)
        / sum(outer[i] for i in slow),
    }
