"""Export and import: lossless JSONL, CSV for spreadsheets, Parquet; streaming and resumable."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from camvault import Event, EventStore, InvalidInputError
from camvault.exchange import ImportReport, export_events, format_of, import_events
from camvault.sample import sample_events
from tests.sqlite_file import read_closed


def full_events(n: int = 300) -> list[Event]:
    """Sample events with every field in use: retained, nested metadata, zones, plates, ends."""
    events = list(sample_events(n, seed=21))
    events[0].retain = True
    events[1].metadata = {"nested": {"list": [1, 2.5, None, "ü"]}, "big": 2**62}
    for index, event in enumerate(events[2:30]):  # fields of events that evolve
        event.zones = ["drive", "porch", "Einfahrt ü"][: index % 4]
        event.source = ("frigate", "import", None)[index % 3]
        event.license_plate = f"AB {index:03d}" if index % 4 == 0 else None
        if index % 2:
            event.end_time = event.timestamp + timedelta(seconds=index, microseconds=3)
    return events


def full_event_store(path: Path, n: int = 300) -> EventStore:
    store = EventStore(path)
    store.insert_events(full_events(n))
    return store


def oldest_first(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.timestamp)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_then_import_gives_back_equal_events(tmp_path: Path, fmt: str) -> None:
    events = full_events()
    with EventStore(tmp_path / "a.db") as source:
        source.insert_events(events)
        dest = tmp_path / f"events.{fmt}"
        assert export_events(source, dest, format_of(dest)) == 300
    with EventStore(tmp_path / "b.db") as target:
        report = import_events(target, dest)
        assert (report.inserted, report.duplicates, report.failed) == (300, 0, 0)
        for original in events:
            assert target.get_event(original.event_id) == original
    stored = read_closed(tmp_path / "b.db", "SELECT event_id FROM events")
    assert sorted(row[0] for row in stored) == sorted(e.event_id for e in events)


def test_rerun_skips_what_is_stored(tmp_path: Path) -> None:
    with full_event_store(tmp_path / "a.db") as source:
        export_events(source, tmp_path / "e.jsonl")
    with EventStore(tmp_path / "b.db") as target:
        first = import_events(target, tmp_path / "e.jsonl")
        again = import_events(target, tmp_path / "e.jsonl")
        assert (first.inserted, again.inserted, again.duplicates) == (300, 0, 300)


def test_bad_lines_are_reported_by_number_and_good_ones_kept(tmp_path: Path) -> None:
    good = [e.model_dump_json() for e in sample_events(5, seed=2)]
    lines = [good[0], "{not json", good[1], "", '{"camera_id": ""}', good[2], "[1, 2]"]
    lines += good[3:]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with EventStore(tmp_path / "x.db") as store:
        report = import_events(store, path)
    assert (report.inserted, report.failed) == (5, 3)
    assert [line for line, _ in report.errors] == [2, 5, 7]
    assert "camera_id" in report.errors[1][1]


def test_csv_has_one_row_per_event_with_readable_columns(tmp_path: Path) -> None:
    events = full_events(20)
    driveway = oldest_first([e for e in events if e.camera_id == "driveway"])
    assert driveway and len(driveway) < len(events)
    with EventStore(tmp_path / "a.db") as store:
        store.insert_events(events)
        buf = io.StringIO()
        export_events(store, buf, "csv", camera_id="driveway")
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert [row["event_id"] for row in rows] == [e.event_id for e in driveway]
    for row, event in zip(rows, driveway, strict=True):
        labels = [o.label for o in event.detected_objects]
        assert row["labels"] == ";".join(dict.fromkeys(labels))
        assert [o["label"] for o in json.loads(row["detected_objects"])] == labels
        assert row["timestamp"].endswith("Z")


def test_export_is_oldest_first_and_filtered(tmp_path: Path) -> None:
    events = full_events()
    people = oldest_first(
        [e for e in events if any(o.label == "person" for o in e.detected_objects)]
    )
    assert people and len(people) < len(events)
    with EventStore(tmp_path / "a.db") as store:
        store.insert_events(events)
        buf = io.StringIO()
        n = export_events(store, buf, "jsonl", label="person")
    exported = [json.loads(line)["event_id"] for line in buf.getvalue().splitlines()]
    assert n == len(people)
    assert exported == [e.event_id for e in people]


def test_import_memory_stays_flat_as_files_grow(tmp_path: Path) -> None:
    import tracemalloc

    peaks = []
    for n in (2_000, 20_000):
        path = tmp_path / f"e{n}.jsonl"
        with path.open("w") as fh:
            for ev in sample_events(n, seed=n):
                fh.write(ev.model_dump_json() + "\n")
        with EventStore(tmp_path / f"{n}.db") as store:
            tracemalloc.start()
            report = import_events(store, path)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        assert report.inserted == n
    assert peaks[1] < peaks[0] * 2.5, peaks  # ten times the file, not ten times the memory


def test_progress_is_reported(tmp_path: Path) -> None:
    with full_event_store(tmp_path / "a.db") as store:
        seen: list[int] = []
        export_events(store, tmp_path / "e.jsonl", progress=seen.append)
    assert seen[-1] == 300
    done: list[int] = []
    with EventStore(tmp_path / "b.db") as store:
        import_events(store, tmp_path / "e.jsonl", progress=done.append)
    assert done[-1] == (tmp_path / "e.jsonl").stat().st_size


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as exc:
        format_of("events.xlsx")
    assert exc.value.fields == ["format"]
    with EventStore(tmp_path / "x.db") as store, pytest.raises(InvalidInputError) as exc:
        import_events(store, tmp_path / "nope.jsonl")
    assert exc.value.fields == ["src"]
    assert ImportReport().errors == []


def test_binary_garbage_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with EventStore(tmp_path / "x.db") as store, pytest.raises(InvalidInputError, match="src"):
        import_events(store, path)
