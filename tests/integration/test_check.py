"""camvault check: a whole store passes; each kind of damage, made on purpose, is named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import Event, EventStore
from camvault.check import check_store
from camvault.sample import sample_frame
from tests.conftest import raw_connection, settle

from .conftest import run_cli

T0 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
FULL = {"database pages", "counts", "detections", "cameras", "thumbnails"}


def events() -> list[Event]:
    return [
        Event(
            event_id=f"k{i}",
            camera_id=["porch", "gate"][i % 2],
            timestamp=T0 + timedelta(minutes=13 * i),
            detected_objects=[{"label": "person", "confidence": 0.8}]
            + ([{"label": "car", "confidence": 0.7}] if i % 3 == 0 else []),
            llm_description=f"visitor {i} at the {['porch', 'gate'][i % 2]}",
            person_name="alice" if i % 4 == 0 else None,
            zones=["drive"] if i % 2 else [],
        )
        for i in range(30)
    ]


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    with EventStore(store_url) as s:
        s.insert_events(events())
        settle(s)  # the counts the tests damage are written, not left to the background
        for ev in events()[:3]:
            s.save_thumbnail(ev.event_id, sample_frame(ev, (32, 24)))
        yield s


def damage(store: EventStore, sql: str) -> None:
    conn = raw_connection(store)
    try:
        conn.execute(sql)
    finally:
        conn.close()


def problems(store: EventStore) -> dict[str, list[str]]:
    report = check_store(store, full=True)
    found: dict[str, list[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.check, []).append(finding.problem)
    return found


def test_a_whole_store_passes_every_check(store: EventStore) -> None:
    report = check_store(store, full=True)
    assert report.ok, report.findings
    assert report.events == 30
    assert set(report.passed) | {name for name, _ in report.skipped} >= FULL
    quick = check_store(store)
    assert quick.ok and quick.passed + [n for n, _ in quick.skipped] == ["database pages"]


def test_a_wrong_hourly_count_is_found(store: EventStore) -> None:
    damage(store, "UPDATE rollup_hourly SET n = n + 2 WHERE dim = 'label' AND key = 'car'")
    found = problems(store)
    assert list(found) == ["counts"]
    # every car cell is off by two: 10 events with a car, each in its own hour, by hand
    assert found["counts"][0].startswith("10 hourly count(s) differ from a recount")


def test_a_wrong_count_over_all_cameras_is_found(store: EventStore) -> None:
    damage(store, "UPDATE rollup_all SET n = n + 1 WHERE dim = 'label' AND key = 'car'")
    found = problems(store)
    assert list(found) == ["counts"]
    # cars at minutes 0, 39, 78, ..., 351 (every third event, 13 min apart): six UTC hours;
    # the per-camera counts are still right, so only the sums are reported
    assert len(found["counts"]) == 1
    assert found["counts"][0].startswith(
        "6 hourly count(s) over all cameras differ from the cameras' sum"
    )


def test_a_lost_detection_row_is_found(store: EventStore) -> None:
    damage(store, "DELETE FROM detections WHERE label = 'car' AND idx = 1")
    found = problems(store)
    assert "detections" in found
    assert found["detections"][0].startswith("10 event(s) with wrong detection rows (k0: 2 ")


def test_an_unregistered_camera_is_found(store: EventStore) -> None:
    damage(store, "DELETE FROM cameras WHERE camera_id = 'gate'")
    assert problems(store) == {"cameras": ["1 camera(s) not registered: gate"]}


def test_thumbnails_gone_and_files_no_event_owns_are_found(store: EventStore) -> None:
    gone = Path(store.get_event("k1").thumbnail_path)  # type: ignore[union-attr, arg-type]
    gone.unlink()
    stray = store.thumbnails_dir / "porch" / "left-behind.jpg"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"not an event's")
    found = problems(store)
    assert found["thumbnails"] == [
        "1 event(s) whose thumbnail file is gone: k1",
        f"1 file(s) in {store.thumbnails_dir} that no event owns: {stray}",
    ]


def test_sqlite_text_and_zone_indexes_are_checked(tmp_path: Path) -> None:
    with EventStore(tmp_path / "s.db") as s:
        s.insert_events(events())
        s.count(text="visitor")  # a text query indexes what is pending first
        damage(s, "DELETE FROM text_keys WHERE event_rowid IN (SELECT id FROM events LIMIT 2)")
        damage(
            s,
            "DELETE FROM event_zones WHERE event_rowid IN "
            "(SELECT event_rowid FROM event_zones LIMIT 3)",
        )
        found = problems(s)
    assert found["full-text index"] == ["2 a described event missing from the index"]
    assert found["zones"][0].startswith("3 event(s) with a wrong zone index")


def test_damaged_pages_fail_the_quick_check(tmp_path: Path) -> None:
    db = tmp_path / "pages.db"
    with EventStore(db) as s:
        s.insert_events([Event(camera_id="porch", llm_description="z" * 300) for _ in range(2000)])
    import apsw

    conn = apsw.Connection(str(db))
    size: Any = conn.execute("PRAGMA page_size").fetchall()[0][0]
    (page,) = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events_ts' AND pagetype = 'leaf' LIMIT 1"
    ).fetchall()[0]
    conn.close()
    with db.open("r+b") as f:
        f.seek((int(page) - 1) * int(size))  # type: ignore[call-overload]
        f.write(b"\x0d" + b"\x00" * 7 + b"\xff" * (int(size) - 8))  # type: ignore[call-overload]
    done = run_cli("check", "--db", str(db))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PROBLEM  database pages:" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_cli_says_ok_with_exit_code_0(tmp_path: Path) -> None:
    db = tmp_path / "fine.db"
    with EventStore(db) as s:
        s.insert_events(events())
    done = run_cli("check", "--full", "--db", str(db))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"checked {db} (sqlite, 30 events): every check passed"
    assert "ok       counts" in lines
