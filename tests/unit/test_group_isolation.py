"""A group commit isolates its items: whatever one item raises fails that item alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from camvault import AsyncEventStore, Event, EventStore, InvalidEventError
from camvault.backends.sqlite import failing_inserts
from tests.gate import HeldWriter

MakeEvent = Callable[..., Event]
BAD_TIME = {"camera_id": "cam", "event_id": "bad", "timestamp": "9999-12-31T23:59:59-14:00"}


@pytest.fixture
def faulty_writer() -> Iterator[None]:
    """Make the writer raise a plain (non-database) error for the event with id "faulty"."""

    def check(event: Event) -> None:
        if event.event_id == "faulty":
            raise OverflowError("date value out of range")

    with failing_inserts(check):
        yield


def test_a_bad_timestamp_fails_alone_in_a_sync_group(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    good1, good2 = make_event(), make_event()
    outcomes = fresh_store.insert_group([good1, BAD_TIME, good2])
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], InvalidEventError)
    assert outcomes[1].fields == ["timestamp"]
    assert fresh_store.get_event(good1.event_id) == good1
    assert fresh_store.get_event(good2.event_id) == good2
    assert fresh_store.get_event("bad") is None


@pytest.mark.usefixtures("faulty_writer")
def test_any_error_in_the_writer_fails_only_its_item(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    good1, faulty, good2 = make_event(), make_event(event_id="faulty"), make_event()
    outcomes = fresh_store.insert_group([good1, faulty, good2])
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], OverflowError)
    assert [e.event_id for e in fresh_store.query().events] == [good2.event_id, good1.event_id]
    assert fresh_store.insert_group([faulty])[0].__class__ is OverflowError


async def test_a_bad_timestamp_fails_alone_through_the_async_store(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        good = make_event()
        async with HeldWriter(astore, db_path) as held:  # both inserts share one group commit
            bad_task = asyncio.create_task(astore.insert_event(BAD_TIME))
            good_task = asyncio.create_task(astore.insert_event(good))
            await held.queued(2)
        with pytest.raises(InvalidEventError) as err:
            await bad_task
        assert err.value.fields == ["timestamp"]
        assert await good_task is True
        assert await astore.get_event(good.event_id) == good


@pytest.mark.usefixtures("faulty_writer")
async def test_any_writer_error_fails_only_its_caller_through_the_async_store(
    db_path: Path, make_event: MakeEvent
) -> None:
    async with AsyncEventStore(db_path) as astore:
        events = [make_event(), make_event(event_id="faulty"), make_event()]
        async with HeldWriter(astore, db_path) as held:
            tasks = [asyncio.create_task(astore.insert_event(e)) for e in events]
            await held.queued(3)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] is True and results[2] is True
        assert isinstance(results[1], OverflowError)
        assert await astore.get_event(events[0].event_id) == events[0]
        assert await astore.get_event(events[2].event_id) == events[2]
        assert await astore.get_event("faulty") is None
