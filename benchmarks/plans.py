"""EXPLAIN QUERY PLAN of the SQL a camvault read really runs, for reads that miss a goal."""

from __future__ import annotations

import queue
import sqlite3
import time
from collections.abc import Callable
from typing import Any, cast

import apsw

from camvault import EventStore
from camvault.backends.sqlite import SQLiteBackend

Captured = list[tuple[str, tuple[Any, ...]]]


def capture_sql(store: EventStore, call: Callable[[], object]) -> Captured:
    """Run ``call`` once and return the (SQL, bindings) it executed on reader connections."""
    backend = cast(SQLiteBackend, store._backend)
    call()  # make sure a reader connection exists in the pool
    readers: list[apsw.Connection] = []
    with_pool: queue.SimpleQueue[apsw.Connection] = backend._readers
    while True:
        try:
            readers.append(with_pool.get_nowait())
        except queue.Empty:
            break
    seen: Captured = []

    def trace(_cursor: apsw.Cursor, sql: str, bindings: Any) -> bool:
        seen.append((sql, tuple(bindings or ())))
        return True

    for conn in readers:
        conn.exec_trace = trace
        with_pool.put(conn)
    try:
        call()
    finally:
        for conn in readers:
            conn.exec_trace = None
    return seen


def explain(store: EventStore, sql: str, bindings: tuple[Any, ...]) -> list[str]:
    """Return SQLite's query plan of one statement as indented lines."""
    backend = cast(SQLiteBackend, store._backend)
    rows = backend._writer.execute(f"EXPLAIN QUERY PLAN {sql}", bindings).fetchall()
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[int(node or 0)] = depth.get(int(parent or 0), 0) + 1
        lines.append("  " * depth[int(node or 0)] + str(detail))
    return lines


def _sql_ms(store: EventStore, sql: str, bindings: tuple[Any, ...]) -> tuple[float, int]:
    """Median milliseconds (of 5 runs) of a statement alone in SQLite, and its row count."""
    conn = cast(SQLiteBackend, store._backend)._writer
    times, rows = [], 0
    for _ in range(5):
        start = time.perf_counter()
        rows = len(conn.execute(sql, bindings).fetchall())
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)[2], rows


def _short(bindings: tuple[Any, ...], width: int = 160) -> str:
    text = repr(bindings)
    return text if len(text) <= width else f"{text[:width]}... ({len(text):,} chars)"


def plan_report(store: EventStore, what: str, call: Callable[[], object]) -> str:
    """Describe every statement a read runs: SQL, bindings, time alone, rows and plan."""
    start = time.perf_counter()
    call()
    total = (time.perf_counter() - start) * 1e3
    parts = [f"query plan of camvault's {what}:"]
    in_sql = 0.0
    for sql, bindings in capture_sql(store, call):
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        ms, rows = _sql_ms(store, sql, bindings)
        in_sql += ms
        parts.append(f"  SQL ({ms:.2f} ms alone in SQLite, {rows:,} rows): {sql}")
        parts.append(f"  bindings: {_short(bindings)}")
        parts.extend(f"  {line}" for line in explain(store, sql, bindings))
    parts.insert(
        1,
        f"  one call took {total:.2f} ms; its statements alone (fetching rows included) "
        f"{in_sql:.2f} ms; the rest ({max(total - in_sql, 0):.2f} ms) is Python around them",
    )
    return "\n".join(parts)


def baseline_plan(con: sqlite3.Connection, what: str, call: Callable[[], object]) -> str:
    """Describe the statements a baseline read runs, with their query plans."""
    seen: list[str] = []
    con.set_trace_callback(seen.append)
    try:
        call()
    finally:
        con.set_trace_callback(None)
    parts = [f"query plan of the baseline's {what}:"]
    for sql in seen:
        parts.append(f"  SQL: {sql}")
        rows = con.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        depth: dict[int, int] = {0: 0}
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            parts.append("  " + "  " * depth[node] + str(detail))
    return "\n".join(parts)
