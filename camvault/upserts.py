"""Events that evolve: how an upsert or an update turns the stored event into its next version.

Every engine stores a new version the same way, inside one write transaction: the stored
row goes (its detections, zones, text entries and rollup counts with it) and the new version
is inserted at a new position, so counts stay exact and followers of the commit bus see the
event again. What an engine provides is a :class:`Revising` transaction; the rules are here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from camvault.backends.base import ThumbnailRef
from camvault.models import Event
from camvault.rows import trusted

__all__ = ["FIXED", "Revising", "Status", "merge", "revise", "update_in", "upsert_in"]

Status = Literal["inserted", "updated", "unchanged"]
"""What upsert_event did."""

FIXED = frozenset({"event_id"})
"""Event fields that update_event may not change (an event is known by its id)."""


class Revising(Protocol):
    """The part of a write transaction that revisions need."""

    def insert_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert events in order; for each, False if its event_id was already stored."""
        ...

    def current(self, event_id: str) -> Event | None:
        """Return the stored event with this id (read under the write lock), or None."""
        ...

    def replace(self, stored: Event, new: Event) -> list[ThumbnailRef]:
        """Store ``new`` in place of ``stored`` at a new position.

        Returns the thumbnail reference of ``stored`` when ``new`` no longer points at it
        (the caller removes that file); a thumbnail kept by ``new`` stays, row and file.
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


def upsert_in(tx: Revising, event: Event) -> tuple[Status, list[ThumbnailRef]]:
    """Insert ``event``, or store it as the next version of the event with its id."""
    stored = tx.current(event.event_id)
    if stored is None:
        tx.insert_many([event])
        return "inserted", []
    new = merge(stored, event)
    if new == stored:
        return "unchanged", []
    return "updated", tx.replace(stored, new)


def update_in(
    tx: Revising, event_id: str, changes: Mapping[str, Any]
) -> tuple[Event | None, list[ThumbnailRef]]:
    """Apply ``changes`` to the stored event; (None, []) if there is none."""
    stored = tx.current(event_id)
    if stored is None:
        return None, []
    new = revise(stored, changes)
    return new, tx.replace(stored, new)
