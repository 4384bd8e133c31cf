"""SQL text every engine shares: filters, keyset pages and histograms, in a small dialect.

The engines differ in how a value is marked (``?`` or ``%s``), how a list is matched, how
the remainder is written and how full text is searched; a :class:`Dialect` holds those
differences and everything else is written once here. Only placeholders carry values: the
SQL varies in shape, never in data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from camvault.filters import FILTERS, Test
from camvault.histogram import DAY, HistogramSpec, RollupPlan
from camvault.query import QuerySpec
from camvault.rollups import HOUR
from camvault.textquery import Node

__all__ = [
    "Dialect",
    "bucket_number",
    "data_days",
    "events_histogram",
    "local_time",
    "rollup_histogram",
    "select_events",
    "where",
]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one engine writes differently."""

    mark: str
    """The placeholder of one value."""
    columns: str
    """The event columns read back, in the shared row decoder's order."""
    text: Callable[[Node], tuple[str, list[Any]]]
    """The clause (and parameters) of a full-text query on ``events e``."""
    arrays: bool
    """True: a list is one array parameter (``= ANY(%s)``); False: ``IN (?, ?, ...)``."""
    detections: str = "detections d"
    """How the label filter names the detections table (SQLite adds an index hint)."""
    booleans_as_int: bool = False
    """True when boolean columns hold 0 and 1."""
    percent: str = "%"
    """The remainder operator as the driver wants it written (psycopg: ``%%``)."""
    zones: Callable[[tuple[str, ...]], tuple[str, list[Any]]] | None = None
    """The clause (and parameters) of events that entered any of these zones."""
    byte_order: str = ""
    """What makes a text comparison byte-ordered (PostgreSQL: ``COLLATE "C"``)."""
    times: str = "events"
    """A table whose indexed ``ts`` holds the time of every event (PostgreSQL: event_ids,
    one table rather than a partition per month)."""
    unrolled: tuple[str, str] | None = None
    """The events the hourly rollups do not count yet: a ``FROM`` item named ``e`` that reads
    them in position order, and the clause that picks them (SQLite); None: the rollups count
    every event as it commits."""

    def one_of(
        self, column: str, values: tuple[Any, ...], *, ordered: bool = True
    ) -> tuple[str, list[Any]]:
        """Return ``column`` matching any of ``values``, and the parameters.

        One value is a plain ``=`` when ``ordered``: an index leading with the column then
        also gives the order of a page (newest 50 of a camera).
        """
        if len(values) == 1 and ordered:
            return f"{column} = {self.mark}", [values[0]]
        if self.arrays:
            return f"{column} = ANY({self.mark})", [list(values)]
        return f"{column} IN ({', '.join([self.mark] * len(values))})", list(values)


def _compare(d: Dialect, column: str, test: Test, value: Any) -> tuple[str, list[Any]]:
    """Return the SQL of one generic filter test on ``column`` and its parameters."""
    if test in ("present", "absent"):
        return f"{column} IS NOT NULL" if value == (test == "present") else f"{column} IS NULL", []
    if isinstance(value, tuple):
        return d.one_of(column, value)
    sql = {"equals": "=", "at_least": ">=", "before": "<"}[test]
    if isinstance(value, bool) and d.booleans_as_int:
        value = int(value)
    return f"{column} {sql} {d.mark}", [value]


def _plate(d: Dialect, plate: str) -> tuple[str, list[Any]]:
    """Return the clause of a plate filter: equal, or a byte-ordered range for ``AB1*``.

    The range [AB1, AB2) holds exactly the plates that start with AB1 in byte order, which
    an index on the plate reads directly.
    """
    column = f"e.license_plate{d.byte_order}"
    if not plate.endswith("*"):
        return f"{column} = {d.mark}", [plate]
    prefix = plate[:-1]
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return f"{column} >= {d.mark} AND {column} < {d.mark}", [prefix, upper]


