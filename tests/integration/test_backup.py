"""Online backup: a consistent, checked copy of a SQLite store while another process writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camvault import Event, EventStore
from camvault.backup import backup_store
from camvault.errors import DatabaseError, InvalidInputError
from camvault.sample import sample_frame
from tests.conftest import POSTGRES_URL, drop_schema, postgres_url

from .conftest import popen_child, run_cli

T0 = datetime(2026, 11, 1, tzinfo=UTC)

WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from camvault import Event, EventStore
t0 = datetime(2026, 11, 1, tzinfo=UTC)
with EventStore(sys.argv[1]) as store:
    n = int(sys.argv[2])
    while True:
        batch = [Event(event_id=f"w-{n + i:07d}", camera_id=f"cam-{(n + i) % 3}",
                       timestamp=t0 + timedelta(seconds=n + i),
                       llm_description=f"writer event {n + i}",
                       detected_objects=[{"label": "person", "confidence": 0.5}])
                 for i in range(50)]
        store.insert_events(batch)
        n += 50
        print(n, flush=True)
"""


def plain_ids(db: Path) -> list[str]:
    """The event ids of a SQLite file, read with Python's own sqlite3 (not camvault)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return sorted(row[0] for row in conn.execute("SELECT event_id FROM events"))
    finally:
        conn.close()


def test_a_backup_is_one_consistent_moment_while_another_process_writes(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with EventStore(db) as store:
        store.insert_events(
            [
                Event(event_id=f"w-{i:07d}", camera_id="cam-0", timestamp=T0)
                for i in range(20_000)  # enough pages that the copy takes several steps
            ]
        )
    copies: list[tuple[int, int]] = []
    args = [str(db), "20000"]
    with popen_child(WRITER, args, stderr_path=tmp_path / "writer.err") as (_, lines):
        first = int(lines.next() or 0) - 20_000
        with EventStore(db) as store:
            report = backup_store(
                store,
                tmp_path / "copy.db",
                progress=lambda d, t: copies.append((d, t)),
                step_pages=32,  # many steps, with the writer committing between them
            )
        # the writer went on writing while the copy was made
        later = int(lines.next() or 0) - 20_000
        while later < first + 500:
            later = int(lines.next() or 0) - 20_000
    ids = plain_ids(tmp_path / "copy.db")
    # one moment of the store: the first k ids the writer wrote, none missing, none torn
    assert ids == [f"w-{i:07d}" for i in range(len(ids))]
    assert report.events == len(ids) >= 20_000 + first
    assert len(copies) > 10 and copies[-1][0] == copies[-1][1]  # progress, step by step
    assert not (tmp_path / "copy.db.partial").exists()
    with EventStore(tmp_path / "copy.db") as restored:
        got = restored.get_event(ids[-1])
        assert got is not None and got.event_id == ids[-1]


def test_thumbnails_go_with_the_backup_and_outlive_the_original(tmp_path: Path) -> None:
    db = tmp_path / "home.db"
    events = [
        Event(event_id=f"t{i}", camera_id="porch", timestamp=T0 + timedelta(minutes=i))
        for i in range(5)
    ]
    with EventStore(db) as store:
        store.insert_events(events)
        for ev in events[:4]:
            store.save_thumbnail(ev.event_id, sample_frame(ev, (64, 48)))
        originals = {
            ev.event_id: Path(store.get_event(ev.event_id).thumbnail_path).read_bytes()  # type: ignore[union-attr, arg-type]
            for ev in events[:4]
        }
        Path(store.get_event("t3").thumbnail_path).unlink()  # type: ignore[union-attr, arg-type]
        report = backup_store(store, tmp_path / "b.db", with_thumbnails=True)
        root = store.thumbnails_dir
    assert (report.thumbnails, report.missing_thumbnails) == (3, 1)
    for leftover in root.rglob("*"):
        if leftover.is_file():
            leftover.unlink()  # the original thumbnails are gone
    with EventStore(tmp_path / "b.db") as restored:
        for event_id in ("t0", "t1", "t2"):
            image = restored.read_thumbnail(event_id)
            assert image is not None and image[0] == originals[event_id]
        assert restored.read_thumbnail("t4") is None
    assert (tmp_path / "b-thumbnails").is_dir()


def test_a_backup_never_overwrites_and_names_what_is_wrong(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with EventStore(db) as store:
        store.insert_event(Event(camera_id="porch"))
        (tmp_path / "taken.db").write_bytes(b"precious")
        for dest, words in [
            (tmp_path / "taken.db", "exists"),
            (db, "the store itself"),
            (tmp_path / "no-such-folder" / "b.db", "does not exist"),
        ]:
            with pytest.raises(InvalidInputError, match=words) as caught:
                backup_store(store, dest)
            assert caught.value.problems[0][0] == "dest"
    assert (tmp_path / "taken.db").read_bytes() == b"precious"


def test_a_failed_backup_leaves_no_file_behind(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr!r}")
    try:
        db = tmp_path / "big.db"
        with EventStore(db) as store:
            store.insert_events(
                [Event(camera_id="porch", llm_description="x" * 500) for _ in range(3000)]
            )
            with pytest.raises(DatabaseError, match="nothing was written"):
                backup_store(store, small / "b.db")
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.skipif(POSTGRES_URL is None, reason="CAMVAULT_TEST_POSTGRES_URL is not set")
def test_postgres_stores_are_pointed_at_pg_dump(tmp_path: Path) -> None:
    url = postgres_url(tmp_path)
    try:
        with EventStore(url) as store, pytest.raises(DatabaseError, match="pg_dump"):
            backup_store(store, tmp_path / "never.db")
    finally:
        drop_schema(url)
    assert not (tmp_path / "never.db").exists()


def test_the_cli_backs_up_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with EventStore(db) as store:
        store.insert_events([Event(event_id=f"c{i}", camera_id="porch") for i in range(7)])
    done = run_cli("backup", str(tmp_path / "b.db"), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up 7 events to {tmp_path / 'b.db'} (")
    assert "integrity check ok" in done.stdout
    assert plain_ids(tmp_path / "b.db") == [f"c{i}" for i in range(7)]
    again = run_cli("backup", str(tmp_path / "b.db"), "--db", str(db))
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"error: invalid backup: dest: {tmp_path / 'b.db'} exists; choose a new name "
        "(a backup never overwrites a file)"
    ]


async def test_both_apis_back_up(tmp_path: Path) -> None:
    from camvault import AsyncEventStore

    async with AsyncEventStore(tmp_path / "a.db") as astore:
        await astore.insert_event(Event(event_id="a1", camera_id="gate"))
        report = await astore.backup(tmp_path / "a-copy.db")
    assert report.events == 1 and plain_ids(tmp_path / "a-copy.db") == ["a1"]
    with EventStore(tmp_path / "a.db") as store:
        assert store.backup(tmp_path / "s-copy.db").events == 1
    assert plain_ids(tmp_path / "s-copy.db") == ["a1"]


def test_a_url_is_no_backup_destination(tmp_path: Path) -> None:
    with EventStore(tmp_path / "s.db") as store, pytest.raises(InvalidInputError, match="is a URL"):
        backup_store(store, "postgresql://cam@db/camvault")
