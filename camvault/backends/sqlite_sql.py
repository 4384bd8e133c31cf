"""SQL text for SQLite: the shared query SQL (camvault.backends.querysql) in SQLite's dialect.

Values are ``?`` placeholders, lists are ``IN (?, ...)``, booleans are 0 and 1, and full
text is FTS5 over the time-keyed index (schema v3).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from camvault.backends import querysql
from camvault.backends.sqlite_fts5 import fts5_match
from camvault.backends.sqlite_rows import EVENT_COLUMNS
from camvault.textquery import Node

__all__ = [
    "COLUMNS",
    "LISTED",
    "SQLITE",
    "data_days",
    "events_histogram",
    "rollup_histogram",
    "select_events",
    "select_listed",
    "where",
    "where_listed",
]

COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)


def _text(query: Node) -> tuple[str, list[Any]]:
    """Return the FTS5 clause of a text query."""
    clause = (
        "e.id IN (SELECT k.event_rowid FROM events_text t JOIN text_keys k "
        "ON k.key = t.rowid WHERE events_text MATCH ?)"
    )
    return clause, [fts5_match(query)]


def _zones_probed(zones: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Return a zone filter that looks each event up in event_zones (walking events)."""
    marks = ", ".join("?" * len(zones))
    return (
        f"EXISTS (SELECT 1 FROM event_zones z WHERE z.event_rowid = e.id AND z.zone IN ({marks}))",
        list(zones),
    )


def _zones_listed(zones: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Return a zone filter that lists the zones' events from event_zones (zone, ts) first."""
    marks = ", ".join("?" * len(zones))
    return (
        f"e.id IN (SELECT z.event_rowid FROM event_zones z WHERE z.zone IN ({marks}))",
        list(zones),
    )


SQLITE = querysql.Dialect(
    mark="?",
    columns=COLUMNS,
    text=_text,
    arrays=False,
    detections="detections d NOT INDEXED",  # the planner seeks by event; see where()
    booleans_as_int=True,
    zones=_zones_probed,
    unrolled=("events e NOT INDEXED", "e.id > (SELECT rolled FROM positions)"),
)
"""SQLite's dialect. A zone filter walks the events (in time or position order) and looks
each up: a page of a common zone, and a follower, read a few events only."""

LISTED = dataclasses.replace(SQLITE, zones=_zones_listed)
"""The dialect that lists a zone's events first: for counts, histograms and a page of a zone
that few events entered, where walking the events would read most of them."""

where = functools.partial(querysql.where, SQLITE)
where_listed = functools.partial(querysql.where, LISTED)
select_events = functools.partial(querysql.select_events, SQLITE)
select_listed = functools.partial(querysql.select_events, LISTED)
data_days = functools.partial(querysql.data_days, SQLITE)
events_histogram = functools.partial(querysql.events_histogram, LISTED)
rollup_histogram = functools.partial(querysql.rollup_histogram, SQLITE)
