"""Fixtures shared by every test level: a fresh store on a real temporary SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import DetectedObject, Event, EventStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database lives."""
    return tmp_path / "events.db"


@pytest.fixture
def fresh_store(db_path: Path) -> Iterator[EventStore]:
    """An empty store on a real SQLite file, closed after the test."""
    store = EventStore(db_path)
    yield store
    store.close()


@pytest.fixture
def make_event() -> Callable[..., Event]:
    """Build a valid event; keyword arguments override its fields."""
    counter = iter(range(1_000_000))

    def build(**overrides: Any) -> Event:
        n = next(counter)
        fields: dict[str, Any] = {
            "camera_id": "front-door",
            "timestamp": T0 + timedelta(seconds=n),
            "motion_confidence": 0.8,
            "detected_objects": [
                DetectedObject(label="person", confidence=0.91, bbox=(0.1, 0.2, 0.3, 0.6))
            ],
            "llm_description": "A person walks up to the door.",
        }
        fields.update(overrides)
        return Event(**fields)

    return build
