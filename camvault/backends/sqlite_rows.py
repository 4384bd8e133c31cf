"""Events, persons and cameras as SQLite rows: columns by position, JSON columns as text.

JSON columns are compact UTF-8 text; booleans are 0/1 integers; timestamps integer
microseconds (:func:`camvault.rows.to_micros`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson

from camvault.models import Camera, DetectedObject, Event, Person
from camvault.rows import EPOCH, from_micros, to_micros, trusted

__all__ = [
    "EVENT_COLUMNS",
    "INSERT_COLUMNS",
    "camera_from_row",
    "detection_rows",
    "event_from_row",
    "event_to_row",
    "labels_from_json",
    "person_from_row",
    "zone_rows",
]

INSERT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "ts",
    "camera_id",
    "motion_confidence",
    "detected_objects",
    "llm_description",
    "image_path",
    "json_log_path",
    "thumbnail_path",
    "person_name",
    "face_confidence",
    "face_distance",
    "unlock_granted",
    "door_action",
    "recording_id",
    "metadata",
    "retain",
    "end_time",
    "zones",
    "license_plate",
    "source",
)
"""Columns written by an insert, in the order of :func:`event_to_row`."""

EVENT_COLUMNS: tuple[str, ...] = ("id", *INSERT_COLUMNS)
"""Columns read back, in the order :func:`event_from_row` expects."""


def _dump_objects(objects: Sequence[DetectedObject]) -> str:
    """Serialize detected objects as the JSON text stored on the event row."""
    if not objects:
        return "[]"
    return orjson.dumps(
        [{"label": o.label, "confidence": o.confidence, "bbox": o.bbox} for o in objects]
    ).decode()


def event_to_row(event: Event) -> tuple[Any, ...]:
    """Return the values of :data:`INSERT_COLUMNS` for one event."""
    return (
        event.event_id,
        to_micros(event.timestamp),
        event.camera_id,
        event.motion_confidence,
        _dump_objects(event.detected_objects),
        event.llm_description,
        event.image_path,
        event.json_log_path,
        event.thumbnail_path,
        event.person_name,
        event.face_confidence,
        event.face_distance,
        None if event.unlock_granted is None else int(event.unlock_granted),
        event.door_action,
        event.recording_id,
        orjson.dumps(event.metadata).decode() if event.metadata else "{}",
        int(event.retain),
        None if event.end_time is None else to_micros(event.end_time),
        orjson.dumps(event.zones).decode() if event.zones else "[]",
        event.license_plate,
        event.source,
    )


def zone_rows(rowid: int, ts: int, event: Event) -> list[tuple[Any, ...]]:
    """Return one event_zones row per zone of an event stored at ``rowid``."""
    return [(rowid, zone, ts) for zone in event.zones]


def detection_rows(rowid: int, ts: int, event: Event) -> list[tuple[Any, ...]]:
    """Return one detections row per detected object of an event stored at ``rowid``."""
    rows = []
    for idx, obj in enumerate(event.detected_objects):
        x1, y1, x2, y2 = obj.bbox if obj.bbox is not None else (None, None, None, None)
        rows.append((rowid, idx, obj.label, obj.confidence, x1, y1, x2, y2, ts))
    return rows


def labels_from_json(text: str) -> list[str]:
    """Return the labels of the detected objects stored as JSON text."""
    return [] if text == "[]" else [o["label"] for o in orjson.loads(text)]


def _objects_from_json(text: str) -> list[DetectedObject]:
    """Rebuild detected objects from their stored JSON text."""
    if text == "[]":
        return []
    return [
        trusted(
            DetectedObject,
            {
                "label": o["label"],
                "confidence": o["confidence"],
                "bbox": None if o["bbox"] is None else tuple(o["bbox"]),
            },
        )
        for o in orjson.loads(text)
    ]


def event_from_row(row: Sequence[Any]) -> Event:
    """Rebuild an Event from a row in :data:`EVENT_COLUMNS` order."""
    unlock = row[13]
    return trusted(
        Event,
        {
            "event_id": row[1],
            "timestamp": EPOCH + timedelta(microseconds=row[2]),
            "camera_id": row[3],
            "motion_confidence": row[4],
            "detected_objects": _objects_from_json(row[5]),
            "llm_description": row[6],
            "image_path": row[7],
            "json_log_path": row[8],
            "thumbnail_path": row[9],
            "person_name": row[10],
            "face_confidence": row[11],
            "face_distance": row[12],
            "unlock_granted": None if unlock is None else bool(unlock),
            "door_action": row[14],
            "recording_id": row[15],
            "metadata": {} if row[16] == "{}" else orjson.loads(row[16]),
            "retain": bool(row[17]),
            "end_time": None if row[18] is None else EPOCH + timedelta(microseconds=row[18]),
            "zones": [] if row[19] == "[]" else orjson.loads(row[19]),
            "license_plate": row[20],
            "source": row[21],
        },
    )


def person_from_row(row: Sequence[Any]) -> Person:
    """Rebuild a Person from (name, authorized, notes, created_at, updated_at)."""
    return trusted(
        Person,
        {
            "name": row[0],
            "authorized": bool(row[1]),
            "notes": row[2],
            "created_at": from_micros(row[3]),
            "updated_at": from_micros(row[4]),
        },
    )


def camera_from_row(row: Sequence[Any]) -> Camera:
    """Rebuild a Camera from (camera_id, name, created_at)."""
    return trusted(Camera, {"camera_id": row[0], "name": row[1], "created_at": from_micros(row[2])})
