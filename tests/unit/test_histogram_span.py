"""Day histograms work out time-zone offsets on the days that hold events, not the whole span."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from camvault import DetectedObject, Event, EventStore
from camvault.histogram import HistogramSpec
from camvault.models import MAX_TIME, MIN_TIME

FAR_APART = [datetime(1970, 1, 2, 12, tzinfo=UTC), datetime(2199, 12, 30, 12, tzinfo=UTC)]
"""Two events 230 years apart: some 460 daylight-saving changes of Berlin lie between."""

US = timedelta(microseconds=1)
NEAR_CHANGES = [
    # Berlin's first summer time since 1949 began 1980-04-06 01:00Z
    datetime(1980, 4, 6, 1, tzinfo=UTC) - US,
    datetime(1980, 4, 6, 1, tzinfo=UTC),
    # 2024: summer time 03-31 01:00Z to 10-27 01:00Z
    datetime(2024, 3, 30, 22, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 31, 1, tzinfo=UTC) - US,
    datetime(2024, 3, 31, 1, tzinfo=UTC),
    datetime(2024, 7, 1, 21, 59, 59, tzinfo=UTC),
    datetime(2024, 7, 1, 22, tzinfo=UTC),
    datetime(2024, 10, 26, 22, tzinfo=UTC),
    datetime(2024, 10, 27, 1, tzinfo=UTC) - US,
    datetime(2024, 10, 27, 1, tzinfo=UTC),
    datetime(2024, 10, 27, 22, 59, 59, tzinfo=UTC),
    # Lord Howe moves by half an hour: 2024-04-07 02:00 local (15:00Z) and 10-06 (15:30Z)
    datetime(2024, 4, 6, 14, 59, 59, tzinfo=UTC),
    datetime(2024, 4, 6, 15, tzinfo=UTC),
    datetime(2024, 10, 5, 15, 29, tzinfo=UTC),
    datetime(2024, 10, 5, 15, 31, tzinfo=UTC),
    # St. John's (-3:30 / -2:30): 2024-11-03 04:30Z
    datetime(2024, 11, 3, 2, 29, tzinfo=UTC),
    datetime(2024, 11, 3, 4, 29, tzinfo=UTC),
    datetime(2024, 11, 3, 4, 30, tzinfo=UTC),
    datetime(2199, 7, 1, 21, 59, 59, tzinfo=UTC),
    datetime(2199, 7, 1, 22, tzinfo=UTC),
]


def _events(stamps: list[datetime]) -> list[Event]:
    """One event per stamp, cameras and labels alternating."""
    return [
        Event(
            camera_id=f"cam{i % 2}",
            timestamp=ts,
            detected_objects=[DetectedObject(label=("car", "person")[i % 2], confidence=0.5)],
        )
        for i, ts in enumerate(stamps)
    ]


def _plans(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> list[HistogramSpec]:
    """Record every histogram plan the store hands to its engine."""
    seen: list[HistogramSpec] = []
    backend: Any = store._backend
    counted = backend.histogram

    def spy(spec: HistogramSpec) -> Any:
        seen.append(spec)
        return counted(spec)

    monkeypatch.setattr(backend, "histogram", spy)
    return seen


@pytest.mark.parametrize("tz", ["Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns"])
@pytest.mark.parametrize(
    "filters",
    [{}, {"by": "camera_id"}, {"min_confidence": 0.1, "by": "label"}],
    ids=["rollups", "rollups-by-camera", "events-by-label"],
)
@pytest.mark.parametrize(
    "span",
    [{}, {"since": datetime(2024, 1, 1, tzinfo=UTC), "until": datetime(2025, 1, 1, tzinfo=UTC)}],
    ids=["centuries", "one-year"],  # the days holding events, or every day of the year
)
def test_day_buckets_equal_a_brute_force_count(
    fresh_store: EventStore, tz: str, filters: dict[str, Any], span: dict[str, datetime]
) -> None:
    events = _events(FAR_APART + NEAR_CHANGES)
    assert fresh_store.insert_events(events).inserted == len(events)
    zone = ZoneInfo(tz)
    by = filters.get("by")
    since, until = span.get("since", MIN_TIME), span.get("until", MAX_TIME)
    expected: Counter[tuple[date, str | None]] = Counter()
    for ev in events:
        if not since <= ev.timestamp < until:
            continue
        key = {"camera_id": ev.camera_id, "label": ev.detected_objects[0].label}.get(by or "")
        expected[ev.timestamp.astimezone(zone).date(), key] += 1
    assert len(expected) > 5
    buckets = fresh_store.histogram("day", tz=tz, **span, **filters)
    got = {(b.start.date(), b.key): b.count for b in buckets}
    assert got == dict(expected)
    for b in buckets:  # each bucket starts at local midnight of its day
        assert b.start == datetime.combine(b.start.date(), time(0), zone)


def test_two_events_centuries_apart_need_one_offset_period(
    fresh_store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fresh_store.insert_events(_events(FAR_APART)).inserted == 2
    plans = _plans(fresh_store, monkeypatch)
    buckets = fresh_store.histogram("day", tz="Europe/Berlin")
    assert [(b.start.date(), b.count) for b in buckets] == [
        (date(1970, 1, 2), 1),
        (date(2199, 12, 30), 1),
    ]
    # both days are winter time: nothing between them is counted, so no change matters
    assert [len(p.periods) for p in plans] == [1]


def test_offset_periods_are_bounded_by_the_days_holding_events(
    fresh_store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = FAR_APART + NEAR_CHANGES
    assert fresh_store.insert_events(_events(stamps)).inserted == len(stamps)
    plans = _plans(fresh_store, monkeypatch)
    fresh_store.histogram("day", tz="Europe/Berlin")
    fresh_store.histogram("day", tz="Europe/Berlin", since=datetime(2024, 1, 1, tzinfo=UTC))
    days_held = len({ts.date() for ts in stamps})
    since_2024 = len({ts.date() for ts in stamps if ts.year >= 2024})
    # a day adds at most a period at its start and one at a change inside it
    assert len(plans) == 2
    assert len(plans[0].periods) <= 2 * days_held
    assert len(plans[1].periods) <= 2 * since_2024
