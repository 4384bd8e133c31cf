"""What each consumer stored, read back with plain SQL: progress while running, loss at the end.

A lifecycle counts as stored when its object is present, closed (``end_time`` set) and holds
the top score of its ``end`` message; anything else is lost (missing, still open, or left
with an older score). Read with stdlib sqlite3, never through camvault.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CAMVAULT_DONE = "SELECT count(*) FROM events WHERE end_time IS NOT NULL"
CAMVAULT_FINAL = (
    "SELECT event_id, end_time IS NOT NULL, json_extract(detected_objects, '$[0].confidence') "
    "FROM events"
)
PLAIN_DONE = "SELECT count(*) FROM objects WHERE end_time IS NOT NULL"
PLAIN_FINAL = "SELECT id, end_time IS NOT NULL, top_score FROM objects"
QUERIES = {"camvault": (CAMVAULT_DONE, CAMVAULT_FINAL), "plain": (PLAIN_DONE, PLAIN_FINAL)}
"""Side -> (count of closed objects, one row per object: id, closed, top score)."""

Row = tuple[str, int, float | None]


@dataclass(frozen=True, slots=True)
class Loss:
    """Lifecycles not stored as published, by reason, with a few example ids."""

    expected: int
    missing: int = 0
    still_open: int = 0
    wrong_score: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Lifecycles whose end state is not stored."""
        return self.missing + self.still_open + self.wrong_score

    @property
    def stored(self) -> int:
        """Lifecycles whose end state is stored."""
        return self.expected - self.lost

    def as_dict(self) -> dict[str, object]:
        """Return the counts as a JSON-ready dict."""
        return {
            "expected": self.expected,
            "stored": self.stored,
            "lost": self.lost,
            "missing": self.missing,
            "still_open": self.still_open,
            "wrong_score": self.wrong_score,
            "examples": self.examples,
        }


def loss(expected: Mapping[str, float], rows: Iterable[Row], examples: int = 5) -> Loss:
    """Compare the stored rows with the final top score of every expected lifecycle."""
    found = {object_id: (bool(closed), score) for object_id, closed, score in rows}
    missing = still_open = wrong = 0
    bad: list[str] = []
    for object_id, top in expected.items():
        if object_id not in found:
            missing += 1
        elif not found[object_id][0]:
            still_open += 1
        elif (score := found[object_id][1]) is None or not math.isclose(score, top):
            wrong += 1
        else:
            continue
        if len(bad) < examples:
            bad.append(object_id)
    return Loss(len(expected), missing, still_open, wrong, bad)


def _connect(db: Path) -> sqlite3.Connection:
    """Open a plain reader on a database file (which must exist)."""
    return sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=10)


def closed(db: Path, side: str) -> int:
    """Return how many objects the side's database holds closed; 0 before it exists."""
    if not db.exists():
        return 0
    conn = _connect(db)
    try:
        return int(conn.execute(QUERIES[side][0]).fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        conn.close()


def stored_rows(db: Path, side: str) -> list[Row]:
    """Return every object the side's database holds: id, closed, top score."""
    conn = _connect(db)
    try:
        return [(str(r[0]), int(r[1]), r[2]) for r in conn.execute(QUERIES[side][1])]
    finally:
        conn.close()


def check(db: Path, side: str, expected: Mapping[str, float]) -> Loss:
    """Return the loss of ``expected`` lifecycles in the side's database."""
    return loss(expected, stored_rows(db, side))
