"""One page of a full-text query, found without sorting every match.

A common word can match a quarter of a million events; ordering all of them by time to keep
fifty costs a second. Instead, matches are read from the FTS index in rowid order, newest
rowid first (rowid order follows insertion, which mostly follows time), in batches that
double, keeping the best ``limit`` rows by (ts, id). The walk stops once an indexed check
proves that no event with a smaller rowid can fall between the page's last row and the
cursor, so the page is exact even when old events were inserted late.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import apsw

from camvault.backends.sqlite_sql import COLUMNS, where
from camvault.query import QuerySpec

__all__ = ["text_page"]

_FIRST_BATCH = 256


def text_page(conn: apsw.Connection, spec: QuerySpec) -> list[Any]:
    """Return the rows of one page of a text query, exactly as the plain plan would."""
    newest = spec.order == "newest"
    clauses, params = where(replace(spec, text=None))
    if spec.after is not None:
        clauses.append("(e.ts, e.id) < (?, ?)" if newest else "(e.ts, e.id) > (?, ?)")
        params.extend(spec.after)
    filters = "".join(f" AND {c}" for c in clauses)
    order = "DESC" if newest else "ASC"
    beyond = "rowid < ?" if newest else "rowid > ?"
    best: list[Any] = []
    edge: int | None = None
    batch = max(_FIRST_BATCH, 4 * spec.limit)
    while True:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM events_fts WHERE events_fts MATCH ?"
                + (f" AND {beyond}" if edge is not None else "")
                + f" ORDER BY rowid {order} LIMIT ?",
                (spec.text, edge, batch) if edge is not None else (spec.text, batch),
            )
        ]
        if ids:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM events e WHERE e.id IN (SELECT value FROM json_each(?))"
                + filters,
                (json.dumps(ids), *params),
            ).fetchall()
            best = sorted([*best, *rows], key=lambda r: (r[2], r[0]), reverse=newest)
            best = best[: spec.limit]
        if len(ids) < batch:
            return best  # every match has been seen
        edge = ids[-1]
        if len(best) == spec.limit and not _unseen_could_come_between(conn, spec, best[-1], edge):
            return best
        batch *= 2


def _unseen_could_come_between(
    conn: apsw.Connection, spec: QuerySpec, last: Any, edge: int
) -> bool:
    """Whether any event past ``edge`` in rowid order sorts between ``last`` and the cursor."""
    newest = spec.order == "newest"
    sql = (
        "SELECT 1 FROM events e WHERE e.id < ? AND e.ts >= ? AND (e.ts, e.id) > (?, ?)"
        if newest
        else "SELECT 1 FROM events e WHERE e.id > ? AND e.ts <= ? AND (e.ts, e.id) < (?, ?)"
    )
    params: list[Any] = [edge, last[2], last[2], last[0]]
    if spec.after is not None:
        sql += " AND (e.ts, e.id) < (?, ?)" if newest else " AND (e.ts, e.id) > (?, ?)"
        params.extend(spec.after)
    return bool(conn.execute(sql + " LIMIT 1", params).fetchall())
