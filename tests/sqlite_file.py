"""Look inside a SQLite store's file from a connection of the test's own (engine tests only)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import apsw

from camvault import EventStore


def connect(store: EventStore) -> apsw.Connection:
    """A connection of the test's own to the store's file (found through the public info())."""
    return apsw.Connection(store.info()["path"])


def pending_texts(conn: apsw.Connection) -> int:
    """Descriptions waiting for the text index: listed in fts_pending, or stored above the
    index's mark (schema v7)."""
    found = conn.execute(
        "SELECT (SELECT count(*) FROM fts_pending) + (SELECT count(*) FROM events "
        "WHERE id > (SELECT indexed FROM positions) AND llm_description IS NOT NULL)"
    ).fetchall()
    return int(found[0][0])


def used_bytes(db: Path) -> int:
    """The data in the database file, read on a connection of its own: pages minus free ones."""
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        size, pages, free = (
            conn.execute(f"PRAGMA {name}").fetchall()[0][0]
            for name in ("page_size", "page_count", "freelist_count")
        )
    finally:
        conn.close()
    return int(size * (pages - free))


def read_closed(db: Path, sql: str) -> list[Any]:
    """Rows of plain SQL on a closed store's file, read by the stdlib's own SQLite.

    Only for a file no store in this process has open: two SQLite libraries in one process do
    not see each other's locks.
    """
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()
