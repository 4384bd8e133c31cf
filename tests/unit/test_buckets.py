"""Histogram Buckets behave as the public dataclass does, however cheaply they are built."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from camvault import Bucket, DetectedObject, Event, EventStore
from camvault.histogram import make_spec, to_buckets
from camvault.query import QuerySpec

BERLIN = ZoneInfo("Europe/Berlin")
DAY = datetime(2026, 1, 14, tzinfo=UTC)


def _event(hour: int, minute: int, *labels: str) -> Event:
    return Event(
        camera_id="front-door",
        timestamp=DAY + timedelta(hours=hour, minutes=minute),
        detected_objects=[DetectedObject(label=label, confidence=0.9) for label in labels],
    )


@pytest.fixture
def stored(fresh_store: EventStore) -> EventStore:
    fresh_store.insert_events(
        [_event(10, 15, "person", "car"), _event(10, 40, "person"), _event(12, 5, "car")]
    )
    return fresh_store


def _same(got: list[Bucket], expected: list[Bucket]) -> None:
    """Equal, equally hashed and printed, the same fields, frozen: what users rely on."""
    assert got == expected
    assert [hash(b) for b in got] == [hash(b) for b in expected]
    assert [repr(b) for b in got] == [repr(b) for b in expected]
    assert [dataclasses.asdict(b) for b in got] == [dataclasses.asdict(b) for b in expected]
    assert all(type(b) is Bucket for b in got)
    for b in got:
        with pytest.raises(dataclasses.FrozenInstanceError):
            b.count = 0  # type: ignore[misc]


def test_buckets_by_label_equal_hand_built_buckets(stored: EventStore) -> None:
    got = stored.histogram("hour", by="label", tz="Europe/Berlin", since=DAY)
    eleven = datetime(2026, 1, 14, 11, tzinfo=BERLIN)  # 10:00 UTC in winter
    thirteen = datetime(2026, 1, 14, 13, tzinfo=BERLIN)
    _same(got, [Bucket(eleven, "car", 1), Bucket(eleven, "person", 2), Bucket(thirteen, "car", 1)])
    assert [b.start.utcoffset() for b in got] == [timedelta(hours=1)] * 3


def test_buckets_without_a_key_equal_hand_built_buckets(stored: EventStore) -> None:
    got = stored.histogram("day", tz="UTC")
    _same(got, [Bucket(datetime(2026, 1, 14, tzinfo=ZoneInfo("UTC")), None, 3)])


def test_rows_with_and_without_a_key_in_one_bucket_sort_the_missing_key_first() -> None:
    spec = make_spec(QuerySpec(), "hour", "person_name", None, None)
    rows: list[tuple[int, str | None, int]] = [(5, "bob", 1), (4, "alice", 0), (5, None, 2)]
    five = datetime(1970, 1, 1, 5, tzinfo=UTC)
    _same(to_buckets(spec, rows), [Bucket(five, None, 2), Bucket(five, "bob", 1)])
