"""SQL text for PostgreSQL: storing a batch, filters, keyset paging, text and histograms.

Only placeholders carry values; the SQL built here varies in shape, never in data. Rows
read back have SQLite's column order (``EVENT_COLUMNS``, JSON as text), so both engines
share one row decoder.
"""

from __future__ import annotations

import functools
from typing import Any

from camvault.backends import querysql
from camvault.backends.sqlite_rows import EVENT_COLUMNS, INSERT_COLUMNS
from camvault.textquery import And, Node, Or, Term

__all__ = [
    "COLUMNS",
    "INSERT_ARRAYS",
    "INSERT_STAGED",
    "POSTGRES",
    "STAGING",
    "data_days",
    "events_histogram",
    "rollup_histogram",
    "select_events",
    "tsquery",
    "where",
]

_JSON = ("detected_objects", "metadata")
_READ = {c: f"e.{c}::text" for c in _JSON} | {"zones": "to_json(e.zones)::text"}
COLUMNS = ", ".join(_READ.get(c, f"e.{c}") for c in EVENT_COLUMNS)
"""The event columns in ``EVENT_COLUMNS`` order, JSON as text (the shared row decoder's)."""

_TYPES = {
    "ts": "bigint",
    "end_time": "bigint",
    "motion_confidence": "float8",
    "face_confidence": "float8",
    "face_distance": "float8",
    "unlock_granted": "int",
    "retain": "int",
}
"""Column types of a row as ``event_to_row`` builds it (text unless named here)."""

STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS camvault_staging ("
    + ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in INSERT_COLUMNS)
    + ", n bigint) ON COMMIT DELETE ROWS"
)
"""The per-connection table a bulk insert COPYs its rows into."""

_ARRAYS = ", ".join(f"%s::{_TYPES.get(c, 'text')}[]" for c in INSERT_COLUMNS)
INSERT_ARRAYS = f"SELECT stored_event_id, stored_id FROM store_events(%s, {_ARRAYS})"
"""Store a batch given as one array per column (schema v2's store_events: one statement)."""

_AGGREGATES = ", ".join(f"array_agg({c} ORDER BY n)" for c in INSERT_COLUMNS)
INSERT_STAGED = (
    f"SELECT f.stored_event_id, f.stored_id FROM (SELECT {_AGGREGATES} FROM camvault_staging) a"
    f"({', '.join(INSERT_COLUMNS)}), LATERAL store_events(%s, "
    + ", ".join(f"a.{c}" for c in INSERT_COLUMNS)
    + ") f"
)
"""Store the batch COPYed into ``camvault_staging``, in the order it was copied."""


def _lexeme(term: Term) -> str:
    """Return a term as a quoted tsquery operand (a phrase when it holds several words)."""
    quoted = "'" + term.text.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if term.prefix else quoted


def tsquery(node: Node) -> str:
    """Compile a parsed text query into ``to_tsquery`` input (``&``, ``|``, ``!``, ``<->``)."""
    if isinstance(node, Term):
        return _lexeme(node)
    if isinstance(node, Or):
        return "(" + " | ".join(tsquery(item) for item in node.items) + ")"
    if isinstance(node, And):
        return "(" + " & ".join(tsquery(item) for item in node.items) + ")"
    return "(" + " & ".join([tsquery(node.keep), *(f"!{tsquery(d)}" for d in node.drop)]) + ")"


def _text(query: Node) -> tuple[str, list[Any]]:
    """Return the tsvector clause of a text query (the GIN index is partial: non-NULL text)."""
    clause = "e.llm_description IS NOT NULL AND e.tsv @@ to_tsquery('english'::regconfig, %s)"
    return clause, [tsquery(query)]


def _zones(zones: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Return the clause of a zone filter: zones overlap (the GIN index on zones)."""
    return "e.zones && %s::text[]", [list(zones)]


POSTGRES = querysql.Dialect(
    mark="%s",
    columns=COLUMNS,
    text=_text,
    arrays=True,
    percent="%%",
    zones=_zones,
    byte_order=' COLLATE "C"',
    times="event_ids",
)

where = functools.partial(querysql.where, POSTGRES)
select_events = functools.partial(querysql.select_events, POSTGRES)
data_days = functools.partial(querysql.data_days, POSTGRES)
events_histogram = functools.partial(querysql.events_histogram, POSTGRES)
rollup_histogram = functools.partial(querysql.rollup_histogram, POSTGRES)
