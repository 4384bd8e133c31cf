"""Growth under control: the WAL stays bounded beside busy readers; a purge gives space back.

Readers and writers run in child processes (each its own SQLite); sizes are read from the
file system and from connections of the test's own.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apsw

from camvault import EventStore
from camvault.backends import SQLiteOptions
from camvault.sample import sample_events
from tests.integration.conftest import popen_child

CHECKPOINT_PAGES = 250
WAL_BOUND = 8 * CHECKPOINT_PAGES * (4096 + 24)
"""The stated bound, by hand: 8 x checkpoint_pages frames of a 4 KiB page and its header."""

LOOPING_READER = """
import select, sys, time
import apsw
conn = apsw.Connection(sys.argv[1])
print("reading", flush=True)
held = 0
while not select.select([sys.stdin], [], [], 0)[0]:  # until the parent closes stdin
    conn.execute("BEGIN")
    conn.execute("SELECT count(*), max(ts) FROM events").fetchall()
    time.sleep(0.02)  # a reader that keeps its snapshot a while, again and again
    conn.execute("COMMIT")
    held += 1
    time.sleep(0.002)
print(held, flush=True)
"""


def test_the_wal_stays_under_its_bound_beside_a_reader_holding_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    options = SQLiteOptions(checkpoint_pages=CHECKPOINT_PAGES)
    with EventStore(db, options=options) as store:
        assert store.info()["wal_bound_bytes"] == WAL_BOUND
        wal = Path(f"{db}-wal")
        peak = 0
        with popen_child(
            LOOPING_READER, [str(db)], stderr_path=tmp_path / "reader.err", stdin=True
        ) as (proc, lines):
            store.insert_event(next(sample_events(1, seed=1)))  # the table the reader reads
            lines.expect("reading")
            for event in sample_events(4000, seed=2):
                store.insert_event(event)
                peak = max(peak, wal.stat().st_size)
            assert proc.stdin is not None
            proc.stdin.close()
            held = int(lines.next() or 0)
        assert held >= 20, f"the reader held only {held} snapshots: it did not run beside"
        # without restarts the log takes every page written: far more than the bound
        assert peak <= WAL_BOUND, f"WAL reached {peak} bytes, bound {WAL_BOUND}"
        info = store.info()
        assert info["wal_bytes"] == wal.stat().st_size


WRITER = """
import json, select, sys, time
from camvault import DatabaseError, Event, EventStore
done = []
errors = []
with EventStore(sys.argv[1] + "?busy_timeout=1") as store:
    print("writing", flush=True)
    n = 0
    while not select.select([sys.stdin], [], [], 0)[0]:  # until the parent closes stdin
        n += 1
        try:
            store.insert_event(Event(event_id=f"w{n}", camera_id="porch"))
            done.append(time.time())
        except DatabaseError as exc:
            errors.append(str(exc))
