"""Map Frigate's tracked objects (MQTT, HTTP API, frigate.db rows) onto camvault events.

Pure functions, no I/O. One Frigate tracked object is one camvault :class:`Event` with the
same id. Each function takes what camvault already holds for that id (``previous``) and
returns the merged event: fields the payload does not speak of are kept from ``previous``.

What maps to what:

- ``id`` -> ``event_id``; ``camera`` -> ``camera_id``; ``start_time`` -> ``timestamp``;
  ``end_time`` -> ``end_time`` (an object Frigate has ended is never reopened by a late
  ``update``); ``source`` is ``"frigate"``.
- ``label`` with ``top_score`` (else ``score``) and the box -> the one ``detected_objects``
  entry, its bbox relative (x1, y1, x2, y2) in 0..1. MQTT boxes are pixels of the camera's
  detect frame (``snapshot.box``, the box of the best snapshot, else ``box``); they stay in
  pixels when the frame is unknown. API and database boxes are ``data.box``, relative
  ``[x, y, w, h]``. A later message never lowers the top score already held.
- ``sub_label`` (``[name, score]`` on MQTT, a string plus ``data.sub_label_score`` in the
  database) on a ``person`` -> ``person_name``/``face_confidence``; on anything else (a car
  make, a delivery logo) -> ``metadata["sub_label"]`` and ``metadata["sub_label_score"]``.
- ``entered_zones`` (database and API: ``zones``) -> ``zones``;
  ``recognized_license_plate`` (``[plate, score]`` or a string, or ``data``'s) ->
  ``license_plate``; ``data.description`` -> ``llm_description``;
  ``retain_indefinitely`` -> ``retain``.
- ``metadata["frigate"]`` holds the last raw payload or row (minus the base64 thumbnail),
  so nothing Frigate said is lost: ``box``, ``region``, ``attributes``, stationary state,
  speed fields and whatever newer versions add are read from there.
  ``metadata["review"]`` is ``{"id", "severity"}`` of the review segment (``apply_review``);
  ``metadata["frigate_updates"]`` keeps the last ``tracked_object_update`` of each type.

A malformed payload raises :class:`~camvault.errors.InvalidInputError` naming the bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    ValidationError,
)

from camvault.errors import InvalidInputError
from camvault.models import DetectedObject, Event, in_range

__all__ = [
    "SOURCE",
    "Frame",
    "apply_review",
    "apply_tracked_update",
    "event_from_api",
    "event_from_mqtt",
    "is_false_positive",
    "review_event_ids",
]

Frame = tuple[int, int]
"""A camera's detect frame: (width, height) in pixels."""

SOURCE = "frigate"
"""The ``source`` of every event mapped here."""

_WHAT = "Frigate payload"
_PERSON = "person"


def _json_text(value: Any) -> Any:
    """Decode a JSON column that a database row hands over as text."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError("must be JSON") from None
    return value


Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
"""A JSON number (an int or a float; never a boolean or a string)."""
Score = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Box = tuple[Number, Number, Number, Number]
Labelled = str | tuple[str, Score | None] | None
"""A name that Frigate sends as ``[name, score]`` (MQTT) or as a plain string (database)."""


class _Payload(BaseModel):
    """Fields shared by Frigate's MQTT objects, API items and database rows."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1, max_length=128)]
    camera: Annotated[str, Field(min_length=1, max_length=64)]
    label: Annotated[str, Field(min_length=1, max_length=64)]
    sub_label: Labelled = None
    top_score: Score | None = None
    score: Score | None = None
    start_time: Number
    end_time: Number | None = None
    false_positive: bool | None = None
    recognized_license_plate: Labelled = None


class _Snapshot(BaseModel):
    """The best snapshot of an MQTT object (0.14+)."""

    model_config = ConfigDict(extra="ignore")

    box: Box | None = None


class _Mqtt(_Payload):
    """The ``after`` object of one ``frigate/events`` message."""

    box: Box | None = None
    snapshot: _Snapshot | None = None
    entered_zones: list[str] = Field(default_factory=list)
    recognized_license_plate_score: Score | None = None


class _Data(BaseModel):
    """The ``data`` JSON of an API item or database row."""

    model_config = ConfigDict(extra="ignore")

    box: Box | None = None
    top_score: Score | None = None
    score: Score | None = None
    sub_label_score: Score | None = None
    description: str | None = None
    recognized_license_plate: str | None = None


class _Row(_Payload):
    """One item of ``GET /api/events`` or one row of frigate.db's ``event`` table."""

    start_time: Number
    zones: Annotated[list[str] | None, BeforeValidator(_json_text)] = None
    data: Annotated[_Data | None, BeforeValidator(_json_text)] = None
    retain_indefinitely: bool | None = None


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], payload: Any, where: str = "") -> M:
    """Validate a payload into one of the models above, naming a bad field."""
    if not isinstance(payload, Mapping):
        raise InvalidInputError(_WHAT, [(where, "must be a JSON object")])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        err = InvalidInputError.from_pydantic(_WHAT, exc.errors())
        if where:
            err = InvalidInputError(_WHAT, [(f"{where}.{f}", m) for f, m in err.problems])
        raise err from None


