"""The full-text index keyed by time: indexing pending descriptions, and one page of a query.

Descriptions are indexed under a time key (schema v3): ``ts * 1024 + n`` with n telling
apart the events of one microsecond, so the index's own order is time order. A page walks
the matches from the cursor on, newest (or oldest) key first, in batches that grow, and
stops as soon as the next key's timestamp is past the page's last row: no match is sorted
that cannot be on the page, however late old events were inserted. Events with a timestamp
outside [1970, 2200), or in a microsecond that already holds 1024 keys, get an unordered key
(from :data:`UNORDERED` up) and are read in full by every page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import apsw

from camvault.backends.sqlite_fts5 import fts5_match
from camvault.backends.sqlite_sql import COLUMNS, where
from camvault.query import QuerySpec

__all__ = ["LANE", "PENDING_TEXTS", "TS_END", "UNORDERED", "index_pending", "text_page"]

LANE = 1024
"""Keys per microsecond: key = ts * LANE + n."""
TS_END = 7_258_118_400_000_000
"""2200-01-01T00:00:00Z in microseconds: timestamps in [0, TS_END) get ordered keys."""
UNORDERED = 8_000_000_000_000_000_000
"""First unordered key (above every ordered one, TS_END * LANE < UNORDERED < 2**63)."""

_GROWTH = 4
_MARKS = "SELECT indexed, (SELECT coalesce(max(id), 0) FROM events) FROM positions"
_NEW_TEXTS = (
    "SELECT id, ts FROM events WHERE id > ? AND llm_description IS NOT NULL ORDER BY id LIMIT ?"
)
"""Described events above the text index's mark, by position (the rowid: a range seek)."""
PENDING_TEXTS = (
    "SELECT EXISTS (SELECT 1 FROM fts_pending) OR EXISTS (SELECT 1 FROM events "
    "WHERE id > (SELECT indexed FROM positions) AND llm_description IS NOT NULL)"
)
"""1 when a description waits for the index, else 0."""


def index_pending(conn: apsw.Connection, limit: int = -1) -> bool:
    """Give waiting descriptions their time keys and index them (one segment for all).

    What waits: described events stored above ``positions.indexed`` (schema v7), and those
    at or below it whose text or time changed (``fts_pending``). ``limit`` bounds how many
    events one call takes, oldest first (-1: all of them); returns True when more may wait.
    """
    changed: list[Any] = conn.execute(  # LEFT JOIN: seek each listed row, never scan events
        "SELECT p.rowid, e.ts, e.llm_description IS NOT NULL FROM fts_pending p "
        "LEFT JOIN events e ON e.id = p.rowid ORDER BY p.rowid LIMIT ?",
        (limit,),
    ).fetchall()
    if changed:
        conn.execute("DELETE FROM fts_pending WHERE rowid <= ?", (changed[-1][0],))
    room = limit - len(changed) if limit >= 0 else -1
    more = room == 0
    new: list[Any] = []
    if room:
        marks: Any = conn.execute(_MARKS).fetchall()[0]
        mark, last = marks
        new = conn.execute(_NEW_TEXTS, (mark, room)).fetchall()
        more = len(new) == room
        upto = new[-1][0] if more else last  # past undescribed events too
        if upto > mark:
            conn.execute("UPDATE positions SET indexed = ?", (upto,))
    rows = [(ts, rowid) for rowid, ts, described in changed if described]
    rows += [(ts, rowid) for rowid, ts in new]
    if not rows:
        return more
    rows.sort()  # by (ts, id); usually sorted already, which makes this cheap
    ordered = [(ts, rowid) for ts, rowid in rows if 0 <= ts < TS_END]
    taken = _lanes_in_use(conn, ordered)
    pairs: list[tuple[int, int]] = []
    overflow: list[int] = []
    last_lane, n = -1, 0
    for ts, rowid in ordered:
        if ts != last_lane:
            last_lane = ts
            n = taken(ts)
        if n < LANE:
            pairs.append((ts * LANE + n, rowid))
            n += 1
        else:
            overflow.append(rowid)
    overflow += [rowid for ts, rowid in rows if not 0 <= ts < TS_END]
    if overflow:
        top: Any = conn.execute("SELECT max(key) FROM text_keys").fetchall()[0][0]
        first = max(UNORDERED, (top or 0) + 1)
        pairs += [(first + i, rowid) for i, rowid in enumerate(sorted(overflow))]
    conn.executemany("INSERT INTO text_keys (key, event_rowid) VALUES (?, ?)", pairs)
    # one statement for all: FTS5 writes a segment at the end of every statement
    conn.execute(
        "INSERT INTO events_text (rowid, llm_description) SELECT j.value ->> 0, e.llm_description "
        "FROM json_each(?) j CROSS JOIN events e ON e.id = j.value ->> 1",
        (json.dumps(pairs),),
    )
    return more


