"""Builders of Frigate payloads in the shapes of versions 0.13, 0.14 and 0.16+ (as in its source).

- MQTT ``frigate/events`` messages (``{"type", "before", "after"}``): :func:`tracked_object`
  builds one ``after`` object, :func:`lifecycle` the new / update... / end messages of one object.
- ``frigate/tracked_object_update``: :func:`description_update`, :func:`face_update`,
  :func:`lpr_update`; ``frigate/reviews``: :func:`review_message`.
- ``GET /api/events`` items: :func:`api_event`; rows of frigate.db's ``event`` table:
  :func:`db_row`, and :func:`create_frigate_db` / :func:`insert_db_rows` to build a real
  ``frigate.db`` with the table layout of a version.
- Small real images: :func:`jpeg_bytes`, :func:`webp_bytes`.

Every builder returns fresh plain dicts (JSON-ready), so a test may change them freely.
Versions: "0.13", "0.14" (``snapshot`` object, base64 thumbnails in the database), "0.16" and
"0.17" (speed fields, ``recognized_license_plate`` as ``[plate, score]``, ``max_severity``,
``path_data``; database thumbnails as files under ``clips/thumbs/<camera>/<id>.webp``).
"""

from __future__ import annotations

import base64
import io
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from PIL import Image

VERSIONS = ("0.13", "0.14", "0.16", "0.17")
"""The Frigate versions whose shapes the builders know."""

FRAME = (1280, 720)
"""The detect (width, height) the builders assume."""

START = 1_793_000_000.0
"""A start time (2026-10-26 UTC) for builders called without one."""

Box = tuple[int, int, int, int]


def _newer(version: str, than: str) -> bool:
    """Whether ``version`` is ``than`` or later."""
    if version not in VERSIONS:
        raise ValueError(f"unknown Frigate version {version!r}; one of {VERSIONS}")
    return tuple(map(int, version.split("."))) >= tuple(map(int, than.split(".")))