def _time(value: float, field: str) -> datetime:
    """Turn a Frigate epoch (seconds, float) into an aware UTC datetime."""
    try:
        moment = in_range(datetime.fromtimestamp(value, UTC))
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is None:
        raise InvalidInputError(_WHAT, [(field, "must be a Unix time from 1970 to 2200")])
    return moment


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _pixel_box(box: Box, frame: Frame | None, field: str) -> tuple[float, ...]:
    """Make a pixel box (x1, y1, x2, y2) relative to the detect frame, when it is known."""
    x1, y1, x2, y2 = box
    if x1 > x2 or y1 > y2:
        raise InvalidInputError(_WHAT, [(field, "must be [x1, y1, x2, y2] with x1<=x2, y1<=y2")])
    if frame is None:
        return (x1, y1, x2, y2)
    width, height = frame
    if width <= 0 or height <= 0:
        raise InvalidInputError(_WHAT, [("frame", "must be a positive (width, height)")])
    return (_clamp(x1 / width), _clamp(y1 / height), _clamp(x2 / width), _clamp(y2 / height))


def _relative_box(box: Box, field: str) -> tuple[float, ...]:
    """Turn a relative box [x, y, w, h] into (x1, y1, x2, y2), clamped to 0..1."""
    x, y, w, h = box
    if w < 0 or h < 0:
        raise InvalidInputError(_WHAT, [(field, "must be [x, y, w, h] with w, h >= 0")])
    return (_clamp(x), _clamp(y), _clamp(x + w), _clamp(y + h))


def _name_score(value: Labelled) -> tuple[str | None, float | None]:
    """Split a ``[name, score]`` pair or a plain name."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return value or None, None
    return value[0] or None, value[1]


def _raw(payload: Mapping[str, Any], **decoded: Any) -> dict[str, JsonValue]:
    """Copy the payload for metadata: without the thumbnail, its JSON columns decoded."""
    raw = {k: v for k, v in payload.items() if k != "thumbnail"}
    raw.update({k: v for k, v in decoded.items() if k in raw})
    return raw


def _json_safe(metadata: dict[str, JsonValue]) -> None:
    """Check that metadata is storable JSON on every engine (no NUL, no huge integers)."""
    try:
        encoded = orjson.dumps(metadata)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidInputError(_WHAT, [("", f"cannot be kept as JSON: {exc}")]) from None
    if b"\\u0000" in encoded:
        raise InvalidInputError(_WHAT, [("", "must not contain NUL characters (\\x00)")])


def _merge(previous: Event | None, event_id: str, changes: dict[str, Any]) -> Event:
    """Apply changes onto what camvault holds for the id (or onto nothing).

    Only the changed fields are validated (what ``previous`` holds was validated when it was
    made); the metadata, parsed from JSON, is checked to be storable rather than walked
    value by value, which keeps a message in tens of microseconds.
    """
    if previous is not None and previous.event_id != event_id:
        raise InvalidInputError(
            _WHAT, [("id", f"is {event_id!r}, not the id of the event it updates")]
        )
    metadata = changes.pop("metadata", None)
    if metadata is not None:
        _json_safe(metadata)
    given = {"camera_id": previous.camera_id, **changes} if previous is not None else changes
    checked = Event.model_validate(given)
    update = {name: getattr(checked, name) for name in given}
    if metadata is not None:
        update["metadata"] = metadata
    base = previous if previous is not None else checked
    event: Event = base.model_copy(update=update)
    return event


def _common(
    obj: _Payload,
    *,
    bbox: tuple[float, ...] | None,
    previous: Event | None,
    raw: dict[str, JsonValue],
    sub_label_score: float | None,
    plate: str | None,
    extra: dict[str, Any],
) -> Event:
    """Map what the MQTT and the API/database shapes share, then merge onto ``previous``."""
    end_time = _time(obj.end_time, "end_time") if obj.end_time is not None else None
    if end_time is None and previous is not None:
        end_time = getattr(previous, "end_time", None)  # Frigate never reopens an object
    confidence = obj.top_score if obj.top_score is not None else obj.score
    if previous is not None:
        held = [o.confidence for o in previous.detected_objects if o.label == obj.label]
        confidence = max([*held, confidence or 0.0])
    detected = DetectedObject(label=obj.label, confidence=confidence or 0.0, bbox=bbox)
    metadata: dict[str, JsonValue] = dict(previous.metadata) if previous is not None else {}
    metadata["frigate"] = raw
    changes: dict[str, Any] = {
        "event_id": obj.id,
        "camera_id": obj.camera,
        "timestamp": _time(obj.start_time, "start_time"),
        "end_time": end_time,
        "detected_objects": [detected],
        "source": SOURCE,
    }
    name, score = _name_score(obj.sub_label)
    score = score if score is not None else sub_label_score
    if name is not None and obj.label == _PERSON:
        changes["person_name"] = name
        changes["face_confidence"] = score
    elif name is not None:
        metadata["sub_label"] = name
        metadata["sub_label_score"] = score
    if plate:
        changes["license_plate"] = plate
    changes["metadata"] = metadata
    changes.update(extra)
    return _merge(previous, obj.id, changes)


def event_from_mqtt(
    after: Mapping[str, Any], frame: Frame | None, previous: Event | None = None
) -> Event:
    """Map one ``frigate/events`` message's ``after`` object onto ``previous`` (or a new event)."""
    obj = _parse(_Mqtt, after)
    box = obj.snapshot.box if obj.snapshot is not None and obj.snapshot.box else obj.box
    field = "snapshot.box" if box is not None and box is not obj.box else "box"
    bbox = _pixel_box(box, frame, field) if box is not None else None
    plate, _ = _name_score(obj.recognized_license_plate)
    held = list(getattr(previous, "zones", [])) if previous is not None else []
    extra = {"zones": list(dict.fromkeys([*held, *obj.entered_zones]))}  # they only grow
    return _common(
        obj,
        bbox=bbox,
        previous=previous,
        raw=_raw(after),
        sub_label_score=None,
        plate=plate,
        extra=extra,
    )


