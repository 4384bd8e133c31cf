"""SQLite counts a single insert's hourly rollups after its commit: histograms stay exact.

A few events per transaction leave their counts to the background (one aggregated statement
per batch); a histogram counts such events directly. The expected counts come from plain
lists of (time, camera, labels) kept by hand beside the store, never from the store itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from camvault import DetectedObject, Event, EventStore
from camvault.check import check_store
from tests.sqlite_file import connect, read_closed

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
CAMERAS = ("front", "yard", "gate")
LABELS = (("person",), ("car", "person"), (), ("dog",))

Row = tuple[datetime, str, tuple[str, ...]]


def event(i: int) -> Event:
    """Event ``i``: 23 minutes after the one before, cameras and labels in turn."""
    objects = [DetectedObject(label=label, confidence=0.8) for label in LABELS[i % 4]]
    return Event(
        event_id=f"e{i}",
        camera_id=CAMERAS[i % 3],
        timestamp=T0 + timedelta(minutes=23 * i),
        detected_objects=objects,
    )


def row(i: int) -> Row:
    """What the hand-kept list holds for event ``i`` (its time, camera and labels)."""
    return T0 + timedelta(minutes=23 * i), CAMERAS[i % 3], LABELS[i % 4]


def insert_singly(store: EventStore, rows: dict[str, Row], numbers: Iterable[int]) -> None:
    """Insert these events one by one (a commit each), noting each in the hand-kept list."""
    for i in numbers:
        store.insert_event(event(i))
        rows[f"e{i}"] = row(i)


def hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def assert_exact(store: EventStore, rows: dict[str, Row]) -> None:
    """Histograms by hour, by label and by camera (one camera filtered) match the list."""
    assert {b.start: b.count for b in store.histogram("hour")} == Counter(
        hour(t) for t, _, _ in rows.values()
    )
    labels = Counter((hour(t), label) for t, _, ls in rows.values() for label in set(ls))
    assert {(b.start, b.key): b.count for b in store.histogram("hour", by="label")} == labels
    yard = Counter(hour(t) for t, camera, _ in rows.values() if camera == "yard")
    assert {b.start: b.count for b in store.histogram("hour", camera_id="yard")} == yard


def rolled_events(store: EventStore) -> int:
    """Events the hourly rollups count, read from the file on a connection of the test's own."""
    conn = connect(store)
    try:
        found = conn.execute(
            "SELECT coalesce(sum(n), 0) FROM rollup_hourly WHERE dim = 'event'"
        ).fetchall()
    finally:
        conn.close()
    return int(found[0][0])


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.01)


def test_single_inserts_count_exactly_before_and_after_the_background_adds_them(
    db_path: Path,
) -> None:
    rows: dict[str, Row] = {}
    with EventStore(db_path) as store:
        insert_singly(store, rows, range(40))
        assert_exact(store, rows)  # at once: whatever the background has done yet
        wait_for(lambda: rolled_events(store) == 40, "the background counting 40 events")
        assert_exact(store, rows)
        # one counted event goes; two new ones come, and one of them goes before it is counted
        assert store.delete_event("e3") is not None
        del rows["e3"]
        insert_singly(store, rows, (40, 41))
        assert store.delete_event("e41") is not None
        del rows["e41"]
        assert_exact(store, rows)
        assert check_store(store).ok
        wait_for(lambda: rolled_events(store) == 40, "the background counting e40")
        assert_exact(store, rows)
        assert check_store(store).ok


def test_an_import_counts_itself_and_the_single_inserts_before_it_in_its_own_commit(
    db_path: Path,
) -> None:
    rows: dict[str, Row] = {}
    with EventStore(db_path) as store:
        insert_singly(store, rows, range(5))
        assert store.insert_events([event(i) for i in range(5, 1105)]).inserted == 1100
        rows.update({f"e{i}": row(i) for i in range(5, 1105)})
        assert rolled_events(store) == 1105  # no background needed: the import counted all
        assert_exact(store, rows)
    # closing leaves nothing to count twice when the file opens again
    counted = read_closed(db_path, "SELECT sum(n) FROM rollup_hourly WHERE dim = 'event'")
    assert counted == [(1105,)]
    with EventStore(db_path) as store:
        assert_exact(store, rows)
        assert check_store(store).ok


CHILD = """
import os, sys
from camvault import EventStore
from camvault.backends.sqlite import SQLiteBackend
from tests.unit.test_settling import event
SQLiteBackend._settle_all = lambda self, pause=0.0: None  # it stops before counting
store = EventStore(sys.argv[1])
for i in range(30):
    store.insert_event(event(i))
os._exit(0)  # no close: what the background had not done stays undone
"""


def test_events_a_stopped_program_left_uncounted_are_counted_on_the_next_open(
    db_path: Path,
) -> None:
    subprocess.run([sys.executable, "-c", CHILD, str(db_path)], check=True, timeout=60)
    left = read_closed(db_path, "SELECT (SELECT count(*) FROM events), sum(n) FROM rollup_hourly")
    assert left == [(30, None)]  # 30 events stored, none counted
    rows = {f"e{i}": row(i) for i in range(30)}
    with EventStore(db_path) as store:
        assert_exact(store, rows)
        assert check_store(store).ok
        wait_for(lambda: rolled_events(store) == 30, "the background counting 30 events")
        assert_exact(store, rows)


WRITER = """
import os, sys
from datetime import datetime, timedelta, UTC
from camvault import Event, EventStore
from camvault.backends.sqlite import SQLiteBackend
SQLiteBackend._maintenance_loop = lambda self: None  # no background: what waits, waits
store = EventStore(sys.argv[1])
t = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
store.insert_event(Event(event_id="e0", camera_id="c", timestamp=t, llm_description="a red van"))
assert [e.event_id for e in store.query(text="van").events] == ["e0"]  # indexes e0
later = t + timedelta(minutes=1)
store.insert_event(Event(event_id="e1", camera_id="c", timestamp=later, llm_description="a bike"))
os._exit(0)  # e1 still waits for the index
"""

EDITOR = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE events SET llm_description = 'a green truck' WHERE event_id = 'e0'")
c.execute("UPDATE events SET llm_description = 'a yellow boat', ts = ts + 1 WHERE event_id = 'e1'")
c.commit()
c.close()
"""


def test_descriptions_changed_by_another_program_are_found_by_their_new_words_only(
    db_path: Path,
) -> None:
    for child in (WRITER, EDITOR):
        subprocess.run([sys.executable, "-c", child, str(db_path)], check=True, timeout=60)
    # e0 was indexed, so its change is listed; e1 waited above the mark, so it is not
    assert read_closed(
        db_path,
        "SELECT (SELECT group_concat(rowid) FROM fts_pending), e.id > p.indexed "
        "FROM events e, positions p WHERE e.event_id = 'e1'",
    ) == [("1", 1)]
    with EventStore(db_path) as store:
        for word, found in (("truck", ["e0"]), ("boat", ["e1"]), ("van", []), ("bike", [])):
            assert [e.event_id for e in store.query(text=word).events] == found, word
        conn = connect(store)
        try:
            keys = conn.execute(
                "SELECT e.event_id, count(*) FROM text_keys k JOIN events e "
                "ON e.id = k.event_rowid GROUP BY 1 ORDER BY 1"
            ).fetchall()
        finally:
            conn.close()
        assert keys == [("e0", 1), ("e1", 1)]  # each indexed once
        assert check_store(store).ok