def make_id(start_time: float, n: int = 0) -> str:
    """A Frigate-style event id: the start time and a six-letter suffix."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    suffix = "".join(letters[(n // 26**i) % 26] for i in range(6))
    return f"{start_time:.6f}-{suffix}"


def tracked_object(
    version: str,
    event_id: str,
    *,
    camera: str = "front_door",
    label: str = "person",
    start_time: float = START,
    end_time: float | None = None,
    frame_time: float | None = None,
    score: float = 0.7,
    top_score: float = 0.75,
    box: Box = (100, 200, 300, 600),
    snapshot_box: Box | None = None,
    sub_label: tuple[str, float] | None = None,
    current_zones: Sequence[str] = (),
    entered_zones: Sequence[str] = (),
    plate: tuple[str, float] | None = None,
    false_positive: bool = False,
    has_snapshot: bool = True,
    has_clip: bool = True,
) -> dict[str, Any]:
    """One MQTT ``after`` (or ``before``) object, box in pixels of the detect frame."""
    frame_time = start_time if frame_time is None else frame_time
    snap = snapshot_box or box
    area = (snap[2] - snap[0]) * (snap[3] - snap[1])
    obj: dict[str, Any] = {
        "id": event_id,
        "camera": camera,
        "frame_time": frame_time,
        "snapshot": {
            "frame_time": frame_time,
            "box": list(snap),
            "area": area,
            "region": [0, 0, 640, 640],
            "score": score,
            "attributes": [],
        },
        "label": label,
        "sub_label": list(sub_label) if sub_label else None,
        "top_score": top_score,
        "false_positive": false_positive,
        "start_time": start_time,
        "end_time": end_time,
        "score": score,
        "box": list(box),
        "area": (box[2] - box[0]) * (box[3] - box[1]),
        "ratio": round((box[2] - box[0]) / max(1, box[3] - box[1]), 6),
        "region": [0, 0, 640, 640],
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 1,
        "current_zones": list(current_zones),
        "entered_zones": list(entered_zones),
        "has_clip": has_clip,
        "has_snapshot": has_snapshot,
        "attributes": {"face": 0.8} if label == "person" else {},
        "current_attributes": [],
    }
    if _newer(version, "0.16"):
        obj.update(
            active=True,
            pending_loitering=False,
            max_severity="alert",
            current_estimated_speed=0.0,
            average_estimated_speed=0.0,
            velocity_angle=0,
            path_data=[[[0.2, 0.5], frame_time]],
            recognized_license_plate=list(plate) if plate else None,
        )
    return obj


def events_message(
    kind: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, Any]:
    """One ``frigate/events`` message: ``{"type": kind, "before": ..., "after": ...}``."""
    return {"type": kind, "before": dict(before), "after": dict(after)}


def lifecycle(
    version: str,
    event_id: str,
    *,
    camera: str = "front_door",
    label: str = "person",
    start_time: float = START,
    updates: int = 3,
    sub_label: tuple[str, float] | None = None,
    plate: tuple[str, float] | None = None,
    zones: Sequence[str] = ("yard", "driveway"),
) -> list[dict[str, Any]]:
    """The ``frigate/events`` messages of one object: new, ``updates`` updates, end.

    The object moves right by 40 px a message; its top score rises 0.05 a message from 0.6
    (to 0.99 at most); it enters ``zones`` one per update; the sub label and plate appear on
    the last update; it ends one second after its last update. The last message's ``after``
    holds the final state.
    """
    messages: list[dict[str, Any]] = []
    before: dict[str, Any] | None = None
    steps = updates + 2
    for step in range(steps):
        kind = "new" if step == 0 else "end" if step == steps - 1 else "update"
        x = 100 + 40 * step
        entered = list(zones[: min(step, len(zones))])
        late = step >= steps - 2 and step > 0
        after = tracked_object(
            version,
            event_id,
            camera=camera,
            label=label,
            start_time=start_time,
            end_time=start_time + step if kind == "end" else None,
            frame_time=start_time + step,
            score=round(min(0.95, 0.55 + 0.05 * step), 4),
            top_score=round(min(0.99, 0.6 + 0.05 * step), 4),
            box=(x, 200, x + 200, 600),
            sub_label=sub_label if late else None,
            current_zones=entered[-1:],
            entered_zones=entered,
            plate=plate if late else None,
        )
        messages.append(events_message(kind, before or after, after))
        before = after
    return messages


def description_update(event_id: str, description: str) -> dict[str, Any]:
    """A ``frigate/tracked_object_update`` of type ``description`` (GenAI, 0.14+)."""
    return {"type": "description", "id": event_id, "description": description}


def face_update(
    event_id: str, name: str | None, score: float, camera: str = "front_door"
) -> dict[str, Any]:
    """A ``frigate/tracked_object_update`` of type ``face`` (0.16+)."""
    return {
        "type": "face",
        "id": event_id,
        "name": name,
        "score": score,
        "camera": camera,
        "timestamp": START + 2,
    }


def lpr_update(
    event_id: str, plate: str, score: float, camera: str = "driveway", name: str | None = None
) -> dict[str, Any]:
    """A ``frigate/tracked_object_update`` of type ``lpr`` (0.16+)."""
    return {
        "type": "lpr",
        "id": event_id,
        "name": name,
        "plate": plate,
        "score": score,
        "camera": camera,
        "timestamp": START + 2,
    }


def review_message(
    kind: str,
    review_id: str,
    detections: Sequence[str],
    *,
    camera: str = "front_door",
    severity: str = "alert",
    start_time: float = START,
    end_time: float | None = None,
) -> dict[str, Any]:
    """A ``frigate/reviews`` message (0.14+) whose ``after`` covers ``detections``."""
    after = {
        "id": review_id,
        "camera": camera,
        "start_time": start_time,
        "end_time": end_time,
        "severity": severity,
        "thumb_path": f"/media/frigate/clips/review/thumb-{camera}-{review_id}.webp",
        "data": {
            "detections": list(detections),
            "objects": ["person"],
            "sub_labels": [],
            "zones": [],
            "audio": [],
        },
    }
    before = {**after, "severity": "detection", "data": {**after["data"], "detections": []}}
    return {"type": kind, "before": before, "after": after}


def _data(
    version: str,
    box: tuple[float, float, float, float],
    score: float,
    top_score: float,
    sub_label_score: float | None,
    description: str | None,
    plate: tuple[str, float] | None,
) -> dict[str, Any]:
    """The ``data`` JSON of an event row, as the version's event maintainer writes it."""
    data: dict[str, Any] = {
        "box": list(box),
        "region": [0.0, 0.0, 0.5, 0.888889],
        "score": score,
        "top_score": top_score,
        "attributes": [],
        "type": "object",
    }
    if sub_label_score is not None:
        data["sub_label_score"] = sub_label_score
    if _newer(version, "0.14") and description is not None:
        data["description"] = description
    if _newer(version, "0.16"):
        data.update(average_estimated_speed=0.0, velocity_angle=0, max_severity="alert")
        data["path_data"] = [[[0.2, 0.5], 0.0]]
        if plate is not None:
            data["recognized_license_plate"] = plate[0]
            data["recognized_license_plate_score"] = plate[1]
    return data