def event_from_api(row: Mapping[str, Any], previous: Event | None = None) -> Event:
    """Map one ``GET /api/events`` item or one frigate.db ``event`` row onto ``previous``."""
    obj = _parse(_Row, row)
    data = obj.data or _Data()
    if obj.top_score is None and data.top_score is not None:
        obj.top_score = data.top_score
    if obj.score is None and data.score is not None:
        obj.score = data.score
    bbox = _relative_box(data.box, "data.box") if data.box is not None else None
    plate, _ = _name_score(obj.recognized_license_plate)
    raw = _raw(row, zones=obj.zones, data=_json_text(row.get("data")))
    extra: dict[str, Any] = {}
    if obj.zones is not None:
        extra["zones"] = list(dict.fromkeys(obj.zones))
    if data.description:
        extra["llm_description"] = data.description
    if obj.retain_indefinitely is not None:
        extra["retain"] = obj.retain_indefinitely
    plate = plate or data.recognized_license_plate
    return _common(
        obj,
        bbox=bbox,
        previous=previous,
        raw=raw,
        sub_label_score=data.sub_label_score,
        plate=plate,
        extra=extra,
    )


class _Update(BaseModel):
    """One ``frigate/tracked_object_update`` message."""

    model_config = ConfigDict(extra="ignore")

    type: Annotated[str, Field(min_length=1)]
    id: Annotated[str, Field(min_length=1, max_length=128)]
    description: str | None = None
    name: str | None = None
    plate: str | None = None
    score: Score | None = None


def apply_tracked_update(previous: Event, payload: Mapping[str, Any]) -> Event:
    """Apply a ``frigate/tracked_object_update`` (description, face, lpr) to ``previous``."""
    update = _parse(_Update, payload)
    changes: dict[str, Any] = {}
    if update.type == "description":
        if update.description is None:
            raise InvalidInputError(_WHAT, [("description", "is required for a description")])
        changes["llm_description"] = update.description
    elif update.type == "face" and update.name:
        changes["person_name"] = update.name
        changes["face_confidence"] = update.score
    elif update.type == "lpr":
        if not update.plate:
            raise InvalidInputError(_WHAT, [("plate", "is required for an lpr update")])
        changes["license_plate"] = update.plate
    metadata: dict[str, JsonValue] = dict(previous.metadata)
    kept = metadata.get("frigate_updates")
    updates: dict[str, JsonValue] = dict(kept) if isinstance(kept, dict) else {}
    updates[update.type] = dict(payload)
    metadata["frigate_updates"] = updates
    changes["metadata"] = metadata
    return _merge(previous, update.id, changes)


class _Review(BaseModel):
    """The ``after`` object of one ``frigate/reviews`` message."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(min_length=1)]
    severity: Annotated[str, Field(min_length=1)]


def apply_review(previous: Event, review: Mapping[str, Any]) -> Event:
    """Keep a ``frigate/reviews`` segment's id and severity (alert/detection) on ``previous``."""
    parsed = _parse(_Review, review)
    metadata: dict[str, JsonValue] = dict(previous.metadata)
    metadata["review"] = {"id": parsed.id, "severity": parsed.severity}
    return _merge(previous, previous.event_id, {"metadata": metadata})


def review_event_ids(review: Mapping[str, Any]) -> list[str]:
    """Return the ids of the tracked objects (``data.detections``) a review segment covers."""
    if not isinstance(review, Mapping):
        raise InvalidInputError(_WHAT, [("", "must be a JSON object")])
    data = review.get("data")
    detections = data.get("detections", []) if isinstance(data, Mapping) else None
    if not isinstance(detections, list) or not all(isinstance(d, str) for d in detections):
        raise InvalidInputError(_WHAT, [("data.detections", "must be a list of event ids")])
    return list(detections)


def is_false_positive(after: Mapping[str, Any]) -> bool:
    """Whether Frigate marks this tracked object as a false positive."""
    if not isinstance(after, Mapping):
        raise InvalidInputError(_WHAT, [("", "must be a JSON object")])
    value = after.get("false_positive", False)
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise InvalidInputError(_WHAT, [("false_positive", "must be true or false")])
    return bool(value)
