"""Import Frigate's own history (its ``frigate.db``) into a store, resumably and read-only.

Every row of Frigate's ``event`` table becomes the event :func:`event_from_api` maps it to.
The source is opened read-only (a ``mode=ro`` URI) and read in batches by rowid, each batch
its own short read transaction, so a running Frigate (WAL mode) keeps writing and
checkpointing meanwhile and memory stays flat whatever the size of the table.

A rerun stores nothing twice: an event camvault already holds is mapped onto what it holds
and written (``upsert_event``) only when Frigate changed it since (a description, an end
time, a sub label); new events are inserted in batches. Rows Frigate marks as false
positives are skipped.

Thumbnails, in order of preference: the base64 ``thumbnail`` column (0.13-0.15), the file
``clips/thumbs/<camera>/<id>.webp`` under ``media`` (0.16+), the snapshot
``clips/<camera>-<id>.jpg`` under ``media``. A thumbnail is saved for every imported event
that has none yet, so an interrupted import finishes its thumbnails on the rerun.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import apsw

from camvault.errors import InvalidInputError
from camvault.ingest.frigate_map import event_from_api, is_false_positive
from camvault.models import Event
from camvault.store import EventStore

__all__ = ["BATCH", "ImportProgress", "ImportStats", "check_frigate_db", "import_frigate"]

log = logging.getLogger("camvault.ingest.frigate")

BATCH = 500
"""Rows read from the source per read transaction and written per batch."""

ImportProgress = Callable[[int, int], None]
"""Called with (rows handled so far, rows in the table when the import started)."""

_REQUIRED = ("id", "label", "camera", "start_time")
_MAX_PROBLEMS = 100
_WHAT = "Frigate database"


@dataclass
class ImportStats:
    """What an import did."""

    total: int = 0
    """Rows in the source's ``event`` table when the import started."""
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    false_positives: int = 0
    """Rows Frigate marks as false positives: not imported."""
    failed: int = 0
    thumbnails: int = 0
    """Thumbnails saved by this run."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(event id, what went wrong) for the first 100 failed rows."""

    def summary(self) -> str:
        """One line for people: the counts."""
        return (
            f"read {self.read}, inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, false positives skipped {self.false_positives}, "
            f"failed {self.failed}, thumbnails {self.thumbnails}"
        )

    def _problem(self, event_id: str, reason: str) -> None:
        self.failed += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append((event_id, reason))


def _open_source(path: Path) -> apsw.Connection:
    """Open a Frigate database read-only and check that it has an ``event`` table."""
    if not path.is_file():
        raise InvalidInputError(_WHAT, [("path", f"{path} is not a file")])
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    try:
        conn = apsw.Connection(uri, flags=flags)
        conn.set_busy_timeout(5000)
        columns = {row[1] for row in conn.execute('PRAGMA table_info("event")')}
    except (apsw.NotADBError, apsw.CorruptError) as exc:
        raise InvalidInputError(
            _WHAT, [("path", f"{path} is not a Frigate database ({exc})")]
        ) from None
    except apsw.Error as exc:  # e.g. a WAL database without its -shm in a read-only folder
        raise InvalidInputError(_WHAT, [("path", f"{path} cannot be read ({exc})")]) from None
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        conn.close()
        what = "no event table" if not columns else f"no {', '.join(missing)} in its event table"
        raise InvalidInputError(_WHAT, [("path", f"{path} is not a Frigate database ({what})")])
    return conn


def _count(conn: apsw.Connection) -> int:
    """Count the rows of the ``event`` table."""
    for (count,) in conn.execute('SELECT count(*) FROM "event"'):
        return int(count)
    return 0


def check_frigate_db(path: str | os.PathLike[str]) -> int:
    """Check that a file is a Frigate database (read-only) and return its number of events."""
    conn = _open_source(Path(path))
    try:
        return _count(conn)
    finally:
        conn.close()


def _batches(conn: apsw.Connection) -> Iterator[list[dict[str, Any]]]:
    """Yield the rows of the ``event`` table in rowid order, BATCH at a time."""
    names = [row[1] for row in conn.execute('PRAGMA table_info("event")')]
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    query = f'SELECT rowid, {select} FROM "event" WHERE rowid > ? ORDER BY rowid LIMIT ?'
    last: Any = -(2**63)
    while True:
        rows = conn.execute(query, (last, BATCH)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield [dict(zip(names, row[1:], strict=True)) for row in rows]


def _inside(root: Path, *parts: str) -> Path | None:
    """Return the path under root made of parts, or None when it would leave root."""
    path = root.joinpath(*parts)
    return path if path.resolve().is_relative_to(root.resolve()) else None


def _thumbnail(row: dict[str, Any], media: Path | None) -> bytes | None:
    """Return the image Frigate keeps for an event row, or None when it has none."""
    text = row.get("thumbnail")
    if isinstance(text, str) and text:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            log.warning("event %s: its thumbnail column is not base64; ignored", row.get("id"))
    if media is None:
        return None
    camera, event_id = str(row["camera"]), str(row["id"])
    candidates = (
        _inside(media, "clips", "thumbs", camera, f"{event_id}.webp"),
        _inside(media, "clips", f"{camera}-{event_id}.jpg"),
    )
    for path in candidates:
        if path is not None:
            try:
                return path.read_bytes()
            except OSError:
                continue
    return None


def _import_batch(
    store: EventStore, rows: list[dict[str, Any]], media: Path | None, stats: ImportStats
) -> None:
    """Map one batch, insert what is new, upsert what changed, then save missing thumbnails."""
    fresh: list[Event] = []
    images: dict[str, dict[str, Any]] = {}
    for row in rows:
        stats.read += 1
        event_id = str(row.get("id"))
        try:
            if is_false_positive(row):
                stats.false_positives += 1
                continue
            held = store.get_event(event_id)
            event = event_from_api(row, held)
        except InvalidInputError as exc:
            stats._problem(event_id, str(exc))
            continue
        if held is None:
            fresh.append(event)
        elif event == held:
            stats.unchanged += 1
        else:
            store.upsert_event(event)
            stats.updated += 1
        if held is None or held.thumbnail_path is None:
            images[event_id] = row
    if fresh:
        result = store.insert_events(fresh)
        stats.inserted += result.inserted
        stats.unchanged += result.duplicates  # another writer stored them meanwhile
        for failure in result.errors:
            stats._problem(failure.event_id or "?", failure.error)
            images.pop(failure.event_id or "", None)
    for event_id, row in images.items():
        image = _thumbnail(row, media)
        if image is not None and store.save_thumbnail(event_id, image) is not None:
            stats.thumbnails += 1


def import_frigate(
    store: EventStore,
    path: str | os.PathLike[str],
    media: str | os.PathLike[str] | None = None,
    progress: ImportProgress | None = None,
) -> ImportStats:
    """Import every event of a Frigate database (``frigate.db``), with its thumbnail."""
    source = Path(path)
    media_dir = Path(media) if media is not None else None
    if media_dir is not None and not media_dir.is_dir():
        raise InvalidInputError(_WHAT, [("media", f"{media_dir} is not a folder")])
    conn = _open_source(source)
    stats = ImportStats()
    try:
        stats.total = _count(conn)
        for rows in _batches(conn):
            _import_batch(store, rows, media_dir, stats)
            if progress is not None:
                progress(stats.read, stats.total)
    finally:
        conn.close()
    return stats
