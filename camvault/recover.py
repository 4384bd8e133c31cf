"""Salvage every readable event of a damaged SQLite store into a fresh store.

The damaged file is never modified: it (and its write-ahead log) is copied into a scratch
folder and only the copy is opened, read-only. Events are read in rowid order, a page of rows
at a time; when a read hits a damaged page, the reader skips ahead past the damage (doubling
the jump until a read works, then narrowing back to the first readable row), so a few bad pages
cost only the rows on them. Every salvaged row goes through the Event model and
``insert_events`` of the destination, which rebuilds detections, full-text entries and rollups
from scratch. Thumbnails camvault made for the old store are saved again for the new one when
their files are still there. The report says what was recovered and what was lost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import orjson

from camvault import thumbnails
from camvault.errors import DatabaseError, InvalidInputError
from camvault.models import Event, Person
from camvault.rows import from_micros
from camvault.store import EventStore

__all__ = ["RecoverReport", "damaged_file", "recover_store"]

PAGE = 500
"""Rows read per query while the table reads cleanly."""
_MAX_LISTED = 20
_TIME_COLUMNS = ("ts", "end_time", "end_ts")
_JSON_COLUMNS = ("detected_objects", "metadata", "zones")
_BOOL_COLUMNS = ("unlock_granted", "retain")


@dataclass
class RecoverReport:
    """What a recovery read, saved and lost."""

    events: int = 0
    """Events saved into the destination."""
    persons: int = 0
    thumbnails: int = 0
    unreadable_ranges: list[tuple[int, int]] = field(default_factory=list)
    """Row ids (first, last) that sat on damaged pages and could not be read."""
    invalid: list[tuple[str, str]] = field(default_factory=list)
    """(event id, why) of rows that were read but did not make a valid event (first 20)."""
    invalid_count: int = 0
    expected: int | None = None
    """How many events the damaged file's time index lists (None if it is unreadable too)."""

    @property
    def lost(self) -> int | None:
        """Events the time index knows of that were not saved (None when unknown)."""
        return None if self.expected is None else max(0, self.expected - self.events)


def _bad(name: str, problem: str) -> InvalidInputError:
    return InvalidInputError("recover", [(name, problem)])


