"""APSW against sqlean.py: the same raw hot-path insert, written once per driver."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import apsw
import sqlean  # type: ignore[import-untyped]

from benchmarks.baseline import (
    EPOCH,
    INSERT_CAMERA,
    INSERT_DETECTION,
    INSERT_EVENT,
    MICRO,
    SCHEMA,
    event_row,
)
from benchmarks.workload import EventTuple, Latency, time_each

Prepared = tuple[str, int, tuple[Any, ...], list[tuple[Any, ...]]]
"""(camera_id, ts, event row, detection rows without their event rowid)."""

DRIVERS = ("apsw", "sqlean.py")


def prepare(ev: EventTuple) -> Prepared:
    """Serialize an event ahead of time, so only the driver's work is timed."""
    ts = (ev[1] - EPOCH) // MICRO
    detections = [
        (i, o["label"], o["confidence"], *(o["bbox"] or (None,) * 4), ts)
        for i, o in enumerate(ev[4])
    ]
    return ev[2], ts, event_row(ev, ts), detections


def apsw_writer(path: Path) -> tuple[Callable[[Prepared], None], Callable[[], None]]:
    """Open an APSW connection and return its insert function and its closer."""
    con = apsw.Connection(str(path))
    con.execute("PRAGMA journal_mode=WAL").fetchall()  # one pragma per execute with APSW
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        con.execute(statement)
    execute, executemany = con.execute, con.executemany

    def insert(p: Prepared) -> None:
        execute("BEGIN IMMEDIATE")
        execute(INSERT_CAMERA, (p[0], p[1]))
        execute(INSERT_EVENT, p[2])
        if p[3]:
            rowid = con.last_insert_rowid()
            executemany(INSERT_DETECTION, [(rowid, *d) for d in p[3]])
        execute("COMMIT")

    return insert, con.close


def sqlean_writer(path: Path) -> tuple[Callable[[Prepared], None], Callable[[], None]]:
    """Open a sqlean.py connection (sqlite3's API) and return its insert function and closer."""
    con = sqlean.connect(str(path), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for statement in SCHEMA:
        con.execute(statement)
    execute, executemany = con.execute, con.executemany

    def insert(p: Prepared) -> None:
        execute("BEGIN IMMEDIATE")
        execute(INSERT_CAMERA, (p[0], p[1]))
        rowid = execute(INSERT_EVENT, p[2]).lastrowid
        if p[3]:
            executemany(INSERT_DETECTION, [(rowid, *d) for d in p[3]])
        execute("COMMIT")

    return insert, con.close


def run_driver(
    name: str, folder: Path, warmup: Sequence[Prepared], rows: Sequence[Prepared]
) -> Latency:
    """Time the raw insert of ``rows`` (commit per event) with one driver."""
    opener = apsw_writer if name == "apsw" else sqlean_writer
    insert, close = opener(folder / "driver.db")
    try:
        for p in warmup:
            insert(p)
        return time_each(insert, rows)
    finally:
        close()


def versions() -> dict[str, str]:
    """Return each driver's version and the SQLite it bundles."""
    return {
        "apsw": f"apsw {apsw.apsw_version()}, SQLite {apsw.sqlite_lib_version()}",
        "sqlean.py": f"sqlean.py {version('sqlean.py')}, SQLite {sqlean.sqlite_version}",
    }
