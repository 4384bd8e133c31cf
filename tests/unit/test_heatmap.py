"""heatmap(): events by weekday and hour of day, against counts made by hand and an oracle.

The hand-made cases cover a daylight-saving zone (New York: the spring gap, the repeated
autumn hour) and a half-hour zone (India, +5:30), where a cell holds the UTC hour that starts
within its local hour. The oracle test checks every filter on a seeded random history.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, seed
from hypothesis import strategies as st

from camvault import Event, EventStore, InvalidQueryError
from tests.conftest import ENGINE_URLS
from tests.unit.test_analysis import EVENTS, SETTINGS, ZONES, filters, matches

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


# (UTC time, camera, New York cell, India cell), each cell worked out by hand:
# New York is UTC-5 (EST) before 2024-03-10 07:00 UTC and from 2024-11-03 06:00 UTC, else UTC-4.
# India is UTC+5:30 all year: the UTC hour 10:00-11:00 is 15:30-16:30 there, shown as 15:00.
STAMPS = [
    ("2024-03-04T13:05:00", "driveway", (MON, 8), (MON, 18)),  # NY 08:05 EST; IN 18:35
    ("2024-03-04T13:40:00", "driveway", (MON, 8), (MON, 18)),  # NY 08:40; IN 19:10, hour 18:30
    ("2024-03-04T10:40:00", "garage", (MON, 5), (MON, 15)),  # IN 16:10, in the UTC hour of 15:30
    ("2024-03-04T10:10:00", "garage", (MON, 5), (MON, 15)),  # IN 15:40
    ("2024-03-04T18:40:00", "garage", (MON, 13), (MON, 23)),  # IN Tue 00:10, UTC hour from 23:30
    ("2024-03-04T19:00:00", "garage", (MON, 14), (TUE, 0)),  # IN Tue 00:30
    ("2024-03-05T04:30:00", "driveway", (MON, 23), (TUE, 9)),  # NY Mon 23:30 (UTC: Tuesday)
    ("2024-03-10T06:30:00", "driveway", (SUN, 1), (SUN, 11)),  # NY 01:30 EST, before the gap
    ("2024-03-10T07:30:00", "driveway", (SUN, 3), (SUN, 12)),  # NY 03:30 EDT: 02:00 never was
    ("2024-03-18T01:30:00", "garage", (SUN, 21), (MON, 6)),  # NY Sun 21:30 EDT (UTC: Monday)
    ("2024-07-04T13:05:00", "garage", (THU, 9), (THU, 18)),  # NY 09:05 EDT
    ("2024-11-03T05:30:00", "driveway", (SUN, 1), (SUN, 10)),  # NY 01:30 EDT, first time
    ("2024-11-03T06:30:00", "driveway", (SUN, 1), (SUN, 11)),  # NY 01:30 EST, repeated hour
    ("2024-11-03T07:10:00", "garage", (SUN, 2), (SUN, 12)),  # NY 02:10 EST
    ("2024-12-31T23:59:59", "garage", (TUE, 18), (WED, 4)),  # IN Wed 05:29:59, hour from 04:30
]
BY_HAND = {
    "America/New_York": [(t, cam, ny) for t, cam, ny, _ in STAMPS],
    "Asia/Kolkata": [(t, cam, india) for t, cam, _, india in STAMPS],
}


def grid(cells: list[tuple[int, int]]) -> list[list[int]]:
    out = [[0] * 24 for _ in range(7)]
    for day, hour in cells:
        out[day][hour] += 1
    return out


@pytest.fixture
def history(api_store: Any) -> Any:
    api_store.insert_events(
        [
            Event(event_id=f"h{i}", camera_id=cam, timestamp=at(t))
            for i, (t, cam, *_) in enumerate(STAMPS)
        ]
    )
    return api_store


@pytest.mark.parametrize("tz", sorted(BY_HAND))
def test_cells_are_the_hand_counted_local_weekday_and_hour(history: Any, tz: str) -> None:
    expected = grid([cell for _, _, cell in BY_HAND[tz]])
    assert history.heatmap(tz=tz) == expected
    assert history.heatmap(tz=ZoneInfo(tz)) == expected


def test_new_york_by_hand_at_a_glance(history: Any) -> None:
    cells = history.heatmap(tz="America/New_York")
    assert cells[SUN][1] == 3  # 01:30 before the spring gap, and twice the repeated autumn hour
    assert cells[SUN][2] == 1 and cells[SUN][3] == 1
    assert cells[MON][8] == 2 and cells[MON][23] == 1
    assert sum(map(sum, cells)) == len(STAMPS)


def test_the_filters_apply_and_the_default_zone_is_utc(history: Any) -> None:
    garage = [(t, c, cell) for t, c, cell in BY_HAND["America/New_York"] if c == "garage"]
    assert history.heatmap(tz="America/New_York", camera_id="garage") == grid(
        [cell for *_, cell in garage]
    )
    since, until = at("2024-03-04T10:30:00"), at("2024-03-10T07:00:00")  # partial hours at ends
    window = [cell for t, _, cell in BY_HAND["Asia/Kolkata"] if since <= at(t) < until]
    assert len(window) == 7
    assert history.heatmap(tz="Asia/Kolkata", since=since, until=until) == grid(window)
    utc = [(at(t).weekday(), at(t).hour) for t, *_ in STAMPS]
    assert history.heatmap() == grid(utc)


def test_an_empty_store_has_an_empty_heatmap(api_store: Any) -> None:
    assert api_store.heatmap(tz="Europe/Berlin") == [[0] * 24 for _ in range(7)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": 5}, "tz"),
        ({"timezone": "UTC"}, "timezone"),
        ({"zone": ""}, "zone"),
        ({"bucket": "day"}, "bucket"),
        ({"min_confidence": 2}, "min_confidence"),
        ({"text": "AND"}, "text"),
    ],
)
def test_arguments_are_checked(api_store: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidQueryError) as exc:
        api_store.heatmap(**kwargs)
    assert exc.value.fields == [field]
    assert str(exc.value).startswith(("invalid heatmap: ", "invalid query: "))


# -- the oracle: every filter, zones with and without whole-hour offsets ------------------


@pytest.fixture(scope="module")
def loaded(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    with EventStore(ENGINE_URLS[engine](tmp_path_factory.mktemp("heatmap"))) as store:
        store.insert_events(EVENTS)
        yield store


def oracle(f: dict[str, Any], tz: str) -> list[list[int]]:
    """Each matching event under the local weekday and hour its UTC hour starts at."""
    zone = ZoneInfo(tz)
    cells = []
    for ev in EVENTS:
        if matches(ev, f):
            hour = ev.timestamp.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            local = hour.astimezone(zone)
            cells.append((local.weekday(), local.hour))
    return grid(cells)


@seed(20261122)
@SETTINGS
@given(f=filters(), tz=st.sampled_from(ZONES))
def test_heatmap_equals_the_oracle(loaded: EventStore, f: dict[str, Any], tz: str) -> None:
    assert loaded.heatmap(tz=tz, **f) == oracle(f, tz)


def test_in_whole_hour_zones_each_event_counts_at_its_own_local_hour(loaded: EventStore) -> None:
    zone = ZoneInfo("Europe/Berlin")  # the history spans the end of summer time
    own = [
        (e.timestamp.astimezone(zone).weekday(), e.timestamp.astimezone(zone).hour) for e in EVENTS
    ]
    assert EVENTS[0].timestamp < datetime(2026, 10, 25, 1, tzinfo=UTC) < EVENTS[-1].timestamp
    assert loaded.heatmap(tz="Europe/Berlin") == grid(own)
