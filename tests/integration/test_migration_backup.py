"""An old-schema store whose backup cannot be written is not migrated, and not changed.

The store lives on a small tmpfs with room to open it but not to copy it aside: opening it
with this camvault must refuse to migrate, say why and what to do, leave no partial backup,
and leave the file byte for byte as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from camvault import EventStore, MigrationError
from camvault.backends.sqlite import SQLiteBackend
from tests.small_disk import fill, small_filesystem

from .conftest import run_cli

SHIPPED = Path(__file__).parents[2] / "camvault" / "migrations" / "sqlite"


def _make_v1_store(db: Path, tmp_path: Path) -> None:
    """Write a schema-v1 store (as the first camvault release made it) with 400 events."""
    v1 = tmp_path / "v1-migrations"
    v1.mkdir()
    (v1 / "0001_initial.sql").write_text((SHIPPED / "0001_initial.sql").read_text())
    SQLiteBackend(db, migrations_dir=v1).close()
    conn = apsw.Connection(str(db))
    try:
        with conn:
            conn.execute("INSERT INTO cameras VALUES ('porch', NULL, 0)")
            for i in range(400):
                conn.execute(
                    "INSERT INTO events (event_id, ts, camera_id, llm_description) "
                    "VALUES (?, ?, 'porch', ?)",
                    (f"old-{i:04d}", 1_700_000_000_000_000 + i, f"event {i} " + "z" * 1000),
                )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _schema_and_count(db: Path) -> tuple[int, int]:
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        version = conn.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
        count = conn.execute("SELECT count(*) FROM events").fetchall()[0][0]
        assert isinstance(version, int) and isinstance(count, int)
        return version, count
    finally:
        conn.close()


@pytest.fixture
def cramped_v1_store(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A v1 store on a full tmpfs but for 96 KiB: room to open it, not to back it up."""
    with small_filesystem(tmp_path / "small", "2m") as disk:
        db = disk / "events.db"
        _make_v1_store(db, tmp_path)
        assert db.stat().st_size > 400_000  # a copy cannot fit in the room left below
        reserve = disk / "reserve"
        reserve.write_bytes(b"\0" * 96 * 1024)
        fill(disk)
        reserve.unlink()
        yield disk, db


def _left_files(disk: Path) -> set[str]:
    return {p.name for p in disk.iterdir()} - {"filler"}


def test_a_failed_backup_stops_the_migration_and_leaves_the_file(
    cramped_v1_store: tuple[Path, Path],
) -> None:
    disk, db = cramped_v1_store
    before = _digest(db)
    with pytest.raises(MigrationError) as caught:
        EventStore(db)
    message = str(caught.value)
    assert f"could not back up {db}" in message, message
    assert "full" in message  # why
    assert "nothing was changed" in message
    assert f"Free space in {disk}" in message and "open it again" in message  # what to do
    assert _digest(db) == before
    assert _schema_and_count(db) == (1, 400)
    assert not any(name.endswith(".bak") for name in _left_files(disk)), _left_files(disk)


def test_the_cli_says_the_same_in_one_line(cramped_v1_store: tuple[Path, Path]) -> None:
    disk, db = cramped_v1_store
    before = _digest(db)
    done = run_cli("info", "--db", str(db))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: could not back up"), lines
    assert f"Free space in {disk}" in lines[0]
    assert _digest(db) == before
    assert not any(name.endswith(".bak") for name in _left_files(disk))
    # with room again, the same command migrates it (after a backup) and keeps every event
    (disk / "filler").unlink()
    again = run_cli("info", "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert _schema_and_count(db) == (len(list(SHIPPED.glob("*.sql"))), 400)
    backups = [p for p in disk.iterdir() if p.name.endswith(".bak")]
    assert len(backups) == 1 and _schema_and_count(backups[0]) == (1, 400)
