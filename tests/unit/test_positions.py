"""Positions (tail(), watch(), /api/stream ids) are never handed out twice, whatever is deleted.

A follower that sits at the position of an event that is then deleted (delete_event, purge,
a size cap, a purge that empties the store) must still see every event stored after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from camvault import AsyncEventStore, Event, EventStore
from camvault.bus import Watch
from camvault.models import utcnow

WAIT = 30  # seconds: only ever reached when a test is about to fail


def event(event_id: str, *, days_ago: int = 0) -> Event:
    """An event with a long description (so that deleting it frees whole pages)."""
    return Event(
        event_id=event_id,
        camera_id="gate",
        timestamp=utcnow() - timedelta(days=days_ago),
        llm_description=f"{event_id}: a person walks up to the gate. " * 60,
    )


REMOVALS: dict[str, Callable[[Any], None]] = {
    "delete_event": lambda store: store.delete_event("b"),
    "purge(older_than)": lambda store: store.purge(older_than=timedelta(days=30)),
    "purge(max_bytes=0), all": lambda store: store.purge(max_bytes=0),
}


def stored_with_b_newest(store: Any) -> int:
    """Store a, then b (newest position, oldest timestamp); return the position after b."""
    assert store.insert_event(event("a"))
    assert store.insert_event(event("b", days_ago=400))  # first to go by age or size
    events, position = store.tail(0)
    assert [e.event_id for e in events] == ["a", "b"]
    assert store.tail()[1] == position
    return position


@pytest.mark.parametrize("removal", sorted(REMOVALS))
def test_tail_after_the_newest_event_was_deleted_sees_the_next_one(
    api_store: Any, removal: str
) -> None:
    position = stored_with_b_newest(api_store)
    REMOVALS[removal](api_store)
    assert api_store.get_event("b") is None
    current = api_store.tail()[1]
    assert api_store.insert_event(event("c"))
    events, after_c = api_store.tail(position)
    assert [e.event_id for e in events] == ["c"]
    assert current >= position  # the current position never goes back
    assert after_c > position
    assert api_store.insert_events([event("d"), event("e")]).inserted == 2
    events, end = api_store.tail(after_c)
    assert [e.event_id for e in events] == ["d", "e"]
    assert end > after_c


def test_a_store_emptied_by_purge_keeps_counting_positions(api_store: Any) -> None:
    assert api_store.insert_events([event("a", days_ago=40), event("b", days_ago=50)]).inserted == 2
    _, position = api_store.tail()
    assert api_store.purge(older_than=timedelta(days=30)) == 2  # everything
    current = api_store.tail()
    assert api_store.insert_events([event("c"), event("d")]).inserted == 2
    events, _ = api_store.tail(position)
    assert [e.event_id for e in events] == ["c", "d"]
    assert current == ([], position)  # an empty store is still at the last position


def test_a_duplicate_does_not_use_up_the_position_the_next_event_takes(
    fresh_store: EventStore,
) -> None:
    position = stored_with_b_newest(fresh_store)
    assert fresh_store.delete_event("b")
    assert fresh_store.insert_events([event("a"), event("c")]).duplicates == 1
    events, _ = fresh_store.tail(position)
    assert [e.event_id for e in events] == ["c"]


@pytest.mark.parametrize("removal", ["delete_event", "purge(max_bytes=0), all"])
def test_positions_never_go_back_across_reopening(store_url: str, removal: str) -> None:
    with EventStore(store_url) as store:
        position = stored_with_b_newest(store)
        REMOVALS[removal](store)
    with EventStore(store_url) as store:
        current = store.tail()[1]
        assert store.insert_event(event("c"))
        events, after_c = store.tail(position)
        assert [e.event_id for e in events] == ["c"]
        assert current >= position
    with EventStore(store_url) as store:
        assert store.delete_event("c")
    with EventStore(store_url) as store:
        assert store.insert_event(event("d"))
        events, _ = store.tail(after_c)
        assert [e.event_id for e in events] == ["d"]


async def next_ids(watch: Watch, n: int) -> list[str]:
    """The event ids of the next ``n`` events of a watch."""
    out: list[str] = []

    async def run() -> None:
        async for ev in watch:
            out.append(ev.event_id)
            if len(out) == n:
                return

    await asyncio.wait_for(run(), WAIT)
    return out


async def test_a_live_watch_after_the_deleted_newest_event_sees_the_next_ones(
    store_url: str,
) -> None:
    async with AsyncEventStore(store_url) as astore:
        assert await astore.insert_event(event("a"))
        assert await astore.insert_event(event("b"))
        async with astore.watch() as live:  # starts after b
            assert await astore.delete_event("b")
            assert await astore.insert_event(event("c"))
            assert await astore.insert_event(event("d"))
            assert await next_ids(live, 1) == ["c"]
            assert await next_ids(live, 1) == ["d"]


async def test_a_resumed_watch_sees_what_was_stored_after_a_purge_emptied_the_store(
    store_url: str,
) -> None:
    async with AsyncEventStore(store_url) as astore:
        assert (await astore.insert_events([event("a"), event("b")])).inserted == 2
        _, position = await astore.tail()
        assert await astore.purge(max_bytes=0) == 2
        assert (await astore.insert_events([event("c"), event("d")])).inserted == 2
        async with astore.watch(after=position) as resumed:
            assert await next_ids(resumed, 2) == ["c", "d"]
