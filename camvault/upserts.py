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

    def current(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Return the stored events with these ids (read under the write lock), by id."""
        ...

    def replace(self, versions: Sequence[tuple[Event | None, Event]]) -> list[ThumbnailRef]:
        """Store each new version (second) in place of the stored one (first; None: new).

        Each new version takes a new position, in order; the ids are distinct. Returns the
        thumbnail references of stored events whose new version no longer points at them
        (the caller removes those files); a thumbnail a new version keeps stays, row and file.
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


def upsert_in(tx: Revising, events: Sequence[Event]) -> tuple[list[Status], list[ThumbnailRef]]:
    """Insert each event, or store it as the next version of the event with its id.

    Events are taken in order (one id may come several times). The writes go in rounds, the
    n-th version of each id in round n, so a group of upserts costs a few statements, not a
    few per upsert, and every version written is published.
    """
    known = tx.current(list(dict.fromkeys(ev.event_id for ev in events)))
    statuses: list[Status] = []
    rounds: list[list[tuple[Event | None, Event]]] = []
    writes: dict[str, int] = {}
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
        rounds[turn].append((stored, new))
        known[ev.event_id] = new
    refs: list[ThumbnailRef] = []
    for versions in rounds:
        refs.extend(tx.replace(versions))
    return statuses, refs


def update_in(
    tx: Revising, event_id: str, changes: Mapping[str, Any]
) -> tuple[Event | None, list[ThumbnailRef]]:
    """Apply ``changes`` to the stored event; (None, []) if there is none."""
    stored = tx.current([event_id]).get(event_id)
    if stored is None:
        return None, []
    new = revise(stored, changes)
    return new, tx.replace([(stored, new)])
