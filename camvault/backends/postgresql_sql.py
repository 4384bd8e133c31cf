"""SQL text for PostgreSQL: the insert statement, filters, keyset paging, text and histograms.

Only placeholders carry values; the SQL built here varies in shape, never in data. Rows
read back have SQLite's column order (``EVENT_COLUMNS``, JSON as text), so both engines
share one row decoder.
"""

from __future__ import annotations

import functools
from typing import Any

from camvault.backends import querysql
from camvault.backends.sqlite_rows import EVENT_COLUMNS, INSERT_COLUMNS
from camvault.rollups import HOUR
from camvault.textquery import And, Node, Or, Term

__all__ = [
    "COLUMNS",
    "POSTGRES",
    "STAGING",
    "events_histogram",
    "insert_statement",
    "rollup_histogram",
    "select_events",
    "tsquery",
    "where",
]

_JSON = ("detected_objects", "metadata")
COLUMNS = ", ".join(f"e.{c}::text" if c in _JSON else f"e.{c}" for c in EVENT_COLUMNS)
"""The event columns in ``EVENT_COLUMNS`` order, JSON as text (the shared row decoder's)."""

_TYPES = {
    "ts": "bigint",
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

_CAST = {
    "detected_objects": "s.detected_objects::json",
    "metadata": "s.metadata::json",
    "unlock_granted": "s.unlock_granted::boolean",
    "retain": "s.retain::boolean",
}
_UNNEST = (
    "unnest("
    + ", ".join(f"%s::{_TYPES.get(c, 'text')}[]" for c in INSERT_COLUMNS)
    + ") WITH ORDINALITY AS s("
    + ", ".join(INSERT_COLUMNS)
    + ", n)"
)
_HOUR = f"ts - mod(ts, {HOUR})"


def insert_statement(*, staged: bool) -> str:
    """Return the one statement that stores a batch: ids, events, detections, rollups.

    Its rows come from ``camvault_staging`` (``staged``) or from one array per column. The
    first row of each event_id in the batch counts; an event_id already stored is skipped
    (event_ids refuses it whatever its timestamp). Positions are taken under the commit
    lock (``pg_advisory_xact_lock``, the first parameter), held until commit, so positions
    commit in increasing order and rollup cells are never updated by two writers at once.
    Returns (event_id, position) of each stored event.
    """
    source = "camvault_staging s" if staged else _UNNEST
    columns = ", ".join(INSERT_COLUMNS)
    values = ", ".join(_CAST.get(c, f"s.{c}") for c in INSERT_COLUMNS)
    return f"""
WITH lock AS (SELECT pg_advisory_xact_lock(%s)::text AS held),
src AS (SELECT DISTINCT ON (s.event_id) s.* FROM {source} ORDER BY s.event_id, s.n),
ids AS (
    INSERT INTO event_ids (event_id, ts, id)
    SELECT o.event_id, o.ts, nextval('events_id_seq')
    FROM (SELECT src.event_id, src.ts FROM src, lock ORDER BY src.n) o
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, id
),
ev AS (
    INSERT INTO events (id, {columns})
    SELECT ids.id, {values} FROM src s JOIN ids ON ids.event_id = s.event_id
    RETURNING id, event_id, ts, camera_id, person_name, detected_objects
),
det AS (
    INSERT INTO detections (event_rowid, ts, idx, label, confidence, x1, y1, x2, y2)
    SELECT ev.id, ev.ts, o.i - 1, o.v->>'label', (o.v->>'confidence')::float8,
           (o.v->'bbox'->>0)::float8, (o.v->'bbox'->>1)::float8,
           (o.v->'bbox'->>2)::float8, (o.v->'bbox'->>3)::float8
    FROM ev, json_array_elements(ev.detected_objects) WITH ORDINALITY AS o(v, i)
),
labels AS (
    SELECT DISTINCT ev.id, ev.ts, ev.camera_id, o.v->>'label' AS label
    FROM ev, json_array_elements(ev.detected_objects) AS o(v)
),
roll AS (
    INSERT INTO rollup_hourly (dim, hour, camera_id, key, n)
    SELECT c.dim, c.hour, c.camera_id, c.key, count(*) FROM (
        SELECT 'event' AS dim, {_HOUR} AS hour, camera_id, '' AS key FROM ev
        UNION ALL SELECT 'label', {_HOUR}, camera_id, label FROM labels
        UNION ALL SELECT 'person', {_HOUR}, camera_id, person_name FROM ev
        WHERE person_name IS NOT NULL
    ) c
    GROUP BY c.dim, c.hour, c.camera_id, c.key ORDER BY c.dim, c.hour, c.camera_id, c.key
    ON CONFLICT (dim, hour, camera_id, key) DO UPDATE SET n = rollup_hourly.n + excluded.n
),
cam AS (
    INSERT INTO cameras (camera_id, name, created_at)
    SELECT camera_id, NULL, min(ts) FROM ev GROUP BY camera_id ORDER BY camera_id
    ON CONFLICT (camera_id) DO NOTHING
),
pos AS (
    UPDATE positions SET high_water = greatest(high_water, m.top)
    FROM (SELECT max(id) AS top FROM ev) m WHERE m.top IS NOT NULL
)
SELECT event_id, id FROM ev ORDER BY id"""


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


POSTGRES = querysql.Dialect(mark="%s", columns=COLUMNS, text=_text, arrays=True, percent="%%")

where = functools.partial(querysql.where, POSTGRES)
select_events = functools.partial(querysql.select_events, POSTGRES)
events_histogram = functools.partial(querysql.events_histogram, POSTGRES)
rollup_histogram = functools.partial(querysql.rollup_histogram, POSTGRES)
