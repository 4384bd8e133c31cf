"""AsyncEventStore: group commit, per-caller outcomes, cancellation, shutdown, a free loop."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest

from camvault import (
    AsyncEventStore,
    DatabaseBusyError,
    DatabaseWriteError,
    Event,
    EventStore,
    InvalidEventError,
    StoreClosedError,
    thumbnails,
)
from camvault.backends import SQLiteOptions
from camvault.sample import sample_events, sample_frame
from tests.gate import until, watch_lock_waits

MakeEvent = Callable[..., Event]


class WriteLock:
    """Another connection holding the database's write lock until released."""

    def __init__(self, db: Path) -> None:
        self.conn = apsw.Connection(str(db))
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


@pytest.fixture
def astore_factory(store_url: str) -> Iterator[Callable[..., AsyncEventStore]]:
    made: list[AsyncEventStore] = []

    def make(**options: Any) -> AsyncEventStore:
        store = AsyncEventStore(store_url, **options)
        made.append(store)
        return store

    yield make


async def queued(astore: AsyncEventStore, n: int) -> None:
    """Wait (bounded) until ``n`` writes wait in line behind the one the writer holds."""
    await until(lambda: astore.queued_writes >= n, f"{n} writes never queued", timeout=5)


async def writer_waits_for_the_lock(waiting: threading.Event) -> None:
    """Wait (bounded) until the writer thread, holding its job, waits for the write lock."""
    await until(waiting.is_set, "the writer never waited for the lock")


async def test_lifecycle_initialize_close_and_async_with(
    store_url: str, make_event: MakeEvent
) -> None:
    astore = AsyncEventStore(store_url)
    with pytest.raises(StoreClosedError, match="not open yet"):
        await astore.insert_event(make_event())
    assert await astore.initialize() is astore
    assert await astore.initialize() is astore  # twice is fine
    ev = make_event()
    assert await astore.insert_event(ev) is True
    await astore.close()
    await astore.close()
    assert astore.closed
    with pytest.raises(StoreClosedError):
        await astore.get_event(ev.event_id)
    with pytest.raises(StoreClosedError):
        await astore.initialize()
    async with AsyncEventStore(store_url) as again:
        assert await again.get_event(ev.event_id) == ev
        assert (await again.info())["events"] == 1


async def test_concurrent_inserts_share_transactions(db_path: Path, make_event: MakeEvent) -> None:
    async with AsyncEventStore(db_path) as astore:
        await astore.insert_event(make_event())  # registers the camera, warms up
        before = (await astore.info())["write_transactions"]
        waiting = watch_lock_waits(astore)
        lock = WriteLock(db_path)
        events = [make_event() for _ in range(64)]
        first = asyncio.create_task(astore.insert_event(events[0]))
        await writer_waits_for_the_lock(waiting)  # blocked on the lock with the first
        rest = [asyncio.create_task(astore.insert_event(e)) for e in events[1:]]
        await queued(astore, 63)
        lock.release()
        assert await asyncio.gather(first, *rest) == [True] * 64
        commits = (await astore.info())["write_transactions"] - before
        assert commits <= 3, f"64 concurrent inserts took {commits} transactions"
        for ev in events:
            assert await astore.get_event(ev.event_id) == ev


