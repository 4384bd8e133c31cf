"""How a SQLite store keeps its files bounded: the WAL restart rule and space reclaim.

The WAL grows while readers hold snapshots that a checkpoint cannot copy past, and it only
starts again from its beginning once a checkpoint copied all of it and no reader uses it.
camvault's readers hold one statement's snapshot at a time, so a RESTART checkpoint that
waits a little for them (and holds off writers meanwhile) always gets its turn:

- at ``checkpoint_pages`` pages a passive checkpoint runs on the background thread, and again
  each time the log grows by another ``checkpoint_pages`` / :data:`PASSIVE_STEPS` pages;
- at :data:`WAL_ESCALATE` times that, the background thread restarts the log (RESTART,
  waiting at most :data:`CHECKPOINT_WAIT_S` for readers, writers of this store held off);
- at :data:`WAL_FORCE` times that, the committing writer restarts it itself (the same
  bounded wait), and again every ``checkpoint_pages`` pages while readers hold on, so a
  background thread that falls behind cannot let the log run away.

The WAL file therefore stays under :attr:`WalLimits.bound_bytes` (:data:`WAL_BOUND` times
``checkpoint_pages`` frames: 62.9 MiB with the defaults) when one of the four forced
attempts before that size finds a gap between reads (camvault's readers hold one
statement's snapshot) and no single transaction writes more than ``checkpoint_pages`` pages
(about 160 events with detections; a bigger batch makes the WAL as big as itself).
``journal_size_limit`` truncates the file back after a restart. A program that holds a
read transaction open for longer defers the restart until it lets go; ``info()`` shows
``wal_bytes`` meanwhile.

Freed pages: new files use ``auto_vacuum = INCREMENTAL``; after a purge the background
thread returns free pages to the file system :data:`RECLAIM_STEP_PAGES` at a time, one short
write transaction per step, so writers interleave. Files made before keep their free pages
for reuse; ``VACUUM`` (with nothing writing) makes them incremental, see :data:`NOT_INCREMENTAL`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import apsw

__all__ = [
    "CHECKPOINT_WAIT_S",
    "NOT_INCREMENTAL",
    "PASSIVE_STEPS",
    "RECLAIM_STEP_PAGES",
    "WAL_BOUND",
    "WAL_ESCALATE",
    "WAL_FORCE",
    "WalLimits",
    "reclaim_step",
    "restart_wal",
    "space_report",
]

PASSIVE_STEPS = 2
"""Passive checkpoints per ``checkpoint_pages`` of log growth past the first. Each syncs the
log and the database: run after every commit past the threshold, as before, they synced both
for a few pages at a time (3,600 checkpoints in 20,000 single inserts, 440 now), beside the
writer's own writes to the log."""
WAL_ESCALATE = 3
"""WAL pages, in ``checkpoint_pages``, at which the background thread restarts the log."""
WAL_FORCE = 4
"""WAL pages, in ``checkpoint_pages``, at which the committing writer restarts the log."""
WAL_BOUND = 8
"""WAL pages, in ``checkpoint_pages``, that the log stays under (the stated bound)."""
CHECKPOINT_WAIT_S = 0.2
"""Longest wait of a restarting checkpoint for readers and writers (never above busy_timeout)."""
RECLAIM_STEP_PAGES = 256
"""Free pages returned to the file system per write transaction (1 MiB of 4 KiB pages)."""
_FRAME_HEADER = 24
"""Bytes in front of each page in the WAL file."""
NOT_INCREMENTAL = (
    "not incremental (a file made by an older camvault, or with auto_vacuum set): free "
    "pages are reused; "
    "to return them, stop writers and run: sqlite3 FILE 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM'"
)
"""What ``info()['reclaim']`` says for a file whose free pages cannot be returned in steps."""
_AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}


@dataclass(frozen=True, slots=True)
class WalLimits:
    """The WAL levels of one store, in pages, and its page size."""

    checkpoint_pages: int
    page_size: int

    @property
    def escalate_pages(self) -> int:
        """Pages at which the background thread restarts the log."""
        return WAL_ESCALATE * self.checkpoint_pages

    @property
    def force_pages(self) -> int:
        """Pages at which the committing writer restarts the log itself."""
        return WAL_FORCE * self.checkpoint_pages

    @property
    def bound_bytes(self) -> int:
        """The size the WAL file stays under (see the module docstring for the condition)."""
        return WAL_BOUND * self.checkpoint_pages * (self.page_size + _FRAME_HEADER)

    @property
    def journal_size_limit(self) -> int:
        """Bytes the WAL file is truncated back to after a restart."""
        return self.escalate_pages * (self.page_size + _FRAME_HEADER)


def restart_wal(conn: apsw.Connection, wait_s: float, busy_ms: int) -> bool:
    """Copy the whole WAL into the database and restart it; False if readers stayed on.

    Waits at most ``wait_s`` for readers and writers (this call holds other writers off
    while it waits), then puts back the connection's usual ``busy_ms`` timeout.
    """
    deadline = time.monotonic() + wait_s

    def again(_tries: int) -> bool:
        # poll every millisecond: a reader's gap between two transactions is short
        time.sleep(0.001)
        return time.monotonic() < deadline

    conn.set_busy_handler(again)
    try:
        frames, copied = conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_RESTART)
    except apsw.BusyError:
        return False
    finally:
        conn.set_busy_timeout(busy_ms)
    return bool(frames == copied)


def reclaim_step(conn: apsw.Connection) -> int:
    """Return up to :data:`RECLAIM_STEP_PAGES` free pages to the file system; pages left.

    Runs inside the caller's write transaction.
    """
    conn.execute(f"PRAGMA incremental_vacuum({RECLAIM_STEP_PAGES})").fetchall()
    row: Any = conn.execute("PRAGMA freelist_count").fetchall()[0]
    return int(row[0])


def space_report(conn: apsw.Connection, running: bool) -> dict[str, Any]:
    """Describe free pages and whether they are being returned, for ``info()``.

    ``reclaim`` is "running" (steps under way), "done" (no free page left), "pending"
    (free pages that the next purge returns) or, for an older file, :data:`NOT_INCREMENTAL`.
    """

    def one(sql: str) -> int:
        row: Any = conn.execute(sql).fetchall()[0]
        return int(row[0])

    mode = _AUTO_VACUUM.get(one("PRAGMA auto_vacuum"), "unknown")
    free = one("PRAGMA freelist_count")
    if mode != "incremental":
        state = NOT_INCREMENTAL
    else:
        state = "running" if running else "pending" if free else "done"
    return {
        "auto_vacuum": mode,
        "free_pages": free,
        "reclaimable_bytes": free * one("PRAGMA page_size"),
        "reclaim": state,
    }