@contextlib.contextmanager
def _scratch_copy(source: Path) -> Iterator[apsw.Connection]:
    """Copy the damaged file (and its WAL) aside and open the copy read-only."""
    with tempfile.TemporaryDirectory(prefix="camvault-recover-") as folder:
        copy = Path(folder) / "damaged.db"
        shutil.copyfile(source, copy)
        _pad_truncated(copy)
        wal = Path(f"{source}-wal")
        if wal.exists():
            shutil.copyfile(wal, Path(f"{copy}-wal"))
        conn = apsw.Connection(str(copy), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            yield conn
        finally:
            conn.close()


def _pad_truncated(copy: Path) -> None:
    """Give a truncated copy back the length its header states, as zeroed pages.

    SQLite calls a file shorter than its tables' page numbers malformed as a whole; with the
    missing pages present (and empty) only the rows that lived on them are unreadable.
    """
    with copy.open("r+b") as f:
        header = f.read(100)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        stated = int.from_bytes(header[28:32], "big") * page_size
        if stated > copy.stat().st_size:
            f.truncate(stated)


def _columns(conn: apsw.Connection) -> list[str]:
    """Return the columns of the events table (the schema page must be readable)."""
    try:
        names = [str(row[1]) for row in conn.execute("PRAGMA table_info(events)")]
    except apsw.Error as exc:
        raise DatabaseError(
            f"the damaged file's schema cannot be read ({exc}): nothing can be salvaged with "
            "camvault; restore a backup"
        ) from exc
    if "event_id" not in names or "id" not in names:
        raise _bad("source", "is not a camvault SQLite store (no events table)")
    return names


def _read_from(conn: apsw.Connection, select: str, after: int) -> tuple[list[Any], bool]:
    """Read a page of rows after rowid ``after``: the rows read, and False if damage stopped it."""
    rows: list[Any] = []
    try:
        for row in conn.execute(f"{select} WHERE id > ? ORDER BY id LIMIT {PAGE}", (after,)):
            rows.append(row)
    except apsw.Error:
        return rows, False
    return rows, True


def _readable(conn: apsw.Connection, select: str, after: int) -> bool:
    """Tell whether a read after rowid ``after`` gets a row or a clean end."""
    rows, ok = _read_from(conn, select, after)
    return ok or bool(rows)


def _next_readable(conn: apsw.Connection, select: str, after: int, top: int) -> int | None:
    """Return the lowest ``a`` > ``after`` such that reading after rowid ``a`` works.

    None when no read works up to ``top``. Rows ``after + 1`` to ``a`` are on damaged pages.
    """
    jump = 1
    low = after  # reads from `low` fail
    while True:
        probe = after + jump
        if probe > top:
            return None
        if _readable(conn, select, probe):
            break
        low = probe
        jump *= 2
    high = probe  # reads from `high` work: narrow down to the first working start
    while high - low > 1:
        mid = (low + high) // 2
        if not _readable(conn, select, mid):
            low = mid
        else:
            high = mid
    return high


def _highest_id(conn: apsw.Connection) -> int:
    """Return the largest rowid the file might hold (max id, else the positions table)."""
    for sql in (
        "SELECT max(id) FROM events",
        "SELECT high_water FROM positions WHERE one = 1",
    ):
        with contextlib.suppress(apsw.Error):
            value: Any = conn.execute(sql).fetchall()[0][0]
            if value is not None:
                return int(value)
    return 2**40


def _event(row: dict[str, Any]) -> Event:
    """Build an Event from a raw row (whatever schema version the file had)."""
    data: dict[str, Any] = {}
    for name, value in row.items():
        if value is None or name == "id":
            continue
        if name in _TIME_COLUMNS:
            data["timestamp" if name == "ts" else "end_time"] = from_micros(int(value))
        elif name in _JSON_COLUMNS:
            data[name] = orjson.loads(value) if isinstance(value, str | bytes) else value
        elif name in _BOOL_COLUMNS:
            data[name] = bool(value)
        elif name in Event.model_fields:
            data[name] = value
    event: Event = Event.model_validate(data)
    return event


def _rows(conn: apsw.Connection, report: RecoverReport) -> Iterator[dict[str, Any]]:
    """Every readable events row, in rowid order, skipping damaged ranges."""
    names = _columns(conn)
    select = f"SELECT {', '.join(names)} FROM events"
    top = _highest_id(conn)
    at = names.index("id")
    after = 0
    while True:
        page, ok = _read_from(conn, select, after)
        for values in page:
            yield dict(zip(names, values, strict=True))
        if page:
            after = int(page[-1][at])
        if ok and not page:
            return
        if not ok:
            resume = _next_readable(conn, select, after, top)
            report.unreadable_ranges.append((after + 1, top if resume is None else resume))
            if resume is None:
                return
            after = resume


def _persons(conn: apsw.Connection, dest: EventStore, report: RecoverReport) -> None:
    """Save every readable person."""
    with contextlib.suppress(apsw.Error):
        for name, authorized, notes in conn.execute("SELECT name, authorized, notes FROM persons"):
            with contextlib.suppress(InvalidInputError):
                dest.upsert_person(Person(name=name, authorized=bool(authorized), notes=notes))
                report.persons += 1


def damaged_file(source: str | os.PathLike[str]) -> Path:
    """Return the damaged SQLite file as an absolute path; InvalidInputError if it is none."""
    if "://" in str(source):
        raise _bad("source", f"{source} is a URL; recover reads a damaged SQLite file: a path")
    path = Path(source).expanduser().absolute()
    if not path.is_file():
        raise _bad("source", f"{path} is not a file")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise _bad("source", f"{path} is not a SQLite database (its header says otherwise)")
    return path


def recover_store(
    source: str | os.PathLike[str],
    dest: EventStore,
    *,
    old_thumbnails: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RecoverReport:
    """Salvage the readable events of the SQLite file ``source`` into the empty store ``dest``.

    ``old_thumbnails`` is the damaged store's thumbnail folder (default: beside the file).
    """
    path = damaged_file(source)
    if dest.count():
        raise _bad("dest", "must be an empty store: recovery writes into a fresh one")
    root = Path(old_thumbnails) if old_thumbnails else path.with_name(f"{path.stem}-thumbnails")
    report = RecoverReport()
    with _scratch_copy(path) as conn:
        with contextlib.suppress(apsw.Error):
            counted: Any = conn.execute("SELECT count(*) FROM events INDEXED BY events_ts")
            report.expected = int(counted.fetchall()[0][0])
        _persons(conn, dest, report)
        batch: list[Event] = []
        files: list[tuple[str, Path]] = []
        for row in _rows(conn, report):
            try:
                event = _event(row)
            except (InvalidInputError, ValueError) as exc:
                report.invalid_count += 1
                if len(report.invalid) < _MAX_LISTED:
                    report.invalid.append((str(row.get("event_id")), str(exc)))
                continue
            owned = thumbnails.owned_by(root, event)
            if owned is not None:
                event = event.model_copy(update={"thumbnail_path": None})
                files.append((event.event_id, owned))
            batch.append(event)
            if len(batch) >= PAGE:
                report.events += dest.insert_events(batch).inserted
                batch.clear()
                if progress is not None:
                    progress(report.events)
        report.events += dest.insert_events(batch).inserted
    for event_id, file in files:
        with contextlib.suppress(OSError, InvalidInputError):
            dest.save_thumbnail(event_id, file.read_bytes())
            report.thumbnails += 1
    return report
