"""Timestamps and time filters outside [1970-01-01, 2200-01-01) UTC are refused up front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from camvault import Event, InvalidEventError, InvalidQueryError

PLUS_14 = timezone(timedelta(hours=14))
MINUS_14 = timezone(timedelta(hours=-14))


@pytest.mark.parametrize(
    "stamp",
    [
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC: Python cannot even convert it
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "1969-12-31T23:59:59.999999Z",
        "1970-01-01T03:00:00+04:00",  # 1969-12-31T23:00Z
        "2200-01-01T00:00:00Z",
        "2199-12-31T20:00:00-05:00",  # 2200-01-01T01:00Z
        "5000-06-01T00:00:00Z",
    ],
)
def test_out_of_range_timestamps_are_refused_naming_the_field(stamp: str) -> None:
    with pytest.raises(InvalidEventError) as err:
        Event.model_validate({"camera_id": "cam", "timestamp": stamp})
    assert err.value.fields == ["timestamp"]
    assert "1970-01-01T00:00:00Z" in str(err.value) and "2200-01-01T00:00:00Z" in str(err.value)


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("1970-01-01T14:00:00+14:00", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2199-12-31T23:59:59.999999Z", datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2200-01-01T01:00:00+02:00", datetime(2199, 12, 31, 23, tzinfo=UTC)),
    ],
)
def test_timestamps_at_the_edges_of_the_range_are_kept(stamp: str, utc: datetime) -> None:
    assert Event.model_validate({"camera_id": "cam", "timestamp": stamp}).timestamp == utc


def test_assignment_is_checked_too() -> None:
    ev = Event(camera_id="cam")
    with pytest.raises(InvalidEventError) as err:
        ev.timestamp = datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_14)
    assert err.value.fields == ["timestamp"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.query(since=datetime(9999, 12, 31, 23, 59, 59, tzinfo=MINUS_14)), "since"),
        (lambda s: s.query(until=datetime(1, 1, 1, tzinfo=PLUS_14)), "until"),
        (lambda s: s.count(since=datetime(1969, 12, 31, tzinfo=UTC)), "since"),
        (lambda s: s.histogram("day", until=datetime(2300, 1, 1, tzinfo=UTC)), "until"),
        (lambda s: s.histogram("hour", since=datetime(1, 1, 1, tzinfo=PLUS_14)), "since"),
    ],
)
def test_out_of_range_time_filters_are_refused(api_store: Any, call: Any, field: str) -> None:
    api_store.insert_event(Event(camera_id="cam"))
    with pytest.raises(InvalidQueryError) as err:
        call(api_store)
    assert err.value.fields == [field]
    assert "2200-01-01T00:00:00Z" in str(err.value)


def test_filters_at_the_edges_of_the_range_are_accepted(api_store: Any) -> None:
    stamp = datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    api_store.insert_event(Event(camera_id="cam", event_id="first", timestamp=stamp))
    since, until = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, 2, tzinfo=PLUS_14)
    page = api_store.query(since=since, until=until)
    assert [e.event_id for e in page.events] == ["first"]
    assert api_store.count(since=since, until=until) == 1
    assert [b.count for b in api_store.histogram("day", since=since, until=until)] == [1]
