"""SQLite bulk inserts: what a batch stores, its counts, and its text found right after."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import DetectedObject, Event, EventStore
from camvault.backends import sqlite
from tests.sqlite_file import connect, pending_texts, read_closed

START = datetime(2026, 3, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000


def event(i: int, labels: tuple[str, ...], text: str | None, **extra: Any) -> Event:
    """Event number ``i``, ten minutes after the one before (so hours hold a few each)."""
    return Event(
        event_id=f"ev-{i:05d}",
        timestamp=START + timedelta(minutes=10 * i),
        camera_id=("front", "yard")[i % 2],
        detected_objects=[DetectedObject(label=x, confidence=0.5) for x in labels],
        llm_description=text,
        **extra,
    )


def batch(first: int, n: int) -> list[Event]:
    """Events first..first+n-1 with labels (one repeated), a person now and then, zones."""
    return [
        event(
            i,
            (("car", "person", "car"), (), ("dog",))[i % 3],
            f"fox {i}" if i % 4 else None,
            person_name="alice" if i % 5 == 0 else None,
            zones=["drive"] if i % 2 else [],
        )
        for i in range(first, first + n)
    ]


def expected_cells(events: list[Event]) -> list[tuple[str, int, str, str, int]]:
    """The rollup cells of ``events``, counted by hand."""
    cells: dict[tuple[str, int, str, str], int] = {}

    def add(dim: str, ev: Event, key: str) -> None:
        us = int((ev.timestamp - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
        cell = (dim, us - us % HOUR_US, ev.camera_id, key)
        cells[cell] = cells.get(cell, 0) + 1

    for ev in events:
        add("event", ev, "")
        for label in {o.label for o in ev.detected_objects}:
            add("label", ev, label)
        if ev.person_name is not None:
            add("person", ev, ev.person_name)
    return sorted((*cell, n) for cell, n in cells.items())


def labels_by_hour(cells: list[tuple[str, int, str, str, int]]) -> set[tuple[datetime, str, int]]:
    """The label cells of ``cells`` summed over cameras, as (hour, label, count)."""
    sums: dict[tuple[int, str], int] = {}
    for dim, hour, _camera, key, n in cells:
        if dim == "label":
            sums[hour, key] = sums.get((hour, key), 0) + n
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return {(epoch + timedelta(microseconds=h), k, n) for (h, k), n in sums.items()}


@pytest.mark.parametrize("size", [5, 1100])  # below and above an import's own counting
def test_a_batch_with_duplicates_stores_each_new_event_once_with_its_rows_and_counts(
    db_path: Path, size: int
) -> None:
    stored = batch(0, size)
    new = batch(size, size)
    twin = new[1].model_copy(update={"detected_objects": [], "zones": ["gate"]})
    with EventStore(db_path) as store:
        assert store.insert_events(stored).inserted == size
        mixed = [stored[2], new[0], new[1], twin, stored[0], *new[2:]]
        result = store.insert_events(mixed)
        assert (result.inserted, result.duplicates, result.failed) == (size, 3, 0)
        conn = connect(store)
        everything = stored + new
        ids = [r[0] for r in conn.execute("SELECT event_id FROM events ORDER BY id")]
        assert ids == [e.event_id for e in everything]  # positions follow insertion order
        detections = conn.execute(
            "SELECT e.event_id, d.idx, d.label FROM detections d JOIN events e "
            "ON e.id = d.event_rowid ORDER BY e.id, d.idx"
        ).fetchall()
        assert detections == [
            (e.event_id, i, o.label) for e in everything for i, o in enumerate(e.detected_objects)
        ]  # the twin's (none) never replaced the first copy's
        zones = conn.execute(
            "SELECT e.event_id FROM event_zones z JOIN events e ON e.id = z.event_rowid "
            "ORDER BY e.id"
        ).fetchall()
        assert [z[0] for z in zones] == [e.event_id for e in everything if e.zones]
        conn.close()
        # the counts are right before the background adds them to the rollups (a few events
        # leave that to it) and after
        by_label = {(b.start, b.key, b.count) for b in store.histogram("hour", by="label")}
        assert by_label == labels_by_hour(expected_cells(everything))
    cells = read_closed(db_path, "SELECT dim, hour, camera_id, key, n FROM rollup_hourly")
    assert sorted(cells) == expected_cells(everything)


def test_a_text_query_right_after_a_bulk_insert_finds_every_described_event(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "_INDEX_CHUNK", 7)  # many chunks from a small batch
    events = batch(0, 120)
    with EventStore(db_path) as store:
        store.insert_events(events)
        found = store.query(text="fox", limit=1000, order="oldest").events
        assert [e.event_id for e in found] == [e.event_id for e in events if e.llm_description]


def test_the_background_indexer_works_through_a_bulk_import_chunk_by_chunk(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite, "_INDEX_CHUNK", 25)
    events = batch(0, 1200)
    described = sum(1 for e in events if e.llm_description)
    with EventStore(db_path) as store:
        store.insert_events(events)
        conn = connect(store)

        def pending() -> int:
            return pending_texts(conn)

        deadline = time.monotonic() + 10
        while pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending() == 0  # all of it, with no text query asking
        fts = "SELECT count(*) FROM events_text WHERE events_text MATCH 'fox'"
        assert conn.execute(fts).fetchall()[0][0] == described