def where(d: Dialect, spec: QuerySpec, *, labels: bool = True) -> tuple[list[str], list[Any]]:
    """Return WHERE clauses and parameters for a spec's filters on ``events e``.

    Filters with a generic ``column`` and ``test`` in camvault.filters.FILTERS need no code
    here; labels and confidence (over detections) and full text are written out below. With
    ``labels=False`` the label filter is left to the caller (a histogram by label joins
    detections itself).
    """
    clauses: list[str] = []
    params: list[Any] = []
    for f in FILTERS:
        value = getattr(spec, f.field)
        if f.test is None or f.column is None or not f.is_set(value):
            continue
        clause, values = _compare(d, f"e.{f.column}", f.test, value)
        clauses.append(clause)
        params.extend(values)
    if spec.zones and d.zones is not None:
        clause, values = d.zones(spec.zones)
        clauses.append(clause)
        params.extend(values)
    if spec.license_plate is not None:
        clause, values = _plate(d, spec.license_plate)
        clauses.append(clause)
        params.extend(values)
    if spec.text is not None:
        clause, values = d.text(spec.text)
        clauses.append(clause)
        params.extend(values)
    if labels and (spec.labels or spec.min_confidence is not None):
        # d.ts = e.ts (always true: detections carry their event's ts) lets the planner seek
        # (label, ts) in detections_label_ts instead of scanning every detection of a label
        sub = ["d.event_rowid = e.id", "d.ts = e.ts"]
        if spec.labels:
            # never a plain = here: PostgreSQL would then walk detections_label_ts from the
            # newest detection of the label down to the window (a merge semi join, 60 ms on
            # 1M events) instead of probing each event's detections (0.5 ms)
            clause, values = d.one_of("d.label", spec.labels, ordered=False)
            sub.append(clause)
            params.extend(values)
        if spec.min_confidence is not None:
            sub.append(f"d.confidence >= {d.mark}")
            params.append(spec.min_confidence)
        clauses.append(f"EXISTS (SELECT 1 FROM {d.detections} WHERE {' AND '.join(sub)})")
    return clauses, params


def select_events(d: Dialect, spec: QuerySpec) -> tuple[str, list[Any]]:
    """Return the SELECT for one page of events in the spec's order."""
    clauses, params = where(d, spec)
    newest = spec.order == "newest"
    if spec.after is not None:
        after = f"({d.mark}, {d.mark})"
        clauses.append(f"(e.ts, e.id) < {after}" if newest else f"(e.ts, e.id) > {after}")
        params.extend(spec.after)
    sql = f"SELECT {d.columns} FROM events e"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY e.ts DESC, e.id DESC" if newest else " ORDER BY e.ts, e.id"
    sql += f" LIMIT {d.mark}"
    params.append(spec.limit)
    return sql, params


def _floor_div(d: Dialect, expr: str, width: int) -> str:
    """Return SQL for floor(expr / width), also for negative values (width is a constant)."""
    remainder = f"((({expr}) {d.percent} {width}) + {width}) {d.percent} {width}"
    return f"(({expr}) - {remainder}) / {width}"


def local_time(d: Dialect, spec: HistogramSpec, column: str) -> tuple[str, list[int]]:
    """Return SQL (and parameters) for instant ``column`` on the wall clock of spec.tz."""
    if spec.bucket == "hour":
        return column, []  # hour buckets are UTC hours
    first, *rest = spec.periods
    if not rest:
        return f"{column} + {d.mark}", [first[1]]
    cases, params = [], []
    offset = first[1]
    for start, nxt in rest:
        cases.append(f"WHEN {column} < {d.mark} THEN {column} + {d.mark}")
        params += [start, offset]
        offset = nxt
    params.append(offset)
    return f"CASE {' '.join(cases)} ELSE {column} + {d.mark} END", params


def data_days(d: Dialect, lo: int, hi: int) -> tuple[str, list[Any]]:
    """Return SQL for the starts of the UTC days holding events in [lo, hi), ascending.

    One index seek per such day (the first event at or after the next day), so a store with
    two events 230 years apart answers in two seeks. Stored times are never before 1970.
    """
    day = f"d - d {d.percent} {DAY}"
    first = f"SELECT min(ts) FROM {d.times} WHERE ts >= {d.mark} AND ts < {d.mark}"
    sql = (
        f"WITH RECURSIVE days(d) AS (SELECT ({first}) "
        f"UNION ALL SELECT (SELECT min(ts) FROM {d.times} WHERE ts >= {day} + {DAY}"
        f" AND ts < {d.mark}) FROM days WHERE d IS NOT NULL) "
        f"SELECT {day} FROM days WHERE d IS NOT NULL"
    )
    return sql, [lo, hi, hi]


