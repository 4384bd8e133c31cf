"""Hourly rollups: the counts an event adds to (or, when removed, takes from) each cell.

Every backend keeps a table of (dim, hour, camera_id, key) -> n in step with its events, so
histograms over long ranges read a few thousand cells instead of scanning events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

__all__ = ["HOUR", "RollupKey", "add_event", "hour_of"]

HOUR = 3_600_000_000
"""One hour in microseconds."""

RollupKey = tuple[str, int, str, str]
"""(dim, hour start in microseconds, camera_id, key)."""


def hour_of(ts: int) -> int:
    """Return the start of the UTC hour containing ``ts`` (floor, also before 1970)."""
    return ts - ts % HOUR


def add_event(
    cells: Counter[RollupKey],
    ts: int,
    camera_id: str,
    labels: Iterable[str],
    person_name: str | None,
    *,
    sign: int = 1,
) -> None:
    """Add (or with ``sign=-1`` remove) one event's counts to ``cells``."""
    hour = hour_of(ts)
    cells["event", hour, camera_id, ""] += sign
    for label in dict.fromkeys(labels):
        cells["label", hour, camera_id, label] += sign
    if person_name is not None:
        cells["person", hour, camera_id, person_name] += sign
