"""The data camvault stores and returns: Event, DetectedObject, Person, Camera and results.

Every model validates on construction and on assignment; bad input raises an
:class:`~camvault.errors.InvalidInputError` subclass that names each wrong field.
Timestamps must be timezone-aware, lie in [1970-01-01, 2200-01-01) UTC, and are kept in UTC.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import orjson
import uuid_utils
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from camvault.errors import InvalidEventError, InvalidInputError, InvalidPersonError

__all__ = [
    "MAX_TIME",
    "MIN_TIME",
    "TIME_RANGE",
    "BatchFailure",
    "BatchResult",
    "Bucket",
    "Camera",
    "DetectedObject",
    "Event",
    "Page",
    "Person",
    "PurgeResult",
    "in_range",
    "new_event_id",
    "utcnow",
]


MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""The earliest storable instant (inclusive)."""
MAX_TIME = datetime(2200, 1, 1, tzinfo=UTC)
"""The end of the storable range (exclusive)."""
TIME_RANGE = "must lie from 1970-01-01T00:00:00Z (inclusive) to 2200-01-01T00:00:00Z (exclusive)"
"""What a time outside the storable range is told, after its field name."""


def new_event_id() -> str:
    """Return a new time-sortable event id (a UUIDv7 string)."""
    return str(uuid_utils.uuid7())


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def _text(value: str) -> str:
    """Reject text that cannot be stored on every engine (lone surrogates, NUL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it contains a lone surrogate)") from None
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00), which PostgreSQL cannot store")
    return value


def _name(value: str) -> str:
    """Check an identifier-like name: printable, no surrounding whitespace."""
    _text(value)
    if not value.isprintable():
        raise ValueError("must contain only printable characters")
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


def _number(value: Any) -> Any:
    """Refuse booleans (they would pass as 1.0/0.0), NaN and infinities where a number goes."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return value


def in_range(value: datetime) -> datetime | None:
    """Return an aware datetime in UTC, or None when it lies outside the storable range."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # the UTC instant falls before year 1 or after year 9999
        return None
    return utc if MIN_TIME <= utc < MAX_TIME else None


def _aware_utc(value: datetime) -> datetime:
    """Require a timezone-aware datetime in the storable range and convert it to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "must be timezone-aware (got a naive datetime); "
            "use datetime.now(timezone.utc) or attach a tzinfo"
        )
    utc = in_range(value)
    if utc is None:
        raise ValueError(TIME_RANGE)
    return utc


Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_name)]
Confidence = Annotated[float, BeforeValidator(_number), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Finite = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]
AwareUTC = Annotated[datetime, AfterValidator(_aware_utc)]
Label = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]
"""A label-like name: 1-64 printable characters, no surrounding whitespace."""
ShortName = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_name)]
"""A short name (a door action, a plate, a source): 1-32 printable characters."""

MAX_ZONES = 64
"""The most zones one event may list."""


def _zones(value: list[str]) -> list[str]:
    """Drop repeated zones (first seen kept) and cap how many an event lists."""
    unique = list(dict.fromkeys(value))
    if len(unique) > MAX_ZONES:
        raise ValueError(f"must list at most {MAX_ZONES} distinct zones (got {len(unique)})")
    return unique


class _Model(BaseModel):
    """Shared behaviour: forbid unknown fields, validate assignment, raise camvault errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    _error: ClassVar[type[InvalidInputError]] = InvalidEventError

    if not TYPE_CHECKING:  # keep the pydantic-generated signature for type checkers

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise self._error.from_pydantic(type(self).__name__, exc.errors()) from None

        # Pydantic treats a marked __init__ as its own, so nested models and model_validate
        # keep the fast core path and report errors once, at the outermost model.
        __init__.__pydantic_base_init__ = True

        def __setattr__(self, name: str, value: Any) -> None:
            try:
                super().__setattr__(name, value)
            except ValidationError as exc:
                raise self._error.from_pydantic(type(self).__name__, exc.errors()) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        """Validate a mapping (or model) into this model, raising camvault errors."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise cls._error.from_pydantic(cls.__name__, exc.errors()) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Any:
        """Validate a JSON document into this model, raising camvault errors."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as exc:
            raise cls._error.from_pydantic(cls.__name__, exc.errors()) from None


class DetectedObject(_Model):
    """One object a detector found in a frame: label, confidence and bounding box."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"label": "person", "confidence": 0.91, "bbox": [0.1, 0.2, 0.3, 0.6]}]
        }
    )

    label: Label
    confidence: Confidence
    bbox: tuple[Finite, Finite, Finite, Finite] | None = None
    """(x1, y1, x2, y2), normalized 0..1 or in pixels; x1 <= x2 and y1 <= y2."""

    @field_validator("bbox", mode="before")
    @classmethod
    def _four(cls, bbox: Any) -> Any:
        if bbox is not None and (
            isinstance(bbox, str | bytes) or not hasattr(bbox, "__len__") or len(bbox) != 4
        ):
            raise ValueError("must be 4 numbers (x1, y1, x2, y2)")
        return bbox

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, bbox: tuple[float, float, float, float] | None) -> Any:
        if bbox is not None and (bbox[0] > bbox[2] or bbox[1] > bbox[3]):
            raise ValueError("must be (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2")
        return bbox


