"""SQL text for SQLite: the shared query SQL (camvault.backends.querysql) in SQLite's dialect.

Values are ``?`` placeholders, lists are ``IN (?, ...)``, booleans are 0 and 1, and full
text is FTS5 over the time-keyed index (schema v3).
"""

from __future__ import annotations

import functools
from typing import Any

from camvault.backends import querysql
from camvault.backends.sqlite_fts5 import fts5_match
from camvault.backends.sqlite_rows import EVENT_COLUMNS
from camvault.textquery import Node

__all__ = [
    "COLUMNS",
    "SQLITE",
    "events_histogram",
    "rollup_histogram",
    "select_events",
    "where",
]

COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)


def _text(query: Node) -> tuple[str, list[Any]]:
    """Return the FTS5 clause of a text query."""
    clause = (
        "e.id IN (SELECT k.event_rowid FROM events_text t JOIN text_keys k "
        "ON k.key = t.rowid WHERE events_text MATCH ?)"
    )
    return clause, [fts5_match(query)]


def _zones(zones: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Return the clause of a zone filter: the events listed under those zones."""
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
    zones=_zones,
)

where = functools.partial(querysql.where, SQLITE)
select_events = functools.partial(querysql.select_events, SQLITE)
events_histogram = functools.partial(querysql.events_histogram, SQLITE)
rollup_histogram = functools.partial(querysql.rollup_histogram, SQLITE)