def bucket_number(d: Dialect, spec: HistogramSpec, local: str) -> str:
    """Return SQL for the bucket number of a wall-clock time named ``local``."""
    return _floor_div(d, local, HOUR if spec.bucket == "hour" else DAY)


def events_histogram(
    d: Dialect, spec: HistogramSpec, f: QuerySpec, *, unrolled: bool = False
) -> tuple[str, list[Any]]:
    """Histogram SQL that counts events (and detections) directly.

    ``unrolled``: count only the events the rollups do not count yet (``Dialect.unrolled``),
    which complete a count read from the rollups.
    """
    local, local_params = local_time(d, spec, "e.ts")
    events, join = "events e", "JOIN"
    clauses, params = where(d, f, labels=spec.by != "label")
    if unrolled:
        if d.unrolled is None:
            raise ValueError("this engine's rollups count every event as it commits")
        events, picked = d.unrolled
        join = "CROSS JOIN"  # the few new events first, then their detections
        clauses.append(picked)
    if spec.by == "label":
        if f.labels:
            clause, values = d.one_of("d.label", f.labels)
            clauses.append(clause)
            params.extend(values)
        if f.min_confidence is not None:
            clauses.append(f"d.confidence >= {d.mark}")
            params.append(f.min_confidence)
        source = f"{events} {join} detections d ON d.event_rowid = e.id AND d.ts = e.ts"
        key, counted = "d.label", "count(DISTINCT id)"
    else:
        source = events
        key = {"camera_id": "e.camera_id", "person_name": "e.person_name"}.get(
            spec.by or "", "CAST(NULL AS TEXT)"
        )
        if spec.by == "person_name":
            clauses.append("e.person_name IS NOT NULL")
        counted = "count(*)"
    inner = f"SELECT {local} AS lt, {key} AS k, e.id AS id FROM {source}"
    if clauses:
        inner += " WHERE " + " AND ".join(clauses)
    number = bucket_number(d, spec, "lt")
    sql = f"SELECT {number}, k, {counted} FROM ({inner}) h GROUP BY 1, 2"
    return sql, [*local_params, *params]


def rollup_histogram(
    d: Dialect, spec: HistogramSpec, plan: RollupPlan, lo: int | None, hi: int | None
) -> tuple[str, list[Any]]:
    """Histogram SQL over the hourly rollups for whole hours in [lo, hi).

    Without a camera filter or grouping, the counts over all cameras (``rollup_all``) answer
    with one cell per hour instead of one per camera and hour.
    """
    local, local_params = local_time(d, spec, "hour")
    cameras = bool(spec.filters.camera_ids) or plan.group == "camera_id"
    clauses: list[str] = [f"dim = {d.mark}"]
    params: list[Any] = [plan.dim]
    if lo is not None:
        clauses.append(f"hour >= {d.mark}")
        params.append(lo)
    if hi is not None:
        clauses.append(f"hour < {d.mark}")
        params.append(hi)
    for column, values in (("camera_id", spec.filters.camera_ids), ("key", plan.keys)):
        if values:
            clause, found = d.one_of(column, values)
            clauses.append(clause)
            params.extend(found)
    key = {"key": "key", "camera_id": "camera_id"}.get(plan.group or "", "CAST(NULL AS TEXT)")
    table = "rollup_hourly" if cameras else "rollup_all"
    inner = f"SELECT {local} AS lt, {key} AS k, n FROM {table} WHERE {' AND '.join(clauses)}"
    number = bucket_number(d, spec, "lt")
    return (
        f"SELECT {number}, k, sum(n) FROM ({inner}) r GROUP BY 1, 2 HAVING sum(n) <> 0",
        [*local_params, *params],
    )