print(json.dumps({"commits": done, "errors": errors}), flush=True)
"""


def _free_pages(db: Path) -> int:
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return int(conn.execute("PRAGMA freelist_count").fetchall()[0][0])
    finally:
        conn.close()


def test_a_purge_gives_space_back_in_steps_while_a_writer_keeps_writing(tmp_path: Path) -> None:
    db = tmp_path / "reclaim.db"
    old = datetime.now(UTC) - timedelta(days=90)
    with EventStore(db) as store:
        store.insert_events(list(sample_events(20_000, seed=5, end=old)))
    size_full = os.stat(db).st_size  # closed: the WAL is copied in and gone
    with EventStore(db) as store:
        assert store.info()["auto_vacuum"] == "incremental"
        with popen_child(WRITER, [str(db)], stderr_path=tmp_path / "w.err", stdin=True) as (
            proc,
            lines,
        ):
            lines.expect("writing")
            started = time.time()
            assert store.purge(older_than=timedelta(days=30)).events == 20_000
            seen = set()
            deadline = time.monotonic() + 60
            while (free := _free_pages(db)) and time.monotonic() < deadline:
                seen.add(free)
            reclaimed = time.time()
            deadline = time.monotonic() + 30
            while store.info()["reclaim"] != "done" and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proc.stdin is not None
            proc.stdin.close()
            written = json.loads(lines.next() or "{}")
        assert store.info()["reclaim"] == "done"
        deadline = time.monotonic() + 30
        while os.stat(db).st_size > size_full // 4 and time.monotonic() < deadline:
            time.sleep(0.01)  # the file shrinks when the log is copied back
        size_after = os.stat(db).st_size
    assert size_after <= size_full // 4, f"{size_full} -> {size_after} bytes"
    assert len(seen) >= 3, f"free pages went away in one go: {sorted(seen)}"
    # the writer waited at most its 1 s lock budget: none of its writes failed, and it
    # kept committing while purge and reclaim ran
    assert written["errors"] == []
    assert sum(started <= t <= reclaimed for t in written["commits"]) >= 10


HOLDING_READER = """
import sys
import apsw
conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM events").fetchall()  # a snapshot from before the purge
print("holding", flush=True)
sys.stdin.read()  # until the parent closes stdin
conn.execute("COMMIT")
print("released", flush=True)
"""


def test_the_file_shrinks_once_a_reader_that_held_it_back_lets_go(tmp_path: Path) -> None:
    db = tmp_path / "held.db"
    old = datetime.now(UTC) - timedelta(days=90)
    with EventStore(db) as store:
        store.insert_events(list(sample_events(5000, seed=8, end=old)))
    size_full = os.stat(db).st_size
    with EventStore(db) as store:
        with popen_child(HOLDING_READER, [str(db)], stderr_path=tmp_path / "r.err", stdin=True) as (
            proc,
            lines,
        ):
            lines.expect("holding")
            assert store.purge(older_than=timedelta(days=30)).events == 5000
            deadline = time.monotonic() + 30
            while store.info()["reclaim"] != "done" and time.monotonic() < deadline:
                time.sleep(0.01)
            assert store.info()["reclaim"] == "done"
            # the reader's snapshot keeps the log from being copied back: no shrink yet
            assert os.stat(db).st_size > size_full // 4
            assert proc.stdin is not None
            proc.stdin.close()
            lines.expect("released")
        deadline = time.monotonic() + 30  # nothing writes any more: the store retries alone
        while os.stat(db).st_size > size_full // 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        size_after = os.stat(db).st_size
    assert size_after <= size_full // 4, f"{size_full} -> {size_after} bytes"


def test_a_file_made_before_incremental_vacuum_says_how_to_reclaim(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old = datetime.now(UTC) - timedelta(days=90)
    with EventStore(db) as store:
        store.insert_events(list(sample_events(2000, seed=6, end=old)))
    conn = apsw.Connection(str(db))  # as a file made before camvault chose incremental
    try:
        conn.execute("PRAGMA auto_vacuum = NONE")
        conn.execute("VACUUM")
    finally:
        conn.close()
    with EventStore(db) as store:
        assert store.purge(older_than=timedelta(days=30)).events == 2000
        info = store.info()
        free = _free_pages(db)
    assert free > 0
    assert info["auto_vacuum"] == "none"
    assert info["free_pages"] == free
    assert info["reclaimable_bytes"] == free * 4096
    assert info["reclaim"].startswith("not incremental")
    assert "PRAGMA auto_vacuum=INCREMENTAL; VACUUM" in info["reclaim"]


def test_a_new_file_keeps_the_auto_vacuum_its_user_asked_for(tmp_path: Path) -> None:
    with EventStore(tmp_path / "none.db", options=SQLiteOptions(pragmas={"auto_vacuum": 0})):
        pass
    with EventStore(tmp_path / "default.db"):
        pass
    modes = {}
    for name in ("none", "default"):
        conn = apsw.Connection(str(tmp_path / f"{name}.db"), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            modes[name] = conn.execute("PRAGMA auto_vacuum").fetchall()[0][0]
        finally:
            conn.close()
    assert modes == {"none": 0, "default": 2}  # 2: incremental
