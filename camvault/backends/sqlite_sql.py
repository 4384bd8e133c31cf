"""SQL text for SQLite queries: filters, keyset paging, counts and histogram buckets.

Only placeholders carry values; the SQL built here varies in shape, never in data.
"""

from __future__ import annotations

from typing import Any

from camvault.backends.sqlite_rows import EVENT_COLUMNS
from camvault.histogram import DAY, HistogramSpec
from camvault.query import QuerySpec
from camvault.rollups import HOUR

__all__ = ["COLUMNS", "bucket_number", "local_time", "select_events", "where"]

COLUMNS = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def where(spec: QuerySpec, *, labels: bool = True) -> tuple[list[str], list[Any]]:
    """Return WHERE clauses and parameters for a spec's filters on ``events e``.

    With ``labels=False`` the label / min_confidence filter is left to the caller (a
    histogram by label joins detections itself).
    """
    clauses: list[str] = []
    params: list[Any] = []
    if spec.camera_ids:
        clauses.append(f"e.camera_id IN ({_marks(len(spec.camera_ids))})")
        params.extend(spec.camera_ids)
    if spec.since is not None:
        clauses.append("e.ts >= ?")
        params.append(spec.since)
    if spec.until is not None:
        clauses.append("e.ts < ?")
        params.append(spec.until)
    if spec.person_name is not None:
        clauses.append("e.person_name = ?")
        params.append(spec.person_name)
    if spec.door_actions:
        clauses.append(f"e.door_action IN ({_marks(len(spec.door_actions))})")
        params.extend(spec.door_actions)
    if spec.unlock_granted is not None:
        clauses.append("e.unlock_granted = ?")
        params.append(int(spec.unlock_granted))
    if spec.has_thumbnail is not None:
        clauses.append(
            "e.thumbnail_path IS NOT NULL" if spec.has_thumbnail else "e.thumbnail_path IS NULL"
        )
    if spec.text is not None:
        clauses.append(
            "e.id IN (SELECT k.event_rowid FROM events_text t JOIN text_keys k "
            "ON k.key = t.rowid WHERE events_text MATCH ?)"
        )
        params.append(spec.text)
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
