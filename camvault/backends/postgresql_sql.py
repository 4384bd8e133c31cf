"""SQL text for PostgreSQL: the insert statement, filters, keyset paging, text and histograms.

Only placeholders carry values; the SQL built here varies in shape, never in data. Rows
read back have SQLite's column order (``EVENT_COLUMNS``, JSON as text), so both engines
share one row decoder.
"""

from __future__ import annotations

from typing import Any

from camvault.backends.sqlite_rows import EVENT_COLUMNS, INSERT_COLUMNS
from camvault.filters import FILTERS, Test
from camvault.histogram import DAY, HistogramSpec, RollupPlan
from camvault.query import QuerySpec
from camvault.rollups import HOUR
from camvault.textquery import And, Node, Or, Term

__all__ = [
    "COLUMNS",
    "STAGING",
    "bucket_number",
    "insert_statement",
    "local_time",
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


def _compare(column: str, test: Test, value: Any) -> tuple[str, list[Any]]:
    """Return the SQL of one generic filter test on ``column`` and its parameters."""
    if test == "present":
        return f"{column} IS NOT NULL" if value else f"{column} IS NULL", []
    if isinstance(value, tuple):
        return f"{column} = ANY(%s)", [list(value)]
    sql = {"equals": "=", "at_least": ">=", "before": "<"}[test]
    return f"{column} {sql} %s", [value]


def where(spec: QuerySpec, *, labels: bool = True) -> tuple[list[str], list[Any]]:
    """Return WHERE clauses and parameters for a spec's filters on ``events e``.

    Filters with a generic column and test in camvault.filters.FILTERS need no code here;
    labels and confidence (over detections) and full text are written out below. With
    ``labels=False`` the label filter is left to the caller (a histogram by label).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for f in FILTERS:
        value = getattr(spec, f.field)
        if f.test is None or f.column is None or not f.is_set(value):
            continue
        clause, values = _compare(f"e.{f.column}", f.test, value)
        clauses.append(clause)
        params.extend(values)
    if spec.text is not None:
        clauses.append(
            "e.llm_description IS NOT NULL AND e.tsv @@ to_tsquery('english'::regconfig, %s)"
        )
        params.append(tsquery(spec.text))
    if labels and (spec.labels or spec.min_confidence is not None):
        sub = ["d.event_rowid = e.id", "d.ts = e.ts"]
        if spec.labels:
            sub.append("d.label = ANY(%s)")
            params.append(list(spec.labels))
        if spec.min_confidence is not None:
            sub.append("d.confidence >= %s")
            params.append(spec.min_confidence)
        clauses.append(f"EXISTS (SELECT 1 FROM detections d WHERE {' AND '.join(sub)})")
    return clauses, params


def select_events(spec: QuerySpec) -> tuple[str, list[Any]]:
    """Return the SELECT for one page of events in the spec's order."""
    clauses, params = where(spec)
    newest = spec.order == "newest"
    if spec.after is not None:
        clauses.append("(e.ts, e.id) < (%s, %s)" if newest else "(e.ts, e.id) > (%s, %s)")
        params.extend(spec.after)
    sql = f"SELECT {COLUMNS} FROM events e"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY e.ts DESC, e.id DESC" if newest else " ORDER BY e.ts, e.id"
    sql += " LIMIT %s"
    params.append(spec.limit)
    return sql, params


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


def _floor_div(expr: str, width: int) -> str:
    """Return SQL for floor(expr / width), also for negative values (width is a constant)."""
    return f"(({expr}) - mod(mod({expr}, {width}) + {width}, {width})) / {width}"


def local_time(spec: HistogramSpec, column: str) -> tuple[str, list[int]]:
    """Return SQL (and parameters) for instant ``column`` on the wall clock of spec.tz."""
    if spec.bucket == "hour":
        return column, []
    first, *rest = spec.periods
    if not rest:
        return f"{column} + %s::bigint", [first[1]]
    cases, params = [], []
    offset = first[1]
    for start, nxt in rest:
        cases.append(f"WHEN {column} < %s::bigint THEN {column} + %s::bigint")
        params += [start, offset]
        offset = nxt
    params.append(offset)
    return f"CASE {' '.join(cases)} ELSE {column} + %s::bigint END", params


def bucket_number(spec: HistogramSpec, local: str) -> str:
    """Return SQL for the bucket number of a wall-clock time named ``local``."""
    return _floor_div(local, HOUR if spec.bucket == "hour" else DAY)


def rollup_histogram(
    spec: HistogramSpec, plan: RollupPlan, lo: int | None, hi: int | None
) -> tuple[str, list[Any]]:
    """Histogram SQL over the hourly rollups for whole hours in [lo, hi)."""
    local, local_params = local_time(spec, "hour")
    clauses: list[str] = ["dim = %s"]
    params: list[Any] = [plan.dim]
    if lo is not None:
        clauses.append("hour >= %s")
        params.append(lo)
    if hi is not None:
        clauses.append("hour < %s")
        params.append(hi)
    if spec.filters.camera_ids:
        clauses.append("camera_id = ANY(%s)")
        params.append(list(spec.filters.camera_ids))
    if plan.keys:
        clauses.append("key = ANY(%s)")
        params.append(list(plan.keys))
    key = {"key": "key", "camera_id": "camera_id"}.get(plan.group or "", "NULL::text")
    inner = f"SELECT {local} AS lt, {key} AS k, n FROM rollup_hourly WHERE {' AND '.join(clauses)}"
    sql = f"SELECT {bucket_number(spec, 'lt')}, k, sum(n) FROM ({inner}) r GROUP BY 1, 2"
    return sql, [*local_params, *params]


def events_histogram(spec: HistogramSpec, f: QuerySpec) -> tuple[str, list[Any]]:
    """Histogram SQL that counts events (and detections) directly."""
    local, local_params = local_time(spec, "e.ts")
    if spec.by == "label":
        clauses, params = where(f, labels=False)
        if f.labels:
            clauses.append("d.label = ANY(%s)")
            params.append(list(f.labels))
        if f.min_confidence is not None:
            clauses.append("d.confidence >= %s")
            params.append(f.min_confidence)
        source = "events e JOIN detections d ON d.event_rowid = e.id AND d.ts = e.ts"
        key, counted = "d.label", "count(DISTINCT id)"
    else:
        clauses, params = where(f)
        source = "events e"
        key = {"camera_id": "e.camera_id", "person_name": "e.person_name"}.get(
            spec.by or "", "NULL::text"
        )
        if spec.by == "person_name":
            clauses.append("e.person_name IS NOT NULL")
        counted = "count(*)"
    inner = f"SELECT {local} AS lt, {key} AS k, e.id AS id FROM {source}"
    if clauses:
        inner += " WHERE " + " AND ".join(clauses)
    sql = f"SELECT {bucket_number(spec, 'lt')}, k, {counted} FROM ({inner}) h GROUP BY 1, 2"
    return sql, [*local_params, *params]