class Event(_Model):
    """One thing that happened in front of a camera or at a door."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "01a1ffd3-f710-70bc-aeeb-a14ffd9af549",
                    "timestamp": "2026-11-21T18:04:05Z",
                    "camera_id": "porch-lock",
                    "motion_confidence": 0.82,
                    "detected_objects": [
                        {"label": "person", "confidence": 0.91, "bbox": [0.1, 0.2, 0.3, 0.6]}
                    ],
                    "llm_description": "A courier leaves a package on the step.",
                    "person_name": "alice",
                    "face_confidence": 0.93,
                    "face_distance": 0.31,
                    "unlock_granted": True,
                    "door_action": "unlock",
                    "metadata": {"zone": "door"},
                }
            ]
        }
    )

    event_id: Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_name)] = Field(
        default_factory=new_event_id
    )
    timestamp: AwareUTC = Field(default_factory=utcnow)
    camera_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]
    motion_confidence: Confidence | None = None
    detected_objects: Annotated[list[DetectedObject], Field(max_length=1000)] = Field(
        default_factory=list
    )
    llm_description: Annotated[Text, Field(max_length=100_000)] | None = None
    image_path: Annotated[Text, Field(max_length=4096)] | None = None
    json_log_path: Annotated[Text, Field(max_length=4096)] | None = None
    thumbnail_path: Annotated[Text, Field(max_length=4096)] | None = None
    person_name: Name | None = None
    face_confidence: Confidence | None = None
    face_distance: Annotated[Finite, Field(ge=0.0)] | None = None
    unlock_granted: bool | None = None
    door_action: (
        Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_name)] | None
    ) = None
    recording_id: Annotated[Text, Field(max_length=256)] | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    retain: bool = False
    """Keep this event forever: purge() never removes it."""
    end_time: AwareUTC | None = None
    """When the tracked object or episode ended; None while it is in progress."""
    zones: Annotated[list[Label], AfterValidator(_zones)] = Field(default_factory=list)
    """The zones the object entered, in first-seen order, each once."""
    license_plate: ShortName | None = None
    """A recognised licence plate."""
    source: ShortName | None = None
    """Where the event came from: "frigate", "mqtt", "api", "import", ..."""

    @field_validator("end_time")
    @classmethod
    def _ends_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("timestamp")
        if value is not None and isinstance(start, datetime) and value < start:
            raise ValueError("must not be before timestamp")
        return value

    @model_validator(mode="after")
    def _ordered_times(self) -> Event:
        if self.end_time is not None and self.end_time < self.timestamp:
            raise ValueError("end_time must not be before timestamp")
        return self

    @field_validator("metadata")
    @classmethod
    def _json_safe(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if value:
            try:
                json.dumps(value, allow_nan=False)
                if b"\\u0000" in orjson.dumps(value):
                    raise ValueError("it contains a NUL character (\\x00)")
            except (ValueError, TypeError) as exc:
                reason = "NaN or infinity" if "Out of range float" in str(exc) else str(exc)
                raise ValueError(f"must be JSON-serializable ({reason})") from None
        return value

    @property
    def labels(self) -> list[str]:
        """The distinct labels of the detected objects, in first-seen order."""
        return list(dict.fromkeys(obj.label for obj in self.detected_objects))


class Person(_Model):
    """A known face: who they are and whether the lock may open for them."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "alice", "authorized": True, "notes": "owner"}]}
    )

    _error: ClassVar[type[InvalidInputError]] = InvalidPersonError

    name: Name
    authorized: bool = False
    notes: Annotated[Text, Field(max_length=10_000)] | None = None
    created_at: AwareUTC | None = None
    updated_at: AwareUTC | None = None


class Camera(_Model):
    """A camera (or lock) that has produced events; registered on its first event."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"camera_id": "front-door", "name": None}]}
    )

    camera_id: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]
    name: Annotated[Text, Field(max_length=256)] | None = None
    created_at: AwareUTC | None = None


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """One event of a batch that was not written, with its position and the reason."""

    index: int
    event_id: str | None
    error: str


@dataclass(slots=True)
class BatchResult:
    """What ``insert_events`` did: counts, and the reason for each failed item."""

    inserted: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[BatchFailure] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many items the batch held."""
        return self.inserted + self.duplicates + self.failed


@dataclass(slots=True)
class Page:
    """One page of query results, newest first, and the cursor for the next page."""

    events: list[Event]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)


class PurgeResult(int):
    """How many events purge() removed (it is that int), and how many thumbnails went too."""

    thumbnails: int

    def __new__(cls, events: int = 0, thumbnails: int = 0) -> PurgeResult:
        """Make the result: ``events`` is the int value."""
        obj = super().__new__(cls, events)
        obj.thumbnails = thumbnails
        return obj

    @property
    def events(self) -> int:
        """How many events were removed."""
        return int(self)

    def __repr__(self) -> str:
        return f"PurgeResult(events={int(self)}, thumbnails={self.thumbnails})"


@dataclass(frozen=True, slots=True)
class Bucket:
    """One cell of a histogram: the bucket's start, the group key and the event count."""

    start: datetime
    key: str | None
    count: int