def db_row(
    version: str,
    event_id: str,
    *,
    camera: str = "front_door",
    label: str = "person",
    start_time: float = START,
    end_time: float | None = START + 5,
    score: float = 0.7,
    top_score: float = 0.8,
    box: tuple[float, float, float, float] = (0.1, 0.25, 0.2, 0.5),
    zones: Sequence[str] = ("yard",),
    sub_label: str | None = None,
    sub_label_score: float | None = None,
    description: str | None = None,
    plate: tuple[str, float] | None = None,
    retain: bool = False,
    thumbnail: bytes | None = None,
) -> dict[str, Any]:
    """One row of frigate.db's ``event`` table (JSON columns as text); ``box`` is [x, y, w, h].

    Versions before 0.16 keep the thumbnail base64 in the row (a small JPEG when not given);
    0.16+ leave the column NULL and write a file (see :func:`write_media`).
    """
    if not _newer(version, "0.16") and thumbnail is None:
        thumbnail = jpeg_bytes((10, 20, 30))
    return {
        "id": event_id,
        "label": label,
        "camera": camera,
        "start_time": start_time,
        "end_time": end_time,
        "top_score": None,
        "false_positive": 0,
        "zones": orjson.dumps(list(zones)).decode(),
        "thumbnail": None
        if _newer(version, "0.16")
        else base64.b64encode(thumbnail or b"").decode(),
        "has_clip": 1,
        "has_snapshot": 1,
        "region": None,
        "box": None,
        "area": None,
        "retain_indefinitely": int(retain),
        "sub_label": sub_label,
        "ratio": None,
        "plus_id": None,
        "score": None,
        "model_hash": "abc123",
        "detector_type": "cpu",
        "model_type": "ssd",
        "data": orjson.dumps(
            _data(version, box, score, top_score, sub_label_score, description, plate)
        ).decode(),
    }


def api_event(version: str, event_id: str, **fields: Any) -> dict[str, Any]:
    """One item of ``GET /api/events`` (the columns Frigate selects; JSON decoded)."""
    row = db_row(version, event_id, **fields)
    keep = [
        "id",
        "camera",
        "label",
        "zones",
        "start_time",
        "end_time",
        "has_clip",
        "has_snapshot",
        "plus_id",
        "retain_indefinitely",
        "sub_label",
        "top_score",
        "false_positive",
        "box",
        "data",
    ]
    item = {k: row[k] for k in keep}
    item["zones"] = orjson.loads(row["zones"])
    item["data"] = orjson.loads(row["data"])
    item["has_clip"] = bool(item["has_clip"])
    item["has_snapshot"] = bool(item["has_snapshot"])
    item["retain_indefinitely"] = bool(item["retain_indefinitely"])
    item["false_positive"] = bool(item["false_positive"])
    return item


