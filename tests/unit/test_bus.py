"""The commit bus in process: subscribe() on both stores, watch() with filters and positions."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from camvault import (
    AsyncEventStore,
    DatabaseError,
    DetectedObject,
    Event,
    EventStore,
    InvalidInputError,
    InvalidQueryError,
)
from camvault import bus as bus_module

MakeEvent = Callable[..., Event]
WAIT = 30  # seconds: only ever reached when a test is about to fail


def ids(events: Sequence[Event]) -> list[str]:
    return [e.event_id for e in events]


def obj(label: str, confidence: float = 0.9) -> DetectedObject:
    return DetectedObject(label=label, confidence=confidence, bbox=(0.1, 0.1, 0.5, 0.5))


# -- EventStore.subscribe ----------------------------------------------------------------


def test_subscribers_get_each_commit_after_it_in_commit_order(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    seen: list[list[str]] = []
    visible: list[bool] = []
    fresh_store.insert_event(make_event(event_id="before"))

    def record(events: Sequence[Event]) -> None:
        seen.append(ids(events))
        # after the commit: a reader connection already sees what the commit stored
        visible.append(all(fresh_store.get_event(e.event_id) is not None for e in events))

    fresh_store.subscribe(record)
    assert fresh_store.insert_event(make_event(event_id="a"))
    assert not fresh_store.insert_event(make_event(event_id="a"))  # duplicate: no commit event
    batch: list[Any] = [make_event(event_id="b"), make_event(event_id="a"), {"camera_id": ""}]
    batch.append(make_event(event_id="c"))
    result = fresh_store.insert_events(batch)
    assert (result.inserted, result.duplicates, result.failed) == (2, 1, 1)
    fresh_store.insert_events([make_event(event_id="d")])
    assert seen == [["a"], ["b", "c"], ["d"]]  # duplicates and invalid items are not passed
    assert visible == [True, True, True]


def test_unsubscribe_stops_the_calls(fresh_store: EventStore, make_event: MakeEvent) -> None:
    first: list[list[str]] = []
    second: list[list[str]] = []
    stop = fresh_store.subscribe(lambda evs: first.append(ids(evs)))
    fresh_store.subscribe(lambda evs: second.append(ids(evs)))
    fresh_store.insert_event(make_event(event_id="x"))
    stop()
    stop()  # twice is harmless
    fresh_store.insert_event(make_event(event_id="y"))
    assert first == [["x"]]
    assert second == [["x"], ["y"]]


def test_a_raising_subscriber_breaks_neither_the_write_nor_the_others(
    fresh_store: EventStore, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[list[str]] = []

    def explode(events: Sequence[Event]) -> None:
        raise RuntimeError("subscriber bug")

    fresh_store.subscribe(explode)
    fresh_store.subscribe(lambda evs: after.append(ids(evs)))
    with caplog.at_level(logging.ERROR, logger="camvault"):
        assert fresh_store.insert_event(make_event(event_id="k1")) is True
        assert fresh_store.insert_events([make_event(event_id="k2")]).inserted == 1
    assert after == [["k1"], ["k2"]]
    assert fresh_store.get_event("k1") is not None and fresh_store.get_event("k2") is not None
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and "subscriber bug" in (errors[0].exc_text or "")
    assert fresh_store.insert_event(make_event(event_id="k3"))  # and the store keeps working


def test_a_subscriber_that_writes_gets_an_error_instead_of_a_deadlock(
    fresh_store: EventStore, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []

    def write_back(events: Sequence[Event]) -> None:
        try:
            fresh_store.insert_event(make_event(event_id=f"echo-{events[0].event_id}"))
        except DatabaseError as exc:
            errors.append(exc)

    fresh_store.subscribe(write_back)
    done = threading.Event()

    def insert() -> None:
        fresh_store.insert_event(make_event(event_id="w"))
        done.set()

    threading.Thread(target=insert, daemon=True).start()
    assert done.wait(WAIT), "the insert never returned (the subscriber deadlocked it)"
    assert len(errors) == 1 and "commit listener" in str(errors[0])
    assert fresh_store.get_event("echo-w") is None


def test_subscribe_refuses_what_it_cannot_call(fresh_store: EventStore) -> None:
    with pytest.raises(InvalidInputError) as info:
        fresh_store.subscribe("not a function")  # type: ignore[arg-type]
    assert info.value.fields == ["callback"]


def test_concurrent_writers_each_see_their_events_once_in_their_order(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    seen: list[str] = []
    fresh_store.subscribe(lambda evs: seen.extend(ids(evs)))
    writers = 4
    per_writer = 25

    def write(w: int) -> None:
        for n in range(per_writer):
            fresh_store.insert_event(make_event(event_id=f"w{w}-{n:02d}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"w{w}-{n:02d}" for w in range(writers) for n in range(25))
    for w in range(writers):
        mine = [x for x in seen if x.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{n:02d}" for n in range(per_writer)]


async def test_the_async_stores_group_commits_reach_sync_subscribers_in_order(
    db_path: Path, make_event: MakeEvent
) -> None:
    commits: list[list[str]] = []
    async with AsyncEventStore(db_path) as astore:
        astore.store.subscribe(lambda evs: commits.append(ids(evs)))
        wanted = [f"g{n:03d}" for n in range(60)]
        # tasks start in creation order, so they queue (and commit) in that order
        results = await asyncio.gather(
            *(astore.insert_event(make_event(event_id=i)) for i in wanted)
        )
        assert all(results)
        await astore.insert_events([make_event(event_id="batch-1"), make_event(event_id="g000")])
    assert [x for c in commits for x in c] == [*wanted, "batch-1"]
    assert commits[-1] == ["batch-1"]


# -- AsyncEventStore.subscribe -----------------------------------------------------------


async def test_async_subscribers_run_on_the_loop_in_commit_order(
    db_path: Path, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    plain: list[tuple[list[str], int]] = []
    coro: list[str] = []
    running = 0
    overlapped = False
    done = asyncio.Event()
    all_plain = asyncio.Event()

    def fast(events: Sequence[Event]) -> None:
        plain.append((ids(events), threading.get_ident()))
        if len(plain) == 3:
            all_plain.set()

    async def slow(events: Sequence[Event]) -> None:
        nonlocal running, overlapped
        running += 1
        overlapped = overlapped or running > 1
        if not coro:  # the first call lasts until every commit was handed to `fast`
            await all_plain.wait()
        coro.extend(ids(events))
        running -= 1
        if len(coro) == 4:
            done.set()

    def broken(events: Sequence[Event]) -> None:
        raise RuntimeError("async subscriber bug")

    loop_thread = threading.get_ident()
    async with AsyncEventStore(db_path) as astore:
        astore.subscribe(fast)
        astore.subscribe(slow)
        stop_broken = astore.subscribe(broken)
        with caplog.at_level(logging.ERROR, logger="camvault"):
            await astore.insert_event(make_event(event_id="s1"))
            await astore.insert_events([make_event(event_id="s2"), make_event(event_id="s3")])
            stop_broken()
            await astore.insert_event(make_event(event_id="s4"))
            await asyncio.wait_for(done.wait(), WAIT)
        with pytest.raises(InvalidInputError):
            astore.subscribe(42)  # type: ignore[arg-type]
    assert [p for p, _ in plain] == [["s1"], ["s2", "s3"], ["s4"]]
    assert {thread for _, thread in plain} == {loop_thread}
    assert coro == ["s1", "s2", "s3", "s4"] and not overlapped
    assert any("async subscriber bug" in (r.exc_text or "") for r in caplog.records)


# -- AsyncEventStore.watch ---------------------------------------------------------------


async def take(watch: bus_module.Watch, n: int) -> list[tuple[int | None, str]]:
    """The next ``n`` events of a watch with the position after each."""
    out: list[tuple[int | None, str]] = []

    async def run() -> None:
        async for event in watch:
            out.append((watch.position, event.event_id))
            if len(out) == n:
                return

    await asyncio.wait_for(run(), WAIT)
    return out


async def test_watch_starts_at_the_end_and_resumes_from_a_position(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        await astore.insert_event(make_event(event_id="old"))
        async with astore.watch() as live:
            for name in ("n1", "n2", "n3"):
                await astore.insert_event(make_event(event_id=name))
            got = await take(live, 2)
        assert [name for _, name in got] == ["n1", "n2"]
        resume = got[0][0]
        assert isinstance(resume, int)
        again = astore.watch(after=resume)
        assert [name for _, name in await take(again, 2)] == ["n2", "n3"]
        await again.aclose()
        everything = astore.watch(after=0)
        assert [name for _, name in await take(everything, 4)] == ["old", "n1", "n2", "n3"]
        await everything.aclose()


async def test_watch_applies_the_filters_of_query(db_path: Path, make_event: MakeEvent) -> None:
    events = [
        make_event(event_id="e1", camera_id="gate", detected_objects=[obj("car", 0.95)]),
        make_event(event_id="e2", camera_id="yard", detected_objects=[obj("car", 0.95)]),
        make_event(event_id="e3", camera_id="gate", detected_objects=[obj("car", 0.4)]),
        make_event(event_id="e4", camera_id="gate", detected_objects=[obj("person", 0.9)]),
        make_event(
            event_id="e5",
            camera_id="gate",
            detected_objects=[obj("car", 0.8)],
            llm_description="A red van parks by the gate.",
        ),
        make_event(event_id="e6", camera_id="gate", detected_objects=[], llm_description="Rain."),
    ]
    async with AsyncEventStore(db_path) as astore:
        cars = await astore.watch(camera_id="gate", label="car", min_confidence=0.7).start()
        vans = await astore.watch(text="van OR truck").start()
        yard = await astore.watch(camera_id=["yard"]).start()
        await astore.insert_events(events[:3])
        for event in events[3:]:
            await astore.insert_event(event)
        assert [n for _, n in await take(cars, 2)] == ["e1", "e5"]
        assert [n for _, n in await take(vans, 1)] == ["e5"]
        assert [n for _, n in await take(yard, 1)] == ["e2"]
        for watch in (cars, vans, yard):
            await watch.aclose()


async def test_watch_refuses_bad_arguments_naming_them(db_path: Path) -> None:
    async with AsyncEventStore(db_path) as astore:
        for kwargs, field in (
            ({"after": "x"}, "after"),
            ({"after": -1}, "after"),
            ({"after": True}, "after"),
            ({"camra_id": "gate"}, "camra_id"),
            ({"min_confidence": 2}, "min_confidence"),
        ):
            with pytest.raises(InvalidQueryError) as info:
                astore.watch(**kwargs)
            assert info.value.fields == [field]
        with pytest.raises(InvalidQueryError) as bad_text:
            await astore.watch(text='"unclosed').start()
        assert bad_text.value.fields == ["text"]


async def test_a_watch_that_falls_behind_reads_the_rest_from_the_store(
    db_path: Path, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bus_module, "BUFFER", 4)
    monkeypatch.setattr(bus_module, "PAGE", 3)
    wanted = [f"b{n:02d}" for n in range(23)]
    async with AsyncEventStore(db_path) as astore:
        slow = await astore.watch().start()
        quick = await astore.watch().start()
        seen_by_quick = asyncio.create_task(take(quick, len(wanted)))
        await astore.insert_events([make_event(event_id=i) for i in wanted[:10]])
        for i in wanted[10:15]:
            await astore.insert_event(make_event(event_id=i))
        await astore.insert_events([make_event(event_id=i) for i in wanted[15:]])
        assert [n for _, n in await seen_by_quick] == wanted
        got = await take(slow, len(wanted))  # read only now: far more than its buffer holds
        assert [n for _, n in got] == wanted
        positions = [p or 0 for p, _ in got]
        assert positions == sorted(positions) and len(set(positions)) == len(wanted)
        await astore.insert_event(make_event(event_id="later"))
        assert [n for _, n in await take(slow, 1)] == ["later"]  # live again


async def test_watches_share_one_follower_and_end_when_the_store_closes(
    db_path: Path, make_event: MakeEvent
) -> None:
    def followers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "camvault-watch"}

    before = followers()  # other tests' followers may still be winding down
    astore = await AsyncEventStore(db_path).initialize()
    watches = [await astore.watch().start() for _ in range(5)]
    await astore.insert_event(make_event(event_id="one"))
    for watch in watches:
        assert [n for _, n in await take(watch, 1)] == ["one"]
    assert len(followers() - before) == 1
    await astore.close()
    for watch in watches:
        assert [event async for event in watch] == []  # iteration ends


async def test_a_database_error_ends_the_feed_with_that_error(
    db_path: Path, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncEventStore(db_path) as astore:
        watch = await astore.watch().start()
        position = watch.position

        def broken(self: EventStore, *args: Any, **kwargs: Any) -> Any:
            raise DatabaseError("disk I/O error while reading")

        monkeypatch.setattr(EventStore, "tail", broken)
        await astore.insert_event(make_event(event_id="lost-for-now"))
        with pytest.raises(DatabaseError, match="disk I/O error"):
            await asyncio.wait_for(watch.__anext__(), WAIT)
        assert [event async for event in watch] == []  # ended: resume from its position
        monkeypatch.undo()
        again = astore.watch(after=position)
        assert [n for _, n in await take(again, 1)] == ["lost-for-now"]
        await again.aclose()
