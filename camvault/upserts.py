"""Events that evolve: how an upsert or an update turns the stored event into its next version.

Every engine stores a new version the same way, inside one write transaction: the stored
row goes (its detections, zones, text entries and rollup counts with it) and the new version
is inserted at a new position, so counts stay exact and followers of the commit bus see the
event again. What an engine provides is a :class:`Revising` transaction; the rules are here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from camvault import thumbnails
from camvault.backends.base import ThumbnailRef, Version
from camvault.models import Event
from camvault.rows import trusted

__all__ = [
    "FIXED",
    "Cleanup",
    "Revising",
    "Status",
    "merge",
    "revise",
    "update_in",
    "upsert_in",
]

Status = Literal["inserted", "updated", "unchanged"]
"""What upsert_event did."""

FIXED = frozenset({"event_id"})
"""Event fields that update_event may not change (an event is known by its id)."""


@dataclass(slots=True)
class Cleanup:
    """Thumbnail files to tidy once the new versions are committed."""

    removed: list[ThumbnailRef] = field(default_factory=list)
    """Thumbnails of stored events that their new versions dropped."""
    moved: list[tuple[str, str]] = field(default_factory=list)
    """(old, new) paths of thumbnails camvault made, moved with their event's camera or day."""


class Revising(Protocol):
    """The part of a write transaction that revisions need."""

    def current(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Return the stored events with these ids (read under the write lock), by id."""
        ...

    def replace(self, versions: Sequence[Version]) -> list[ThumbnailRef]:
        """Store each new version in place of the stored one (None: a new event).

        Each new version takes a new position, in order; the ids are distinct. Returns the
        thumbnail references of stored events whose new version does not keep their
        thumbnail (the caller removes those files); a kept thumbnail stays, row and file.
        """
        ...


def merge(stored: Event, given: Event) -> Event:
    """Return the version an upsert stores: every field of ``given``, with two exceptions.

    A ``thumbnail_path`` of None keeps the stored thumbnail, and ``retain`` once True stays.
    """
    if given.thumbnail_path is not None and (given.retain or not stored.retain):
        return given
    values = dict(given.__dict__)
    if given.thumbnail_path is None:
        values["thumbnail_path"] = stored.thumbnail_path
    values["retain"] = given.retain or stored.retain
    return trusted(Event, values)


def revise(stored: Event, changes: Mapping[str, Any]) -> Event:
    """Return ``stored`` with ``changes`` applied, validated as a whole new Event."""
    values = dict(stored.__dict__)
    values.update(changes)
    event: Event = Event.model_validate(values)
    return event


def _version(stored: Event | None, new: Event, root: Path, cleanup: Cleanup) -> Version:
    """Decide what becomes of the stored thumbnail when ``new`` replaces ``stored``.

    A kept thumbnail that camvault made lives at a path named after the camera and day: it
    moves (after the commit) when they change, so it stays the event's own.
    """
    if stored is None or new.thumbnail_path != stored.thumbnail_path:
        return Version(stored, new, keeps_thumbnail=False)
    path = stored.thumbnail_path
    moved = new.camera_id != stored.camera_id or new.timestamp.date() != stored.timestamp.date()
    if moved and thumbnails.is_owned(
        root, stored.camera_id, stored.event_id, stored.timestamp, path
    ):
        assert path is not None  # owned
        fmt: thumbnails.Format = "webp" if path.endswith(".webp") else "jpeg"
        target = str(
            thumbnails.thumbnail_path(root, new.camera_id, new.event_id, new.timestamp, fmt)
        )
        new = trusted(Event, {**new.__dict__, "thumbnail_path": target})
        cleanup.moved.append((path, target))
    return Version(stored, new, keeps_thumbnail=True)


def upsert_in(tx: Revising, events: Sequence[Event], root: Path) -> tuple[list[Status], Cleanup]:
    """Insert each event, or store it as the next version of the event with its id.

    Events are taken in order (one id may come several times). The writes go in rounds, the
    n-th version of each id in round n, so a group of upserts costs a few statements, not a
    few per upsert, and every version written is published. Returns each event's status and
    the thumbnails to tidy once committed (``root`` is the store's thumbnail folder).
    """
    known = tx.current(list(dict.fromkeys(ev.event_id for ev in events)))
    statuses: list[Status] = []
    rounds: list[list[Version]] = []
    writes: dict[str, int] = {}
    cleanup = Cleanup()
    for ev in events:
        stored = known.get(ev.event_id)
        new = ev if stored is None else merge(stored, ev)
        if stored is not None and new == stored:
            statuses.append("unchanged")
            continue
        statuses.append("inserted" if stored is None else "updated")
        turn = writes.get(ev.event_id, 0)
        writes[ev.event_id] = turn + 1
        if turn == len(rounds):
            rounds.append([])
        version = _version(stored, new, root, cleanup)
        rounds[turn].append(version)
        known[ev.event_id] = version.new
    for versions in rounds:
        cleanup.removed.extend(tx.replace(versions))
    return statuses, cleanup


def update_in(
    tx: Revising, event_id: str, changes: Mapping[str, Any], root: Path
) -> tuple[Event | None, Cleanup]:
    """Apply ``changes`` to the stored event and store it; None if there is none."""
    cleanup = Cleanup()
    stored = tx.current([event_id]).get(event_id)
    if stored is None:
        return None, cleanup
    version = _version(stored, revise(stored, changes), root, cleanup)
    cleanup.removed.extend(tx.replace([version]))
    return version.new, cleanup