def _lanes_in_use(conn: apsw.Connection, ordered: list[tuple[int, int]]) -> Callable[[int], int]:
    """Return a function giving the first free n of a microsecond's lane.

    New events usually land in microseconds nobody holds yet (live events are the newest,
    an imported history its own stretch of time), so one range check usually answers all.
    """
    if not ordered:
        return lambda ts: 0
    lo, hi = ordered[0][0] * LANE, (ordered[-1][0] + 1) * LANE
    busy = conn.execute(
        "SELECT 1 FROM text_keys WHERE key >= ? AND key < ? LIMIT 1", (lo, hi)
    ).fetchall()
    if not busy:
        return lambda ts: 0

    def first_free(ts: int) -> int:
        row: Any = conn.execute(
            "SELECT max(key) FROM text_keys WHERE key >= ? AND key < ?",
            (ts * LANE, (ts + 1) * LANE),
        ).fetchall()[0]
        return 0 if row[0] is None else int(row[0]) - ts * LANE + 1

    return first_free


def _key_range(spec: QuerySpec) -> tuple[int, int]:
    """Return the ordered keys [lo, hi) that can hold the page's events."""
    lo, hi = 0, UNORDERED
    newest = spec.order == "newest"
    if spec.since is not None:
        lo = max(lo, spec.since * LANE)
    if spec.until is not None:
        hi = min(hi, spec.until * LANE)
    if spec.after is not None:
        if newest:
            hi = min(hi, (spec.after[0] + 1) * LANE)
        else:
            lo = max(lo, spec.after[0] * LANE)
    return max(lo, 0), min(hi, UNORDERED)


def text_page(conn: apsw.Connection, spec: QuerySpec) -> list[Any]:
    """Return the rows of one page of a text query, exactly as the plain plan would."""
    newest = spec.order == "newest"
    match = fts5_match(spec.text) if spec.text is not None else ""
    clauses, params = where(replace(spec, text=None))
    if spec.after is not None:
        clauses.append("(e.ts, e.id) < (?, ?)" if newest else "(e.ts, e.id) > (?, ?)")
        params.extend(spec.after)
    rows_sql = (
        f"SELECT {COLUMNS} FROM text_keys k JOIN events e ON e.id = k.event_rowid "
        "WHERE k.key IN (SELECT value FROM json_each(?))" + "".join(f" AND {c}" for c in clauses)
    )

    def rows_of(keys: list[int]) -> list[Any]:
        return conn.execute(rows_sql, (json.dumps(keys), *params)).fetchall() if keys else []

    def by_time(rows: list[Any]) -> list[Any]:
        return sorted(rows, key=lambda r: (r[2], r[0]), reverse=newest)[: spec.limit]

    best: list[Any] = []
    unordered = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM text_keys WHERE key >= ?)", (UNORDERED,)
    ).fetchall()
    if unordered[0][0]:
        keys = [
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM events_text WHERE events_text MATCH ? AND rowid >= ?",
                (match, UNORDERED),
            )
        ]
        best = by_time(rows_of(keys))
    lo, hi = _key_range(spec)
    walk = (
        "SELECT rowid FROM events_text WHERE events_text MATCH ? AND rowid >= ? AND rowid < ? "
        f"ORDER BY rowid {'DESC' if newest else 'ASC'} LIMIT ?"
    )

    batch = spec.limit + 1
    while lo < hi:
        keys = [r[0] for r in conn.execute(walk, (match, lo, hi, batch))]
        best = by_time([*best, *rows_of(keys)])
        if len(keys) < batch:
            break  # every match in range has been seen
        edge = keys[-1]
        if newest:
            hi = edge
        else:
            lo = edge + 1
        if len(best) == spec.limit:
            # every unseen key is past the edge, so its event is at or past the edge's time
            edge_ts, last_ts = edge // LANE, best[-1][2]
            if edge_ts == last_ts:  # only the rest of that microsecond can still be on the page
                lane = (
                    (max(lo, edge_ts * LANE), hi) if newest else (lo, min(hi, (edge_ts + 1) * LANE))
                )
                rest = [r[0] for r in conn.execute(walk, (match, *lane, LANE))]
                return by_time([*best, *rows_of(rest)])
            if (edge_ts < last_ts) if newest else (edge_ts > last_ts):
                break
        batch *= _GROWTH
    return best
