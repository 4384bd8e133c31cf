"""The raw psycopg baselines: camvault's PostgreSQL tables written and read by hand.

They write the rows camvault writes (event_ids, events, detections; ids from camvault's
sequence) into a schema camvault created, so tables, generated full-text column and indexes
are identical; they keep no rollups and validate nothing. Reads are the plain SQL a developer
would write against those tables, returning dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from benchmarks.baseline import EPOCH, MICRO, dumps
from benchmarks.harness import EventTuple

EVENT_COLUMNS = (
    "id, event_id, ts, camera_id, motion_confidence, detected_objects, llm_description, "
    "image_path, json_log_path, thumbnail_path, person_name, face_confidence, face_distance, "
    "unlock_granted, door_action, recording_id, metadata"
)
DETECTION_COLUMNS = "event_rowid, ts, idx, label, confidence, x1, y1, x2, y2"
INSERT_CAMERA = (
    "INSERT INTO cameras (camera_id, name, created_at) VALUES (%s, NULL, %s) "
    "ON CONFLICT (camera_id) DO NOTHING"
)
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 17)})"
INSERT_EVENT_NEXTVAL = (
    f"INSERT INTO events ({EVENT_COLUMNS}) "
    f"VALUES (nextval('events_id_seq'), {', '.join(['%s'] * 16)}) RETURNING id"
)
INSERT_EVENT_ID = "INSERT INTO event_ids (event_id, ts, id) VALUES (%s, %s, %s)"
INSERT_DETECTION = f"INSERT INTO detections ({DETECTION_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
HOUR_US = 3_600_000_000

Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
"""(events rows, event_ids rows, detections rows)."""


def ts_of(ev: EventTuple) -> int:
    """Return an event tuple's timestamp as stored: microseconds since the epoch."""
    return int((ev[1] - EPOCH) // MICRO)


def event_values(ev: EventTuple, ts: int) -> tuple[Any, ...]:
    """Return the events values of an event tuple, without its id."""
    return (ev[0], ts, ev[2], ev[3], dumps(ev[4]), *ev[5:15], dumps(ev[15]))


def detection_rows(rowid: int, ts: int, objects: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Return one detections row per detected object."""
    return [
        (rowid, ts, i, o["label"], o["confidence"], *(o["bbox"] or (None,) * 4))
        for i, o in enumerate(objects)
    ]


def register_cameras(conn: psycopg.Connection, events: Sequence[EventTuple]) -> None:
    """Insert every camera of ``events`` that is not there yet (one row each)."""
    first: dict[str, int] = {}
    for ev in events:
        first.setdefault(ev[2], ts_of(ev))
    conn.cursor().executemany(INSERT_CAMERA, list(first.items()))


def reserve_ids(conn: psycopg.Connection, n: int) -> int:
    """Take ``n`` consecutive ids from camvault's sequence; return the first."""
    row = conn.execute("SELECT nextval('events_id_seq')").fetchone()
    assert row is not None
    first = int(row[0])
    if n > 1:
        conn.execute("SELECT setval('events_id_seq', %s)", (first + n - 1,))
    return first


def build_rows(events: Sequence[EventTuple], first_id: int) -> Rows:
    """Turn event tuples into the rows of the three tables."""
    rows, ids, detections = [], [], []
    for k, ev in enumerate(events):
        rowid, ts = first_id + k, ts_of(ev)
        rows.append((rowid, *event_values(ev, ts)))
        ids.append((ev[0], ts, rowid))
        if ev[4]:
            detections.extend(detection_rows(rowid, ts, ev[4]))
    return rows, ids, detections


def copy_bulk(conn: psycopg.Connection, events: Sequence[EventTuple]) -> None:
    """Write many events in one transaction with COPY (text format) into each table."""
    with conn.transaction():
        register_cameras(conn, events)
        rows, ids, detections = build_rows(events, reserve_ids(conn, len(events)))
        cur = conn.cursor()
        for statement, data in (
            (f"COPY events ({EVENT_COLUMNS}) FROM STDIN", rows),
            ("COPY event_ids (event_id, ts, id) FROM STDIN", ids),
            (f"COPY detections ({DETECTION_COLUMNS}) FROM STDIN", detections),
        ):
            with cur.copy(statement) as copy:
                for row in data:
                    copy.write_row(row)


def executemany_bulk(conn: psycopg.Connection, events: Sequence[EventTuple]) -> None:
    """Write many events in one transaction with executemany (psycopg pipelines it)."""
    with conn.transaction():
        register_cameras(conn, events)
        rows, ids, detections = build_rows(events, reserve_ids(conn, len(events)))
        cur = conn.cursor()
        cur.executemany(INSERT_EVENT, rows)
        cur.executemany(INSERT_EVENT_ID, ids)
        cur.executemany(INSERT_DETECTION, detections)


def single_writer(conn: psycopg.Connection) -> Callable[[EventTuple], None]:
    """Return a function that writes one event and its detections, then commits."""
    cur = conn.cursor()

    def insert(ev: EventTuple) -> None:
        ts = ts_of(ev)
        with conn.transaction():
            row = cur.execute(INSERT_EVENT_NEXTVAL, event_values(ev, ts)).fetchone()
            assert row is not None
            cur.execute(INSERT_EVENT_ID, (ev[0], ts, row[0]))
            if ev[4]:
                cur.executemany(INSERT_DETECTION, detection_rows(row[0], ts, ev[4]))

    return insert


SELECT = f"SELECT {EVENT_COLUMNS} FROM events"
RECENT_CAMERA = f"{SELECT} WHERE camera_id = %s ORDER BY ts DESC, id DESC LIMIT 50"
LABEL_WINDOW = (
    f"{SELECT} e WHERE e.ts >= %s AND e.ts < %s AND EXISTS (SELECT 1 FROM detections d "
    "WHERE d.event_rowid = e.id AND d.ts = e.ts AND d.label = %s AND d.confidence >= %s) "
    "ORDER BY e.ts DESC, e.id DESC LIMIT 50"
)
HOURLY_BY_LABEL = (
    f"SELECT ts / {HOUR_US} AS hour, label, count(DISTINCT event_rowid) FROM detections "
    "WHERE ts >= %s AND ts < %s GROUP BY 1, 2 ORDER BY 1, 2"
)
TEXT = (
    f"{SELECT} WHERE llm_description IS NOT NULL "
    "AND tsv @@ websearch_to_tsquery('english', %s) ORDER BY ts DESC, id DESC LIMIT 50"
)


class RawReader:
    """The plain SQL reads, on one connection whose search_path is camvault's schema."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.cur = conn.cursor(row_factory=dict_row)

    def _events(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self.cur.execute(query, params, prepare=True).fetchall()
        for row in rows:
            row["ts"] = EPOCH + timedelta(microseconds=row["ts"])
        return rows

    def recent(self, camera_id: str) -> list[dict[str, Any]]:
        """The newest 50 events of a camera."""
        return self._events(RECENT_CAMERA, (camera_id,))

    def label_window(
        self, since: int, until: int, label: str, min_confidence: float
    ) -> list[dict[str, Any]]:
        """The newest 50 events in [since, until) with a confident detection of ``label``."""
        return self._events(LABEL_WINDOW, (since, until, label, min_confidence))

    def hourly(self, since: int, until: int) -> list[dict[str, Any]]:
        """Events per hour and label in [since, until)."""
        rows = self.cur.execute(HOURLY_BY_LABEL, (since, until), prepare=True).fetchall()
        return [
            {"start": EPOCH + r["hour"] * HOUR_US * MICRO, "key": r["label"], "count": r["count"]}
            for r in rows
        ]

    def text(self, words: str) -> list[dict[str, Any]]:
        """The newest 50 events whose description matches a web-search style query."""
        return self._events(TEXT, (words,))

    def explain(self, query: str, params: tuple[Any, ...]) -> list[str]:
        """Return EXPLAIN ANALYZE of one statement, line by line."""
        rows = self.conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", params).fetchall()
        return [str(r[0]) for r in rows]
