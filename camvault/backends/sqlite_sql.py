"""SQL text for SQLite queries: filters, keyset paging, counts and histogram buckets.

Only placeholders carry values; the SQL built here varies in shape, never in data.
"""

from __future__ import annotations

from typing import Any

from camvault.backends.sqlite_fts5 import fts5_match
from camvault.backends.sqlite_rows import EVENT_COLUMNS
from camvault.filters import FILTERS, Test
from camvault.histogram import DAY, HistogramSpec
from camvault.query import QuerySpec
from camvault.rollups import HOUR

__all__ = ["COLUMNS", "bucket_number", "local_time", "select_events", "where"]

COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _compare(column: str, test: Test, value: Any) -> tuple[str, list[Any]]:
    """Return the SQL of one generic filter test on ``column`` and its parameters."""
    if test == "present":
        return f"{column} IS NOT NULL" if value else f"{column} IS NULL", []
    if isinstance(value, tuple):
        return f"{column} IN ({_marks(len(value))})", list(value)
    sql = {"equals": "=", "at_least": ">=", "before": "<"}[test]
    return f"{column} {sql} ?", [int(value) if isinstance(value, bool) else value]


def where(spec: QuerySpec, *, labels: bool = True) -> tuple[list[str], list[Any]]:
    """Return WHERE clauses and parameters for a spec's filters on ``events e``.

    Filters with a generic ``column`` and ``test`` in camvault.filters.FILTERS need no code
    here; the others (labels and confidence over detections, full text) are written out below.
    With ``labels=False`` the label / min_confidence filter is left to the caller (a
    histogram by label joins detections itself).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for f in FILTERS:  # every filter that compares one column: generic SQL from the list
        value = getattr(spec, f.field)
        if f.test is None or f.column is None or not f.is_set(value):
            continue
        clause, values = _compare(f"e.{f.column}", f.test, value)
        clauses.append(clause)
        params.extend(values)
    if spec.text is not None:
        clauses.append(
            "e.id IN (SELECT k.event_rowid FROM events_text t JOIN text_keys k "
            "ON k.key = t.rowid WHERE events_text MATCH ?)"
        )
        params.append(fts5_match(spec.text))
    if labels and (spec.labels or spec.min_confidence is not None):
        # d.ts = e.ts (always true: detections carry their event's ts) lets the planner seek
        # (label, ts) in detections_label_ts instead of scanning every detection of a label
        sub = ["d.event_rowid = e.id", "d.ts = e.ts"]
        if spec.labels:
            sub.append(f"d.label IN ({_marks(len(spec.labels))})")
            params.extend(spec.labels)
        if spec.min_confidence is not None:
            sub.append("d.confidence >= ?")
            params.append(spec.min_confidence)
        clauses.append(f"EXISTS (SELECT 1 FROM detections d NOT INDEXED WHERE {' AND '.join(sub)})")
    return clauses, params


def select_events(spec: QuerySpec) -> tuple[str, list[Any]]:
    """Return the SELECT for one page of events in the spec's order."""
    clauses, params = where(spec)
    newest = spec.order == "newest"
    if spec.after is not None:
        clauses.append("(e.ts, e.id) < (?, ?)" if newest else "(e.ts, e.id) > (?, ?)")
        params.extend(spec.after)
    sql = f"SELECT {COLUMNS} FROM events e"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY e.ts DESC, e.id DESC" if newest else " ORDER BY e.ts, e.id"
    sql += " LIMIT ?"
    params.append(spec.limit)
    return sql, params


def _floor_div(expr: str, width: int) -> str:
    """Return SQL for floor(expr / width), also for negative values (width is a constant)."""
    return f"(({expr}) - ((({expr}) % {width}) + {width}) % {width}) / {width}"


def local_time(spec: HistogramSpec, column: str) -> tuple[str, list[int]]:
    """Return SQL (and parameters) for instant ``column`` on the wall clock of spec.tz."""
    if spec.bucket == "hour":
        return column, []  # hour buckets are UTC hours
    first, *rest = spec.periods
    if not rest:
        return f"{column} + ?", [first[1]]
    cases, params = [], []
    offset = first[1]
    for start, nxt in rest:
        cases.append(f"WHEN {column} < ? THEN {column} + ?")
        params += [start, offset]
        offset = nxt
    params.append(offset)
    return f"CASE {' '.join(cases)} ELSE {column} + ? END", params


def bucket_number(spec: HistogramSpec, local: str) -> str:
    """Return SQL for the bucket number of a wall-clock time named ``local``."""
    return _floor_div(local, HOUR if spec.bucket == "hour" else DAY)
