"""Look inside a SQLite store's file from a connection of the test's own (engine tests only)."""

from __future__ import annotations

from pathlib import Path

import apsw

from camvault import EventStore


def connect(store: EventStore) -> apsw.Connection:
    """A connection of the test's own to the store's file (found through the public info())."""
    return apsw.Connection(store.info()["path"])


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
