"""Online backups of a SQLite store: a consistent copy while writers keep writing, verified.

The copy is made with SQLite's online backup API from a connection that holds one read
transaction for the whole copy: in WAL mode writers go on committing (into the log) while the
pages of that one snapshot are copied in steps, so the backup never restarts and a progress
callback can follow it. The copy is written to ``<dest>.partial``, checked (``PRAGMA
integrity_check`` and the event count of the snapshot), and only then renamed to ``dest``:
a backup that exists is a good one. With ``with_thumbnails`` the thumbnail files of the
snapshot's events are copied beside it (``<dest stem>-thumbnails/``) and the copy's events
point at them, so the backup is a whole store of its own.

PostgreSQL has its own tools for this (``pg_dump``, or ``pg_basebackup`` for a server); see
the README. ``camvault copy`` also copies any store into a new SQLite file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw

from camvault.backends.sqlite import SQLiteBackend
from camvault.errors import DatabaseError, InvalidInputError
from camvault.rows import from_micros
from camvault.store import EventStore
from camvault.thumbnails import owned

__all__ = ["BackupProgress", "BackupReport", "backup_store"]

BackupProgress = Callable[[int, int], None]
"""Called with (pages copied, pages in all) after each step of the copy."""
STEP_PAGES = 4096
"""Pages copied per step (16 MiB with 4 KiB pages): progress granularity, not a lock hold."""


@dataclass
class BackupReport:
    """What a backup wrote and what it checked."""

    path: Path
    events: int
    """Events in the snapshot, and in the backup (the check compares them)."""
    bytes: int
    thumbnails: int = 0
    missing_thumbnails: int = 0
    """Events of the snapshot whose thumbnail file was already gone."""
    seconds: float = 0.0


def _one(conn: apsw.Connection, sql: str) -> Any:
    """Return the first column of the first row of ``sql``."""
    return conn.execute(sql).fetchall()[0][0]


def _bad(problem: str) -> InvalidInputError:
    return InvalidInputError("backup", [("dest", problem)])


def _check_dest(source: Path, dest: Path, *, replace: bool) -> None:
    """Refuse a destination that is the store itself, an existing file, or in no folder."""
    if dest.resolve() == source.resolve():
        raise _bad(f"{dest} is the store itself; give a new file name")
    if dest.exists() and (not replace or dest.is_dir()):
        raise _bad(f"{dest} exists; choose a new name (a backup never overwrites a file)")
    if not dest.parent.is_dir():
        raise _bad(f"the folder {dest.parent} does not exist")


def backup_store(
    store: EventStore,
    dest: str | os.PathLike[str],
    *,
    with_thumbnails: bool = False,
    progress: BackupProgress | None = None,
    replace: bool = False,
    step_pages: int = STEP_PAGES,
) -> BackupReport:
    """Copy the store to ``dest`` while it stays in use; verify the copy; return a report."""
    store._open()
    backend = store._backend
    if not isinstance(backend, SQLiteBackend):
        raise DatabaseError(
            "backup copies SQLite stores; for PostgreSQL use pg_dump (see the README's "
            "'Backups and recovery'), or `camvault copy` into a new SQLite file"
        )
    if "://" in str(dest):
        raise _bad(f"{dest} is a URL; a backup is a SQLite file: give a path")
    target = Path(dest).expanduser().absolute()
    _check_dest(backend.path, target, replace=replace)
    partial = target.with_name(target.name + ".partial")
    started = time.monotonic()
    leftovers = [Path(f"{partial}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    try:
        events = _copy_pages(backend.path, partial, progress, step_pages)
        report = BackupReport(target, events, 0)
        if with_thumbnails:
            _copy_thumbnails(store.thumbnails_dir, partial, target, report)
        _verify(partial, events)
        os.replace(partial, target)
    except apsw.Error as exc:
        raise DatabaseError(f"backup to {target} failed: {exc}; nothing was written") from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DatabaseError(
            f"backup to {target} failed: {reason}; nothing was written (check free space "
            "and permissions)"
        ) from exc
    finally:
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
    report.bytes = target.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def _copy_pages(
    source: Path, partial: Path, progress: BackupProgress | None, step_pages: int
) -> int:
    """Copy one snapshot of ``source`` into ``partial``; return its event count."""
    src = apsw.Connection(str(source), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        src.set_busy_timeout(5000)
        src.execute("BEGIN")  # one snapshot for the whole copy: writers go on in the WAL
        events = int(_one(src, "SELECT count(*) FROM events"))
        out = apsw.Connection(str(partial))
        try:
            with out.backup("main", src, "main") as copy:
                while not copy.done:
                    copy.step(step_pages)
                    if progress is not None:
                        progress(copy.page_count - copy.remaining, copy.page_count)
            out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            out.close()
        src.execute("COMMIT")
    finally:
        src.close()
    return events


def _copy_thumbnails(root: Path, partial: Path, target: Path, report: BackupReport) -> None:
    """Copy the snapshot's thumbnail files beside the backup and point its events at them."""
    new_root = target.with_name(f"{target.stem}-thumbnails")
    conn = apsw.Connection(str(partial))
    try:
        rows: list[Any] = conn.execute(
            "SELECT event_id, camera_id, ts, thumbnail_path FROM events "
            "WHERE thumbnail_path IS NOT NULL"
        ).fetchall()
        moved: list[tuple[str, str]] = []
        for event_id, camera_id, ts, name in rows:
            path = owned(root, camera_id, event_id, from_micros(ts), name)
            if path is None:
                continue  # a file the pipeline owns, not camvault: left where it is
            if not path.is_file():
                report.missing_thumbnails += 1
                continue
            copy = new_root / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
            moved.append((str(copy), event_id))
            report.thumbnails += 1
        with conn:
            conn.executemany("UPDATE events SET thumbnail_path = ? WHERE event_id = ?", moved)
    finally:
        conn.close()


def _verify(partial: Path, events: int) -> None:
    """Check the copy: SQLite's integrity check and the snapshot's event count."""
    conn = apsw.Connection(str(partial), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        result = [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if result != ["ok"]:
            raise DatabaseError(f"the copy failed its integrity check: {'; '.join(result[:5])}")
        copied = int(_one(conn, "SELECT count(*) FROM events"))
        if copied != events:
            raise DatabaseError(f"the copy holds {copied} events, the snapshot {events}")
    finally:
        conn.close()
