"""watch() across processes: a child writes in several commits while this process watches."""

from __future__ import annotations

import asyncio
from pathlib import Path

from camvault import AsyncEventStore, Event
from camvault.bus import Watch

from .conftest import CHILD_TIMEOUT, child_json, run_child

WRITER = """
import json, sys
from datetime import UTC, datetime, timedelta
from camvault import DetectedObject, Event, EventStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

def event(n, camera):
    return Event(
        event_id=f"{camera}-{n:03d}", camera_id=camera, timestamp=T0 + timedelta(seconds=n),
        detected_objects=[DetectedObject(label="person", confidence=0.9, bbox=(0, 0, 1, 1))],
    )

written = []
with EventStore(sys.argv[1]) as store:
    n = 0
    for size in (1, 7, 1, 1, 12, 3, 1, 25, 9):  # commits of one event and batches
        batch = [event(n + i, "porch" if (n + i) % 3 else "garage") for i in range(size)]
        n += size
        if size == 1:
            assert store.insert_event(batch[0])
        else:
            assert store.insert_events(batch).inserted == size
        written += [e.event_id for e in batch]
print(json.dumps(written))
"""


async def collect(watch: Watch, n: int) -> list[tuple[int, str]]:
    """The next ``n`` events of a watch, with the position of each."""
    out: list[tuple[int, str]] = []

    async def run() -> None:
        async for event in watch:
            assert isinstance(event, Event) and watch.position is not None
            out.append((watch.position, event.event_id))
            if len(out) == n:
                return

    await asyncio.wait_for(run(), CHILD_TIMEOUT)
    return out


async def test_events_written_by_another_process_are_seen_once_in_order(db_path: Path) -> None:
    async with AsyncEventStore(db_path) as astore:
        await astore.insert_event(Event(camera_id="porch", event_id="before-watching"))
        async with astore.watch() as everything, astore.watch(camera_id="garage") as garage:
            done = await asyncio.to_thread(run_child, WRITER, [str(db_path)])
            written: list[str] = child_json(done)
            assert len(written) == 60
            seen = await collect(everything, len(written))
            assert [name for _, name in seen] == written  # each once, in commit order
            wanted = [name for name in written if name.startswith("garage-")]
            assert [name for _, name in await collect(garage, len(wanted))] == wanted
        # resume from the position of the 20th event: exactly the 40 after it
        async with astore.watch(after=seen[19][0]) as resumed:
            rest = await collect(resumed, 40)
        assert [name for _, name in rest] == written[20:]
        assert [p for p, _ in rest] == [p for p, _ in seen[20:]]  # positions are stable


async def test_a_watch_wakes_for_another_process_while_idle(db_path: Path) -> None:
    async with AsyncEventStore(db_path) as astore:
        watch = await astore.watch().start()
        waiting = asyncio.create_task(collect(watch, 60))  # idle: nothing to read yet
        done = await asyncio.to_thread(run_child, WRITER, [str(db_path)])
        assert [name for _, name in await waiting] == child_json(done)
        await watch.aclose()


DELETER = """
import sys
from camvault import Event, EventStore

with EventStore(sys.argv[1]) as store:
    if sys.argv[2] == "delete-newest":  # the event the watcher sits at goes, then two come
        assert store.delete_event("b")
        assert store.insert_event(Event(event_id="c", camera_id="porch"))
        assert store.insert_event(Event(event_id="d", camera_id="porch"))
    else:  # the store is emptied, then refilled
        assert store.purge(max_bytes=0) == 3
        batch = [Event(event_id="e", camera_id="porch"), Event(event_id="f", camera_id="porch")]
        assert store.insert_events(batch).inserted == 2
"""


async def test_a_watch_sees_what_another_process_stores_after_deleting_the_newest(
    db_path: Path,
) -> None:
    async with AsyncEventStore(db_path) as astore:
        for name in ("a", "b"):
            assert await astore.insert_event(Event(event_id=name, camera_id="porch"))
        async with astore.watch() as live:  # sits at b's position
            done = await asyncio.to_thread(run_child, DELETER, [str(db_path), "delete-newest"])
            assert done.returncode == 0, done.stderr
            first = await collect(live, 2)
            assert [name for _, name in first] == ["c", "d"]
            done = await asyncio.to_thread(run_child, DELETER, [str(db_path), "empty"])
            assert done.returncode == 0, done.stderr
            second = await collect(live, 2)
            assert [name for _, name in second] == ["e", "f"]
        positions = [p for p, _ in first + second]
        assert positions == sorted(set(positions))  # increasing, never reused