_EVENT_COLUMNS = (
    '"id" VARCHAR(30) NOT NULL PRIMARY KEY, "label" VARCHAR(20) NOT NULL, '
    '"camera" VARCHAR(20) NOT NULL, "start_time" DATETIME NOT NULL, "end_time" DATETIME, '
    '"top_score" REAL, "false_positive" INTEGER, "zones" JSON NOT NULL, "thumbnail" TEXT{thumb}, '
    '"has_clip" INTEGER NOT NULL, "has_snapshot" INTEGER NOT NULL, "region" JSON, "box" JSON, '
    '"area" INTEGER, "retain_indefinitely" INTEGER NOT NULL, "sub_label" VARCHAR(100), '
    '"ratio" REAL, "plus_id" VARCHAR(30), "score" REAL, "model_hash" VARCHAR(32), '
    '"detector_type" VARCHAR(32), "model_type" VARCHAR(32), "data" JSON NOT NULL'
)

_MIGRATIONS = {"0.13": 20, "0.14": 25, "0.16": 29, "0.17": 32}
"""The number of Frigate's peewee migrations each version has applied."""


def create_frigate_db(path: Path, version: str, rows: Iterable[Mapping[str, Any]] = ()) -> Path:
    """Create a frigate.db with the version's ``event`` table layout (after its migrations)."""
    thumb = "" if _newer(version, "0.16") else " NOT NULL"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            'CREATE TABLE "migratehistory" ("id" INTEGER NOT NULL PRIMARY KEY, '
            '"name" VARCHAR(255) NOT NULL, "migrated_at" DATETIME NOT NULL)'
        )
        conn.executemany(
            'INSERT INTO "migratehistory" ("name", "migrated_at") VALUES (?, ?)',
            [
                (f"{n:03d}_migration", "2026-01-01 00:00:00")
                for n in range(1, _MIGRATIONS[version] + 1)
            ],
        )
        conn.execute(f'CREATE TABLE "event" ({_EVENT_COLUMNS.format(thumb=thumb)})')
        conn.execute('CREATE INDEX "event_label" ON "event" ("label")')
        conn.execute('CREATE INDEX "event_camera" ON "event" ("camera")')
        conn.execute(
            'CREATE INDEX "event_start_time_end_time" ON "event" ("start_time", "end_time")'
        )
        conn.execute(
            'CREATE TABLE "recordings" ("id" VARCHAR(30) NOT NULL PRIMARY KEY, '
            '"camera" VARCHAR(20) NOT NULL, "path" VARCHAR(255) NOT NULL)'
        )
    conn.close()
    insert_db_rows(path, rows)
    return path


def insert_db_rows(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert (or replace) rows of the ``event`` table, as Frigate's maintainer upserts them."""
    with sqlite3.connect(path) as conn:
        for row in rows:
            cols = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" for _ in row)
            conn.execute(
                f'INSERT OR REPLACE INTO "event" ({cols}) VALUES ({marks})', list(row.values())
            )
    conn.close()


def write_media(
    media: Path, camera: str, event_id: str, *, thumbnail: bool = True, snapshot: bool = True
) -> None:
    """Write the files Frigate keeps for an event under its media folder (``/media/frigate``)."""
    clips = media / "clips"
    if thumbnail:
        (clips / "thumbs" / camera).mkdir(parents=True, exist_ok=True)
        (clips / "thumbs" / camera / f"{event_id}.webp").write_bytes(webp_bytes((200, 50, 50)))
    if snapshot:
        clips.mkdir(parents=True, exist_ok=True)
        (clips / f"{camera}-{event_id}.jpg").write_bytes(jpeg_bytes((50, 200, 50), (320, 180)))


def _encode(color: tuple[int, int, int], size: tuple[int, int], fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def jpeg_bytes(
    color: tuple[int, int, int] = (90, 90, 90), size: tuple[int, int] = (175, 175)
) -> bytes:
    """A small real JPEG of one colour."""
    return _encode(color, size, "JPEG")


def webp_bytes(
    color: tuple[int, int, int] = (90, 90, 90), size: tuple[int, int] = (175, 175)
) -> bytes:
    """A small real WebP of one colour."""
    return _encode(color, size, "WEBP")
