"""Importing a frigate.db built here with Frigate's table layout of 0.13, 0.14, 0.16 and 0.17.

What the store holds is read back with plain SQL on a connection of the test's own, and
thumbnails by their colour: each source of a thumbnail (the base64 column, the 0.16+ thumb
file, the snapshot) is a solid image of its own colour, so the colour says which one was used.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from camvault import EventStore
from camvault.cli import app
from camvault.ingest import frigate_history
from camvault.ingest.frigate_history import import_frigate
from tests.conftest import raw_connection
from tests.frigate_payloads import (
    START,
    create_frigate_db,
    db_row,
    insert_db_rows,
    jpeg_bytes,
    make_id,
    write_media,
)

COLUMN_COLOUR = (10, 20, 30)  # db_row's default base64 thumbnail
THUMB_COLOUR = (200, 50, 50)  # write_media's clips/thumbs/<camera>/<id>.webp
SNAPSHOT_COLOUR = (50, 200, 50)  # write_media's clips/<camera>-<id>.jpg

PERSON, CAR, OPEN, GHOST, BARE = (make_id(START + n, n) for n in range(5))


def sample_rows(version: str) -> list[dict[str, Any]]:
    """A person with a face and a description, a car with a plate, one in progress, a false
    positive and one with no media at all."""
    rows = [
        db_row(
            version,
            PERSON,
            start_time=START,
            end_time=START + 8,
            sub_label="alice",
            sub_label_score=0.91,
            description="Alice carries a parcel.",
            zones=("yard", "porch"),
            box=(0.25, 0.5, 0.25, 0.25),
            top_score=0.87,
        ),
        db_row(
            version,
            CAR,
            camera="driveway",
            label="car",
            start_time=START + 1,
            end_time=START + 30,
            plate=("KA123", 0.9),
            zones=(),
            top_score=0.8,
            retain=True,
        ),
        db_row(version, OPEN, start_time=START + 2, end_time=None),
        {**db_row(version, GHOST, start_time=START + 3), "false_positive": 1},
        db_row(version, BARE, start_time=START + 4),
    ]
    if version < "0.16":
        rows[4]["thumbnail"] = ""  # a row that lost its thumbnail
    return rows


def sql(store: EventStore, query: str) -> list[tuple[Any, ...]]:
    conn = raw_connection(store)
    try:
        return [tuple(row) for row in conn.execute(query).fetchall()]
    finally:
        conn.close()


def colour(store: EventStore, event_id: str) -> tuple[int, ...] | None:
    found = store.read_thumbnail(event_id)
    if found is None:
        return None
    with Image.open(io.BytesIO(found[0])) as img:
        return tuple(img.convert("RGB").resize((1, 1)).getpixel((0, 0)))  # type: ignore[arg-type]


def close_to(got: tuple[int, ...] | None, want: tuple[int, int, int]) -> bool:
    return got is not None and all(abs(a - b) <= 12 for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("version", ["0.13", "0.14", "0.16", "0.17"])
def test_every_event_is_imported_with_fields_and_thumbnails(
    fresh_store: EventStore, tmp_path: Path, version: str
) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", version, sample_rows(version))
    media = tmp_path / "media"
    media.mkdir()
    if version >= "0.16":
        write_media(media, "front_door", PERSON)  # thumb and snapshot: the thumb wins
        write_media(media, "driveway", CAR, thumbnail=False)  # only a snapshot
        write_media(media, "front_door", OPEN)

    stats = import_frigate(fresh_store, source, media)

    assert (stats.total, stats.read, stats.inserted, stats.false_positives) == (5, 5, 4, 1)
    assert (stats.updated, stats.unchanged, stats.failed) == (0, 0, 0)
    assert stats.thumbnails == 3
    rows = sql(
        fresh_store,
        "SELECT event_id, camera_id, person_name, face_confidence, llm_description, "
        "end_time IS NULL, license_plate, zones, source FROM events ORDER BY event_id",
    )
    described = "Alice carries a parcel." if version >= "0.14" else None
    plate = "KA123" if version >= "0.16" else None
    assert [(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[8]) for r in rows] == [
        (PERSON, "front_door", "alice", 0.91, described, False, None, "frigate"),
        (CAR, "driveway", None, None, None, False, plate, "frigate"),
        (OPEN, "front_door", None, None, None, True, None, "frigate"),
        (BARE, "front_door", None, None, None, False, None, "frigate"),
    ]
    zones = {r[0]: r[7] if isinstance(r[7], list) else json.loads(r[7]) for r in rows}
    assert zones[PERSON] == ["yard", "porch"]
    assert zones[CAR] == []
    detections = sql(
        fresh_store,
        "SELECT e.event_id, d.label, d.confidence, d.x1, d.y1, d.x2, d.y2 FROM detections d "
        f"JOIN events e ON e.id = d.event_rowid WHERE e.event_id IN ('{PERSON}', '{CAR}') "
        "ORDER BY e.event_id",
    )
    assert detections[0][:3] == (PERSON, "person", 0.87)
    assert detections[0][3:] == pytest.approx((0.25, 0.5, 0.5, 0.75))
    assert detections[1][:3] == (CAR, "car", 0.8)
    assert fresh_store.get_event(CAR).retain is True  # type: ignore[union-attr]
    if version >= "0.16":
        assert close_to(colour(fresh_store, PERSON), THUMB_COLOUR)
        assert close_to(colour(fresh_store, CAR), SNAPSHOT_COLOUR)
        assert close_to(colour(fresh_store, OPEN), THUMB_COLOUR)
    else:
        for event_id in (PERSON, CAR, OPEN):
            assert close_to(colour(fresh_store, event_id), COLUMN_COLOUR)
    assert colour(fresh_store, BARE) is None


def many_rows(n: int) -> list[dict[str, Any]]:
    return [
        db_row(
            "0.14",
            make_id(START + i, i),
            start_time=START + i,
            end_time=START + i + 1,
            thumbnail=jpeg_bytes(COLUMN_COLOUR, (16, 16)),
        )
        for i in range(n)
    ]


class Interrupted(Exception):
    pass


def test_an_interrupted_import_finishes_on_rerun_storing_nothing_twice(
    fresh_store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frigate_history, "BATCH", 40)
    source = create_frigate_db(tmp_path / "frigate.db", "0.14", many_rows(100))

    def stop_after_first_batch(done: int, total: int) -> None:
        assert total == 100
        if done >= 40:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_frigate(fresh_store, source, progress=stop_after_first_batch)
    assert sql(fresh_store, "SELECT count(*) FROM events") == [(40,)]

    seen: list[int] = []
    stats = import_frigate(fresh_store, source, progress=lambda done, total: seen.append(done))
    assert seen == [40, 80, 100]
    assert (stats.inserted, stats.unchanged, stats.updated, stats.thumbnails) == (60, 40, 0, 60)
    stored = sql(fresh_store, "SELECT count(*), count(DISTINCT event_id) FROM events")
    assert stored == [(100, 100)]
    with_thumbs = "SELECT count(*) FROM events WHERE thumbnail_path IS NOT NULL"
    assert sql(fresh_store, with_thumbs) == [(100,)]

    again = import_frigate(fresh_store, source)
    assert (again.inserted, again.unchanged, again.updated, again.thumbnails) == (0, 100, 0, 0)


def test_a_thumbnail_missed_by_an_interrupted_run_is_saved_by_the_next(
    fresh_store: EventStore, tmp_path: Path
) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.17", [db_row("0.17", PERSON)])
    media = tmp_path / "media"
    media.mkdir()
    first = import_frigate(fresh_store, source, media)  # Frigate had not written the file yet
    assert (first.inserted, first.thumbnails) == (1, 0)
    write_media(media, "front_door", PERSON)
    second = import_frigate(fresh_store, source, media)
    assert (second.inserted, second.unchanged, second.thumbnails) == (0, 1, 1)
    assert close_to(colour(fresh_store, PERSON), THUMB_COLOUR)


def test_events_frigate_changed_since_are_updated(fresh_store: EventStore, tmp_path: Path) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.16", sample_rows("0.16"))
    import_frigate(fresh_store, source)
    insert_db_rows(
        source,
        [
            db_row(
                "0.16",
                OPEN,
                start_time=START + 2,
                end_time=START + 9,
                description="A fox crosses the lawn.",
                label="person",
                sub_label="bob",
            )
        ],
    )
    stats = import_frigate(fresh_store, source)
    assert (stats.inserted, stats.updated, stats.unchanged) == (0, 1, 3)
    assert sql(
        fresh_store,
        f"SELECT llm_description, person_name, end_time IS NULL FROM events "
        f"WHERE event_id = '{OPEN}'",
    ) == [("A fox crosses the lawn.", "bob", 0)]


def digest(*paths: Path) -> list[str | None]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in paths]


def test_the_source_is_read_only_even_while_frigate_writes_it(
    fresh_store: EventStore, tmp_path: Path
) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.16", sample_rows("0.16"))
    frigate = sqlite3.connect(source, isolation_level=None)  # a running Frigate, in WAL mode
    try:
        frigate.execute("PRAGMA wal_autocheckpoint=0")
        late = db_row("0.16", "1793000100.000000-late", start_time=START + 100, end_time=None)
        insert_db_rows(source, [late])
        frigate.execute("BEGIN IMMEDIATE")  # and it is in the middle of a write
        frigate.execute("UPDATE event SET label = 'dog' WHERE id = ?", (PERSON,))
        files = [source, source.with_name("frigate.db-wal")]
        before = digest(*files)
        stats = import_frigate(fresh_store, source)
        assert digest(*files) == before
        frigate.execute("ROLLBACK")
    finally:
        frigate.close()
    assert stats.inserted == 5  # the committed late row too, and the label before the write
    assert sql(
        fresh_store,
        f"SELECT d.label FROM detections d JOIN events e ON e.id = d.event_rowid "
        f"WHERE e.event_id = '{PERSON}'",
    ) == [("person",)]


def test_a_column_a_newer_frigate_adds_is_imported_into_metadata(
    fresh_store: EventStore, tmp_path: Path
) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.17")
    with sqlite3.connect(source) as conn:
        conn.execute('ALTER TABLE "event" ADD COLUMN "future" TEXT')
    conn.close()
    insert_db_rows(source, [{**db_row("0.17", PERSON), "future": "kept"}])
    assert import_frigate(fresh_store, source).inserted == 1
    [(metadata,)] = sql(fresh_store, f"SELECT metadata FROM events WHERE event_id = '{PERSON}'")
    kept = metadata if isinstance(metadata, dict) else json.loads(metadata)
    assert kept["frigate"]["future"] == "kept"


def test_a_bad_row_is_reported_and_the_rest_imported(
    fresh_store: EventStore, tmp_path: Path
) -> None:
    bad = {**db_row("0.16", CAR), "data": "{broken"}
    source = create_frigate_db(tmp_path / "frigate.db", "0.16", [db_row("0.16", PERSON), bad])
    stats = import_frigate(fresh_store, source)
    assert (stats.inserted, stats.failed) == (1, 1)
    [(event_id, reason)] = stats.problems
    assert event_id == CAR
    assert "data" in reason
    assert sql(fresh_store, "SELECT event_id FROM events") == [(PERSON,)]


runner = CliRunner()


def one_line_error(result: Any, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


def test_the_command_imports_and_reports(tmp_path: Path) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.16", sample_rows("0.16"))
    media = tmp_path / "media"
    write_media(media, "front_door", PERSON)
    db = tmp_path / "events.db"
    args = ["import-frigate", str(source), "--media", str(media), "--db", str(db), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["inserted"], report["false_positives"], report["thumbnails"]) == (4, 1, 1)
    again = runner.invoke(app, args[:-1])
    assert again.exit_code == 0, again.output
    assert "inserted 0" in again.stdout and "unchanged 4" in again.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (4,)
    conn.close()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: None, "is not a file"),
        (lambda p: p.write_text("id,label\n1,person\n"), "is not a Frigate database"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)"), "no event table"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE event (id, label)"), "no camera"),
    ],
    ids=["missing", "text", "sqlite-without-event", "event-without-columns"],
)
def test_the_command_refuses_what_is_not_a_frigate_database(
    tmp_path: Path, make: Any, expected: str
) -> None:
    source = tmp_path / "frigate.db"
    make(source)
    db = tmp_path / "events.db"
    line = one_line_error(runner.invoke(app, ["import-frigate", str(source), "--db", str(db)]), 2)
    assert line.startswith("error: FRIGATE_DB: ")
    assert expected in line
    assert not db.exists()


def test_the_command_refuses_a_media_folder_that_is_not_one(tmp_path: Path) -> None:
    source = create_frigate_db(tmp_path / "frigate.db", "0.16", [])
    args = ["import-frigate", str(source), "--media", str(tmp_path / "nope")]
    line = one_line_error(runner.invoke(app, [*args, "--db", str(tmp_path / "e.db")]), 2)
    assert line.startswith("error: --media: ")
