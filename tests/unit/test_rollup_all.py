"""Histograms over all cameras stay exact through inserts, deletes, updates and purges.

Without a camera filter a histogram reads the hourly counts summed over cameras; the expected
counts here come from a plain list of (time, camera, labels) edited by hand alongside the
store, never from the store itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from camvault import DetectedObject, Event, EventStore
from camvault.check import check_store
from camvault.models import utcnow

CAMERAS = ("front", "yard", "gate")
LABELS = (("person",), ("car", "person"), (), ("dog",))
BERLIN = ZoneInfo("Europe/Berlin")
T0 = (utcnow() - timedelta(days=10)).replace(minute=0, second=0, microsecond=0)

Row = tuple[datetime, str, tuple[str, ...]]


def event(i: int, when: datetime, camera: str, labels: tuple[str, ...]) -> Event:
    objects = [DetectedObject(label=label, confidence=0.9) for label in labels]
    return Event(event_id=f"e{i}", camera_id=camera, timestamp=when, detected_objects=objects)


def by_hour(rows: dict[str, Row]) -> Counter[datetime]:
    return Counter(t.replace(minute=0, second=0, microsecond=0) for t, _, _ in rows.values())


def by_label(rows: dict[str, Row]) -> Counter[tuple[datetime, str]]:
    return Counter(
        (t.replace(minute=0, second=0, microsecond=0), label)
        for t, _, labels in rows.values()
        for label in set(labels)
    )


def by_berlin_day(rows: dict[str, Row]) -> Counter[datetime]:
    days = Counter[datetime]()
    for t, _, _ in rows.values():
        local = t.astimezone(BERLIN)
        days[datetime(local.year, local.month, local.day, tzinfo=BERLIN)] += 1
    return days


def test_counts_over_all_cameras_follow_every_change(store_url: str) -> None:
    rows: dict[str, Row] = {}
    with EventStore(store_url) as store:
        for i in range(60):
            when = T0 + timedelta(minutes=37 * i)
            rows[f"e{i}"] = (when, CAMERAS[i % 3], LABELS[i % 4])
            store.insert_event(event(i, when, CAMERAS[i % 3], LABELS[i % 4]))
        for i in (0, 5, 10):
            assert store.delete_event(f"e{i}")
            del rows[f"e{i}"]
        moved = rows["e7"][0] + timedelta(hours=3)
        store.update_event("e7", timestamp=moved, camera_id="gate")
        rows["e7"] = (moved, "gate", rows["e7"][2])
        store.update_event("e8", detected_objects=[DetectedObject(label="cat", confidence=0.8)])
        rows["e8"] = (rows["e8"][0], rows["e8"][1], ("cat",))
        cut = T0 + timedelta(hours=5)
        removed = store.purge(older_than=utcnow() - cut)
        survivors = {k: v for k, v in rows.items() if v[0] >= cut}
        assert removed == len(rows) - len(survivors) > 0
        rows = survivors

        hours = {b.start: b.count for b in store.histogram("hour")}
        labels = {(b.start, b.key): b.count for b in store.histogram("hour", by="label")}
        days = {b.start: b.count for b in store.histogram("day", tz=BERLIN)}
        gate = {b.start: b.count for b in store.histogram("hour", camera_id="gate")}
        report = check_store(store, full=True)
    assert hours == dict(by_hour(rows))
    assert labels == dict(by_label(rows))
    assert days == dict(by_berlin_day(rows))
    at_gate = {k: v for k, v in rows.items() if v[1] == "gate"}
    assert gate == dict(by_hour(at_gate))  # a camera filter still reads that camera's counts
    assert report.ok, report.findings
    # 60 stored, 3 deleted, 6 purged: e1-e4, e6 and e8 (e7 moved past the cut, 37 min apart)
    assert sum(hours.values()) == len(rows) == 51


def test_a_store_from_before_the_all_cameras_counts_gets_them(tmp_path: Path) -> None:
    """Opening an older file sums its counts once; histograms then read the sums."""
    db = tmp_path / "old.db"
    with EventStore(db) as store:
        for i in range(12):
            store.insert_event(event(i, T0 + timedelta(minutes=20 * i), CAMERAS[i % 3], ("car",)))
    # take the file back to schema 5: no all-camera table, as a store of the last release
    # (and the text triggers of then, as v2 and v3 wrote them)
    shipped = resources.files("camvault") / "migrations" / "sqlite"
    v2_insert, v3_update = (
        re.search(rf"CREATE TRIGGER {name} .*?END;", (shipped / file).read_text(), re.S)
        for name, file in (
            ("events_fts_insert", "0002_analysis.sql"),
            ("events_text_update", "0003_time_ordered_text.sql"),
        )
    )
    assert v2_insert and v3_update
    downgrade = (
        "DROP TRIGGER rollup_all_insert; DROP TRIGGER rollup_all_update; "
        "DROP TRIGGER rollup_all_delete; DROP TABLE rollup_all; DROP TRIGGER events_text_update; "
        "ALTER TABLE positions DROP COLUMN rolled; ALTER TABLE positions DROP COLUMN indexed; "
        f"{v2_insert.group(0)} {v3_update.group(0)} "
        "DELETE FROM schema_migrations WHERE version >= 6;"
    )
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.executescript(sys.argv[2])\n"
        "c.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db), downgrade], check=True)
    with EventStore(db) as store:
        hours = {b.start: b.count for b in store.histogram("hour")}
    expected = Counter(
        (T0 + timedelta(minutes=20 * i)).replace(minute=0, tzinfo=UTC) for i in range(12)
    )
    assert hours == dict(expected)
