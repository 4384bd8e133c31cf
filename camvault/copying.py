"""Copy a whole store into another, between any two store URLs, over the public API only.

The source is paged oldest first with the query cursor and written in chunks with
``insert_events``, so memory stays flat whatever the size of the store. Persons come first,
then events with their ``retain`` flag; each thumbnail camvault made in the source is read and
saved again through the destination's ``save_thumbnail``, so the destination owns its own
files. A rerun skips what is already there (duplicates are counted, not errors) and finishes
what an interrupted copy left, thumbnails included. The counts are checked at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from camvault import thumbnails
from camvault.errors import DatabaseError, InvalidInputError
from camvault.exchange import iter_events
from camvault.models import Event
from camvault.store import EventStore

__all__ = ["CopyProgress", "CopyReport", "copy_store"]

CopyProgress = Callable[[int, int], None]
"""Called with (source events handled so far, source events in all) after each chunk."""
CHUNK = 1000
"""Events read from the source per page and written to the destination per transaction."""
_MAX_LISTED = 100


@dataclass
class CopyReport:
    """What a copy did, and whether the destination now holds every source event."""

    source_events: int = 0
    """Events in the source when the copy ended."""
    read: int = 0
    """Source events read (and offered to the destination)."""
    copied: int = 0
    already_there: int = 0
    failed: int = 0
    persons: int = 0
    """Persons written (new or changed); an identical one is left alone."""
    thumbnails: int = 0
    thumbnails_already_there: int = 0
    missing_thumbnails: int = 0
    """Source events whose thumbnail file is gone or unreadable (their events are copied)."""
    destination_growth: int = 0
    """How many events the destination gained during the copy."""
    problems: list[tuple[str, str]] = field(default_factory=list)
    """(event id, what went wrong) for the first 100 failed events and missing thumbnails."""

    @property
    def complete(self) -> bool:
        """True when every source event is in the destination and the counts agree."""
        return self.mismatch() is None

    def mismatch(self) -> str | None:
        """Say which count does not add up, or None when the copy is complete."""
        there = self.copied + self.already_there
        if self.failed:
            return f"{self.failed} source event(s) were refused by the destination"
        if self.read != self.source_events:
            return f"read {self.read} of {self.source_events} source event(s)"
        if there != self.read:
            return f"{there} of {self.read} source event(s) are in the destination"
        if self.destination_growth != self.copied:
            return (
                f"the destination gained {self.destination_growth} event(s) "
                f"but {self.copied} were copied"
            )
        return None

    def note(self, event_id: str, problem: str) -> None:
        """Keep a problem for the report (the first 100)."""
        if len(self.problems) < _MAX_LISTED:
            self.problems.append((event_id, problem))


def _store_at(
    target: EventStore | str | os.PathLike[str], stack: ExitStack, *, source: bool
) -> EventStore:
    """Return ``target`` if it is a store, else open it (a source must exist) and close it later."""
    if isinstance(target, EventStore):
        return target
    role = "source" if source else "destination"
    try:
        store = EventStore(target, create=not source)
    except DatabaseError as exc:
        raise type(exc)(f"{role}: {exc}") from exc
    return stack.enter_context(store)


def _same_store(src: EventStore, dst: EventStore) -> bool:
    """Tell whether two stores are one database (the same file through two spellings too)."""
    if src is dst:
        return True
    a, b = src.info(), dst.info()
    if a["engine"] != b["engine"]:
        return False
    where_a, where_b = a.get("path"), b.get("path")
    if where_a is None or where_b is None:  # a server database: compare what info() says
        keys = ("engine", "host", "port", "database", "schema")
        return all(a.get(k) == b.get(k) for k in keys)
    return os.path.samefile(where_a, where_b)  # both exist: they are open


def _copy_persons(src: EventStore, dst: EventStore) -> int:
    """Write every source person the destination lacks or holds differently; return how many."""
    written = 0
    for person in src.list_persons():
        there = dst.get_person(person.name)
        if there is None or (there.authorized, there.notes) != (person.authorized, person.notes):
            dst.upsert_person(person)
            written += 1
    return written


def _source_thumbnail(src: EventStore, event: Event) -> Path | None:
    """Return the thumbnail camvault made for this source event (file or name), or None."""
    return thumbnails.owned_by(src.thumbnails_dir, event)


def _has_own_thumbnail(dst: EventStore, event_id: str) -> bool:
    """Tell whether the destination holds its own thumbnail for the event (or another path)."""
    there = dst.get_event(event_id)
    if there is None or there.thumbnail_path is None:
        return False
    if thumbnails.owned_by(dst.thumbnails_dir, there) is None:
        return True  # a path set by someone else is theirs: keep it
    return dst.read_thumbnail(event_id) is not None


def _copy_chunk(src: EventStore, dst: EventStore, chunk: list[Event], report: CopyReport) -> None:
    """Insert one chunk of source events, then the thumbnails they lack in the destination."""
    files = {event.event_id: _source_thumbnail(src, event) for event in chunk}
    rows = [
        event.model_copy(update={"thumbnail_path": None}) if files[event.event_id] else event
        for event in chunk
    ]
    result = dst.insert_events(rows)
    report.read += len(chunk)
    report.copied += result.inserted
    report.already_there += result.duplicates
    report.failed += result.failed
    refused = set()
    for failure in result.errors:
        refused.add(failure.index)
        report.note(chunk[failure.index].event_id, failure.error)
    for index, event in enumerate(chunk):
        path = files[event.event_id]
        if path is None or index in refused:
            continue
        if result.duplicates and _has_own_thumbnail(dst, event.event_id):
            report.thumbnails_already_there += 1
            continue
        _copy_thumbnail(src, dst, event, path, report)


def _copy_thumbnail(
    src: EventStore, dst: EventStore, event: Event, path: Path, report: CopyReport
) -> None:
    """Read one source thumbnail and save it through the destination; note a missing one."""
    found = src.read_thumbnail(event.event_id)
    if found is None:
        report.missing_thumbnails += 1
        report.note(event.event_id, f"thumbnail {path}: missing or unreadable")
        return
    data, fmt = found
    if dst.save_thumbnail(event.event_id, data, fmt=fmt) is None:
        report.missing_thumbnails += 1
        report.note(event.event_id, f"thumbnail {path}: not readable as an image")
    else:
        report.thumbnails += 1


def _chunks(events: Iterator[Event]) -> Iterator[list[Event]]:
    """Group events into lists of CHUNK."""
    chunk: list[Event] = []
    for event in events:
        chunk.append(event)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def copy_store(
    src: EventStore | str | os.PathLike[str],
    dst: EventStore | str | os.PathLike[str],
    *,
    progress: CopyProgress | None = None,
) -> CopyReport:
    """Copy every person, event and thumbnail of ``src`` into ``dst`` (created when missing).

    Stores or URLs; rerunning skips what is already there and finishes an interrupted copy.
    Check ``CopyReport.complete`` for the outcome.
    """
    with ExitStack() as stack:
        source = _store_at(src, stack, source=True)
        target = _store_at(dst, stack, source=False)
        if _same_store(source, target):
            problem = "is the same database as the source; give another one"
            raise InvalidInputError("copy", [("dst", problem)])
        report = CopyReport()
        report.persons = _copy_persons(source, target)
        total = source.count()
        before = target.count()
        for chunk in _chunks(iter_events(source, page=CHUNK)):
            _copy_chunk(source, target, chunk, report)
            if progress is not None:
                progress(report.read, max(total, report.read))
        report.source_events = source.count()
        report.destination_growth = target.count() - before
        return report