async def test_a_duplicate_or_bad_event_affects_only_its_caller(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        existing = make_event()
        await astore.insert_event(existing)
        waiting = watch_lock_waits(astore)
        lock = WriteLock(db_path)
        blocker = asyncio.create_task(astore.insert_event(make_event()))
        await writer_waits_for_the_lock(waiting)
        good1, good2 = make_event(), make_event()
        items: list[Any] = [good1, existing, {"camera_id": "cam", "motion_confidence": 7}, good2]
        tasks = [asyncio.create_task(astore.insert_event(i)) for i in items]
        await queued(astore, 4)
        lock.release()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await blocker
        assert results[0] is True and results[1] is False and results[3] is True
        assert isinstance(results[2], InvalidEventError)
        assert results[2].fields == ["motion_confidence"]
        assert await astore.get_event(good1.event_id) == good1
        assert await astore.get_event(good2.event_id) == good2


async def test_fifty_tasks_of_a_hundred_events(store_url: str) -> None:
    async with AsyncEventStore(store_url) as astore:

        async def producer(n: int) -> list[bool]:
            return [await astore.insert_event(ev) for ev in sample_events(100, seed=n)]

        results = await asyncio.gather(*(producer(n) for n in range(50)))
        assert all(all(r) for r in results)
        assert (await astore.info())["events"] == 5000
        seen: list[str] = []
        cursor = None
        while True:
            page = await astore.query(limit=1000, cursor=cursor)
            seen += [e.event_id for e in page.events]
            if (cursor := page.next_cursor) is None:
                break
        assert len(seen) == len(set(seen)) == 5000


async def test_cancelled_before_the_writer_started_it_is_never_written(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        waiting = watch_lock_waits(astore)
        lock = WriteLock(db_path)
        first_ev, second_ev = make_event(), make_event()
        first = asyncio.create_task(astore.insert_event(first_ev))
        await writer_waits_for_the_lock(waiting)
        second = asyncio.create_task(astore.insert_event(second_ev))
        await queued(astore, 1)
        second.cancel()
        lock.release()
        assert await first is True
        with pytest.raises(asyncio.CancelledError):
            await second
        assert await astore.insert_event(make_event())  # the writer has moved past it
        assert await astore.get_event(second_ev.event_id) is None


async def test_cancelled_after_the_writer_started_it_is_written_whole(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        waiting = watch_lock_waits(astore)
        lock = WriteLock(db_path)
        ev = make_event(detected_objects=[{"label": "car", "confidence": 0.5}] * 4)
        task = asyncio.create_task(astore.insert_event(ev))
        await writer_waits_for_the_lock(waiting)
        task.cancel()
        lock.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await astore.insert_event(make_event())
        stored = await astore.get_event(ev.event_id)
        assert stored == ev  # all four detections with it, never half an event
        hits = await astore.query(label="car")
        assert [e.event_id for e in hits.events] == [ev.event_id]


async def test_close_finishes_every_pending_write(db_path: Path, make_event: MakeEvent) -> None:
    astore = await AsyncEventStore(db_path).initialize()
    waiting = watch_lock_waits(astore)
    lock = WriteLock(db_path)
    events = [make_event() for _ in range(30)]
    tasks = [asyncio.create_task(astore.insert_event(e)) for e in events]
    await writer_waits_for_the_lock(waiting)  # every task has queued its insert by now
    closing = asyncio.create_task(astore.close())
    await until(lambda: astore.closed, "close() never started")
    with pytest.raises(StoreClosedError):
        await astore.insert_event(make_event())  # no new work once closing
    lock.release()
    await closing
    assert await asyncio.gather(*tasks) == [True] * 30
    with EventStore(db_path) as store:
        assert all(store.get_event(e.event_id) == e for e in events)


async def test_close_tells_each_caller_when_its_write_failed(
    db_path: Path, make_event: MakeEvent
) -> None:
    astore = await AsyncEventStore(db_path, options=SQLiteOptions(busy_timeout=0.1)).initialize()
    waiting = watch_lock_waits(astore)
    lock = WriteLock(db_path)
    tasks = [asyncio.create_task(astore.insert_event(make_event())) for _ in range(5)]
    await writer_waits_for_the_lock(waiting)
    await astore.close()
    lock.release()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, DatabaseBusyError) for r in results), results


async def test_reads_do_not_wait_behind_a_blocked_writer(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        old = make_event()
        await astore.insert_event(old)
        waiting = watch_lock_waits(astore)
        lock = WriteLock(db_path)
        pending = asyncio.create_task(astore.insert_event(make_event()))
        await writer_waits_for_the_lock(waiting)
        assert await astore.get_event(old.event_id) == old
        assert len((await astore.query(limit=10)).events) == 1
        assert not pending.done()  # the write is still waiting for the lock
        lock.release()
        assert await pending is True


async def test_a_second_process_holding_the_lock_makes_inserts_wait(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        await astore.insert_event(make_event())
        code = (
            "import apsw, sys, time\n"
            f"c = apsw.Connection({str(db_path)!r})\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "c.execute(\"INSERT INTO cameras VALUES ('from-child', NULL, 0)\")\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.7)\n"
            "c.execute('COMMIT')\n"
        )
        ev = make_event()
        with subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            line = await asyncio.get_running_loop().run_in_executor(None, child.stdout.readline)
            assert line.strip() == "locked"
            assert await astore.insert_event(ev) is True  # waited for the lock, did not fail
            assert child.wait(timeout=10) == 0
        assert await astore.get_event(ev.event_id) == ev
        assert "from-child" in [c.camera_id for c in await astore.list_cameras()]


async def test_disk_full_fails_each_caller_and_keeps_what_was_committed(
    db_path: Path,
) -> None:
    async with AsyncEventStore(
        db_path, options=SQLiteOptions(pragmas={"max_page_count": 60})
    ) as astore:
        stored: list[Event] = []
        with pytest.raises(DatabaseWriteError, match="disk is full"):
            for ev in sample_events(5000, seed=4):
                await astore.insert_event(ev)
                stored.append(ev)
        assert len(stored) > 10
        for ev in stored:
            assert await astore.get_event(ev.event_id) == ev
        # a group that does not fit: each caller is told its own outcome
        group = list(sample_events(50, seed=5))
        results = await asyncio.gather(
            *(astore.insert_event(e) for e in group), return_exceptions=True
        )
        assert all(r is True or isinstance(r, DatabaseWriteError) for r in results), results
        assert any(isinstance(r, DatabaseWriteError) for r in results)
        fitted = [e for e, r in zip(group, results, strict=True) if r is True]
        for ev in fitted:
            assert await astore.get_event(ev.event_id) == ev
        assert (await astore.info())["events"] == len(stored) + len(fitted)


async def test_slow_inserts_are_logged_with_the_latency_the_caller_saw(
    db_path: Path, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncEventStore(db_path, slow_insert_ms=50) as astore:
        lock = WriteLock(db_path)
        ev = make_event()
        task = asyncio.create_task(astore.insert_event(ev))
        await asyncio.sleep(0.1)
        lock.release()
        with caplog.at_level(logging.WARNING, logger="camvault"):
            assert await task
        assert f"slow insert: event {ev.event_id} took" in caplog.text


async def test_bulk_writes_and_thumbnails_never_run_on_the_event_loop(
    store_url: str, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQL, hydration and Pillow run on worker threads: the loop thread never does store work.

    On PostgreSQL a single insert is awaited on an async connection instead (write_group,
    the blocking path, is then not used at all).
    """
    shown = list(sample_events(40, seed=8))
    frames = {ev.event_id: sample_frame(ev) for ev in shown}
    seen: dict[str, set[int]] = {}

    def record(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            seen.setdefault(name, set()).add(threading.get_ident())
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    record(EventStore, "insert_events")
    record(EventStore, "write_group")
    record(EventStore, "get_event")
    record(thumbnails, "encode")
    record(thumbnails, "write")
    loop_thread = threading.get_ident()
    async with AsyncEventStore(store_url) as astore:
        result = await astore.insert_events(sample_events(2_000, seed=7))
        assert await astore.insert_event(next(iter(sample_events(1, seed=9))))
        await astore.insert_events(shown)
        paths = await asyncio.gather(*(astore.save_thumbnail(i, f) for i, f in frames.items()))
    assert result.inserted == 2_000
    assert all(p is not None for p in paths)
    blocking_group = {"write_group"} if engine == "sqlite" else set()
    assert set(seen) == {"insert_events", "get_event", "encode", "write", *blocking_group}
    for name, threads in seen.items():
        assert loop_thread not in threads, f"{name} ran on the event loop thread"
