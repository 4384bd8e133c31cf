"""The reads of the history section, for camvault (Event objects) and the baseline (dicts)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from benchmarks.baseline import EPOCH, MICRO, SELECT, to_dict
from camvault import EventStore
from camvault.query import Order

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOUR_US = 3_600_000_000


class Cap:
    """Abort a baseline statement after ``seconds`` (its sample is then a lower bound)."""

    def __init__(self, con: sqlite3.Connection, seconds: float) -> None:
        self.con = con
        self.seconds = seconds
        self.hits = 0

    def __call__(self, call: Callable[[int], Any]) -> Callable[[int], Any]:
        """Wrap a baseline call so that it stops at the cap instead of running on."""

        def capped(i: int) -> Any:
            deadline = time.perf_counter() + self.seconds
            self.con.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
            try:
                return call(i)
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                self.hits += 1
                return None
            finally:
                self.con.set_progress_handler(None, 0)

        return capped


@dataclass(frozen=True, slots=True)
class Read:
    """One timed read: its figure name, goal on camvault's p50, and both sides' calls."""

    key: str
    name: str
    goal_ms: float | None
    camvault: Callable[[int], Any]
    baseline: Callable[[int], Any]
    cap: Cap
    reps: int | None = None
    """Repetitions when not the configured number (slow information-only reads)."""


def _us(t: datetime) -> int:
    return (t - EPOCH) // MICRO


def windows(end: datetime, days: int) -> list[datetime]:
    """Ends of the one-day windows queried: 'now', then a week earlier, ... within the data."""
    return [end - k * WEEK for k in range(8) if (k * 7 + 1) <= days]


def _rows(con: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [to_dict(r) for r in con.execute(sql, params)]


def reads(
    store: EventStore, con: sqlite3.Connection, end: datetime, days: int, cap_s: float
) -> list[Read]:
    """Return the reads, each a camvault call and the baseline's equivalent SQL (capped)."""
    ends = windows(end, days)
    week = end - WEEK
    by_camera = f"{SELECT} WHERE camera_id = ? ORDER BY ts DESC, id DESC LIMIT 50"
    label_day = (
        f"{SELECT} e WHERE e.ts >= ? AND e.ts < ? AND EXISTS (SELECT 1 FROM detections d "
        "WHERE d.event_rowid = e.id AND d.label = ? AND d.confidence >= ?) "
        "ORDER BY e.ts DESC, e.id DESC LIMIT 50"
    )
    hourly = (
        f"SELECT e.ts / {HOUR_US}, d.label, count(DISTINCT e.id) FROM events e "
        "JOIN detections d ON d.event_rowid = e.id WHERE e.ts >= ? AND e.ts < ? GROUP BY 1, 2"
    )
    like = f"{SELECT} WHERE llm_description LIKE ? ORDER BY ts DESC, id DESC LIMIT 50"
    count = "SELECT count(DISTINCT event_rowid) FROM detections WHERE label = ?"

    def hist_baseline(_: int) -> list[dict[str, Any]]:
        rows = con.execute(hourly, (_us(week), _us(end)))
        return [{"start": EPOCH + h * HOUR_US * MICRO, "key": k, "count": n} for h, k, n in rows]

    def day(i: int) -> tuple[datetime, datetime]:
        t = ends[i % len(ends)]
        return t - DAY, t

    return [
        Read(
            "recent_camera",
            "newest 50 of front-door",
            1.0,
            lambda _: store.get_recent_events(50, camera_id="front-door"),
            lambda _: _rows(con, by_camera, ("front-door",)),
            Cap(con, cap_s),
        ),
        Read(
            "label_day",
            "person >= 0.8, one-day window",
            2.0,
            lambda i: (
                store.query(
                    label="person", min_confidence=0.8, since=day(i)[0], until=day(i)[1], limit=50
                ).events
            ),
            lambda i: _rows(con, label_day, (_us(day(i)[0]), _us(day(i)[1]), "person", 0.8)),
            Cap(con, cap_s),
        ),
        Read(
            "histogram_week",
            "hourly counts by label, 1 week",
            5.0,
            lambda _: store.histogram("hour", by="label", since=week, until=end),
            hist_baseline,
            Cap(con, cap_s),
        ),
        Read(
            "text_package",
            "text 'package', newest 50",
            2.0,
            lambda _: store.query(text="package", limit=50).events,
            lambda _: _rows(con, like, ("%package%",)),
            Cap(con, cap_s),
        ),
        Read(
            "text_white_van",
            "text '\"white van\"', newest 50",
            2.0,
            lambda _: store.query(text='"white van"', limit=50).events,
            lambda _: _rows(con, like, ("%white van%",)),
            Cap(con, cap_s),
        ),
        Read(
            "count_person",
            "count(label='person')",
            None,
            lambda _: store.count(label="person"),
            lambda _: con.execute(count, ("person",)).fetchone()[0],
            Cap(con, cap_s),
            reps=5,
        ),
    ]


def imported_reads(store: EventStore, con: sqlite3.Connection, cap_s: float) -> list[Read]:
    """The text reads timed again after an older history was imported, both orders."""

    def read(order: Order, direction: str) -> Read:
        like = f"{SELECT} WHERE llm_description LIKE ? ORDER BY ts {direction}, id {direction}"
        return Read(
            f"text_package_imported_{order}",
            f"text 'package', {order} 50, after the import",
            2.0,
            lambda _: store.query(text="package", limit=50, order=order).events,
            lambda _: _rows(con, f"{like} LIMIT 50", ("%package%",)),
            Cap(con, cap_s),
        )

    return [read("newest", "DESC"), read("oldest", "ASC")]
