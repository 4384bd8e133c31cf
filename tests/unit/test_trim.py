"""purge(max_bytes=...) removes just enough of the oldest events for the data to fit."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import DetectedObject, Event
from tests.sqlite_file import used_bytes

WORDS = ["person", "car", "parcel", "door", "walks", "drives", "leaves", "gate", "rain", "dog"]
N = 300


def described(prefix: str, n: int, *, seed: int, start: datetime) -> list[Event]:
    """``n`` events of about 2 KB each (a 300-word description), one a minute."""
    rng = random.Random(seed)
    return [
        Event(
            event_id=f"{prefix}{i:04d}",
            camera_id="cam",
            timestamp=start + timedelta(minutes=i),
            llm_description=" ".join(rng.choice(WORDS) for _ in range(300)),
        )
        for i in range(n)
    ]


@pytest.fixture
def engine() -> str:
    """SQLite only: a file's used pages are measured (PostgreSQL: tests/integration)."""
    return "sqlite"


@pytest.fixture
def loaded(api_store: Any) -> list[str]:
    """300 events of about 2 KB each (a 300-word description), one a minute; ids oldest first."""
    events = [
        e.model_copy(update={"detected_objects": [DetectedObject(label="person", confidence=0.9)]})
        for e in described("e", N, seed=7, start=datetime(2026, 1, 1, tzinfo=UTC))
    ]
    assert api_store.insert_events(events).inserted == N
    # descriptions are indexed after the commit; a text query indexes what waits, so the
    # sizes the tests measure include the index, as the cap does
    assert api_store.count(text="person") == N
    return [e.event_id for e in events]


def survivors(api_store: Any) -> list[str]:
    return [e.event_id for e in api_store.query(limit=1000, order="oldest").events]


@pytest.mark.parametrize(
    ("under", "at_most"),
    [
        (1, 6),  # one byte: a page (4 KB) or two must go, two or three events of 2 KB
        (8192, 12),  # two pages: about four events
        (40_000, 40),  # ten pages: about twenty events
    ],
)
def test_a_cap_a_little_under_the_size_removes_a_few_oldest_events(
    api_store: Any, loaded: list[str], db_path: Path, under: int, at_most: int
) -> None:
    cap = used_bytes(db_path) - under
    removed = api_store.purge(max_bytes=cap)
    assert 1 <= removed <= at_most, f"{removed} of {N} events removed"
    assert used_bytes(db_path) <= cap
    assert survivors(api_store) == loaded[removed:]  # the oldest went, and only they


def test_a_cap_of_half_the_size_removes_about_half(
    api_store: Any, loaded: list[str], db_path: Path
) -> None:
    cap = used_bytes(db_path) // 2
    removed = api_store.purge(max_bytes=cap)
    # every event is the same size: half the data is about half the events (deleting from
    # the full-text index leaves markers until it merges, so a few more may go)
    assert N * 0.4 <= removed <= N * 0.8, f"{removed} of {N} events removed"
    assert used_bytes(db_path) <= cap
    assert survivors(api_store) == loaded[removed:]


def test_a_cap_the_data_already_fits_removes_nothing(
    api_store: Any, loaded: list[str], db_path: Path
) -> None:
    assert api_store.purge(max_bytes=used_bytes(db_path)) == 0
    assert survivors(api_store) == loaded


def test_descriptions_still_to_be_indexed_count_toward_the_cap(
    api_store: Any, db_path: Path
) -> None:
    # fewer than wake the indexer at once: their text waits
    events = described("p", 200, seed=8, start=datetime(2026, 2, 1, tzinfo=UTC))
    assert api_store.insert_events(events).inserted == 200
    cap = used_bytes(db_path) - 1
    removed = api_store.purge(max_bytes=cap)
    # whatever still waited is indexed now: the data must still fit
    assert api_store.count(text="person") == 200 - removed
    assert used_bytes(db_path) <= cap
