"""Child-process bodies of the PostgreSQL tests, importable by a "spawn" multiprocessing child.

Each body opens its own EventStore on the URL it is given, does its part, and puts one
result on the queue: ("ok", payload) or ("error", text of the exception), so the parent
sees every failure instead of a silent exit.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from camvault import AsyncEventStore, BatchResult, DetectedObject, Event, EventStore

RACE_START = datetime(2026, 7, 3, 5, 17, tzinfo=UTC)
"""Timestamp of the race's event 0; ids step 317 minutes apart, over about 22 months."""
LABELS = ("person", "car", "dog")


def race_event(number: int) -> Event:
    """The event the insert race stores under ``race-<number>``: a pure function of ``number``."""
    count = number % 4
    objects = [
        DetectedObject(
            label=LABELS[(number + k) % 3 if k < 2 else 0],  # the third repeats a label
            confidence=round(0.5 + ((number * 7 + k) % 50) / 100, 2),
            bbox=(0.1 * k, 0.1, 0.1 * k + 0.2, 0.9),
        )
        for k in range(count)
    ]
    return Event(
        event_id=f"race-{number:05d}",
        camera_id=f"cam-{number % 3}",
        timestamp=RACE_START + timedelta(minutes=317 * number),
        detected_objects=objects,
        person_name="alice" if number % 5 == 0 else None,
        llm_description=f"event number {number}",
    )


def race_plan(worker: int, per_worker: int, stride: int) -> list[tuple[str, list[int]]]:
    """The calls worker ``worker`` makes: (kind, ids) for single inserts and batches.

    Worker w inserts ids ``w*stride .. w*stride + per_worker - 1`` in a shuffled order, so
    its range overlaps its neighbours'; it uses singles, batches of 50 (the array path),
    of 100, 200 and 1,000 (the COPY path), in an order that differs from worker to worker.
    """
    ids = list(range(worker * stride, worker * stride + per_worker))
    random.Random(worker).shuffle(ids)
    sizes = [
        ("one", 100),
        ("batch", 50),
        ("batch", 50),
        ("batch", 100),
        ("batch", 200),
        ("batch", 1000),
    ]
    sizes = sizes[worker % len(sizes) :] + sizes[: worker % len(sizes)]
    plan: list[tuple[str, list[int]]] = []
    for kind, size in sizes:
        chunk, ids = ids[:size], ids[size:]
        if kind == "one":
            plan += [("one", [n]) for n in chunk]
        else:
            plan.append(("batch", chunk))
    assert not ids
    return plan


def _report(queue: Any, body: Callable[[], Any]) -> None:
    """Run ``body`` and put its outcome on ``queue``."""
    try:
        queue.put(("ok", body()))
    except BaseException:  # the parent shows it; nothing may escape silently
        queue.put(("error", traceback.format_exc()))


def insert_race(
    url: str, plan: list[tuple[str, list[int]]], api: str, barrier: Any, queue: Any
) -> None:
    """Open a store, wait for the others, run ``plan``; report inserted/duplicates/failed.

    With ``api="async"`` an AsyncEventStore runs it: the single inserts are issued all at
    once (so they are committed in groups), the batches one after the other.
    """

    def body() -> dict[str, Any]:
        if api == "async":
            return asyncio.run(_insert_race_async(url, plan, barrier))
        singles: list[bool] = []
        batches: list[BatchResult] = []
        with EventStore(url) as store:
            barrier.wait(30)
            for kind, ids in plan:  # in the plan's order
                if kind == "one":
                    singles.append(store.insert_event(race_event(ids[0])))
                else:
                    batches.append(store.insert_events([race_event(n) for n in ids]))
        return _tally(singles, batches)

    _report(queue, body)


async def _insert_race_async(
    url: str, plan: list[tuple[str, list[int]]], barrier: Any
) -> dict[str, Any]:
    """The async side of insert_race."""
    async with AsyncEventStore(url) as astore:
        await asyncio.to_thread(barrier.wait, 30)
        pending = [astore.insert_event(race_event(ids[0])) for kind, ids in plan if kind == "one"]
        singles = await asyncio.gather(*pending)
        batches = [
            await astore.insert_events([race_event(n) for n in ids])
            for kind, ids in plan
            if kind == "batch"
        ]
    return _tally(singles, batches)


def _tally(singles: list[bool], batches: list[BatchResult]) -> dict[str, Any]:
    """Sum the outcomes of single inserts and batches."""
    return {
        "inserted": sum(singles) + sum(b.inserted for b in batches),
        "duplicates": singles.count(False) + sum(b.duplicates for b in batches),
        "failed": sum(b.failed for b in batches),
        "errors": [f.error for b in batches for f in b.errors],
    }


def open_at_once(url: str, barrier: Any, queue: Any) -> None:
    """Wait for the other opener, then open (and so migrate) the store; report its version."""

    def body() -> int:
        barrier.wait(30)
        with EventStore(url) as store:
            return int(store.info()["schema_version"])

    _report(queue, body)


def watched_writer(url: str, go: Any, queue: Any) -> None:
    """Once ``go`` is set, store events in single and batch commits; report ids and tail."""

    def body() -> dict[str, Any]:
        with EventStore(url) as store:
            go.wait(30)
            written: list[str] = []
            n = 0
            for size in (1, 5, 1, 70, 1, 3):  # single commits, an array batch, a COPY batch
                batch = [
                    Event(
                        event_id=f"w-{n + i:03d}",
                        camera_id="porch" if (n + i) % 2 else "garage",
                        timestamp=RACE_START + timedelta(seconds=n + i),
                    )
                    for i in range(size)
                ]
                n += size
                if size == 1:
                    assert store.insert_event(batch[0])
                else:
                    assert store.insert_events(batch).inserted == size
                written += [e.event_id for e in batch]
            events, position = store.tail(after=0, limit=1000)
            return {
                "written": written,
                "tail": [e.event_id for e in events],
                "position": position,
            }

    _report(queue, body)


def old_event(number: int) -> Event:
    """Event ``old-<number>``: in January or February 2025, with 0 to 2 detections."""
    return Event(
        event_id=f"old-{number:05d}",
        camera_id=f"cam-{number % 2}",
        timestamp=datetime(2025, 1 + number % 2, 1 + number % 28, number % 24, tzinfo=UTC),
        detected_objects=[
            DetectedObject(label=LABELS[(number + k) % 3], confidence=0.75)
            for k in range(number % 3)
        ],
        person_name="carol" if number % 7 == 0 else None,
    )


def old_inserter(url: str, sizes: list[int], barrier: Any, queue: Any) -> None:
    """Insert old events in commits of ``sizes`` (1: insert_event) while others purge them."""

    def body() -> int:
        inserted = 0
        with EventStore(url) as store:
            barrier.wait(30)
            n = 0
            for size in sizes:
                events = [old_event(n + i) for i in range(size)]
                n += size
                if size == 1:
                    inserted += store.insert_event(events[0])
                else:
                    result = store.insert_events(events)
                    assert result.failed == 0, result.errors
                    inserted += result.inserted
        return inserted

    _report(queue, body)
