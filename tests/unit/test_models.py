"""Validation of Event, DetectedObject and Person: bad input names the field."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from camvault import DetectedObject, Event, InvalidEventError, InvalidPersonError, Person


def fields_of(exc: pytest.ExceptionInfo[InvalidEventError]) -> list[str]:
    return exc.value.fields


def test_defaults_give_time_sortable_id_and_utc_now() -> None:
    first, second = Event(camera_id="cam"), Event(camera_id="cam")
    assert first.event_id != second.event_id
    assert first.event_id <= second.event_id  # UUIDv7: sortable by creation time
    assert first.timestamp.tzinfo is UTC
    assert abs(datetime.now(UTC) - first.timestamp) < timedelta(seconds=5)


def test_naive_timestamp_is_a_clear_error() -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", timestamp=datetime(2026, 1, 1, 12, 0))
    assert fields_of(exc) == ["timestamp"]
    assert "timezone-aware" in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_timestamps_are_converted_to_utc() -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    ev = Event(camera_id="cam", timestamp=local)
    assert ev.timestamp == local
    assert ev.timestamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("camera_id", "reason"),
    [
        ("", "at least 1"),
        ("x" * 65, "at most 64"),
        ("front\ndoor", "printable"),
        (" front", "whitespace"),
    ],
)
def test_bad_camera_ids(camera_id: str, reason: str) -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id=camera_id)
    assert fields_of(exc) == ["camera_id"]
    assert reason in str(exc.value)


def test_camera_id_of_64_printable_characters_is_fine() -> None:
    assert Event(camera_id="c" * 64).camera_id == "c" * 64


@pytest.mark.parametrize("value", [-0.01, 1.01, math.nan, math.inf, -math.inf, True])
@pytest.mark.parametrize("field", ["motion_confidence", "face_confidence"])
def test_out_of_range_or_non_finite_confidences(field: str, value: float) -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", **{field: value})
    assert fields_of(exc) == [field]


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"label": "", "confidence": 0.5}, "label"),
        ({"label": "person", "confidence": 1.5}, "confidence"),
        ({"label": "person", "confidence": math.nan}, "confidence"),
        ({"label": "person", "confidence": 0.5, "bbox": (0.5, 0.1, 0.2, 0.9)}, "bbox"),
        ({"label": "person", "confidence": 0.5, "bbox": (0.1, 0.9, 0.2, 0.1)}, "bbox"),
        ({"label": "person", "confidence": 0.5, "bbox": (0.1, 0.2, 0.3)}, "bbox"),
        ({"label": "person", "confidence": 0.5, "bbox": 7}, "bbox"),
        ({"label": "person", "confidence": 0.5, "bbox": "0 0 1 1"}, "bbox"),
        ({"label": "person", "confidence": 0.5, "bbox": (0.1, 0.2, math.inf, 0.3)}, "bbox[2]"),
    ],
)
def test_bad_detections_name_the_nested_field(obj: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", detected_objects=[{"label": "car", "confidence": 0.9}, obj])
    assert fields_of(exc) == [f"detected_objects[1].{field}"]


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="", motion_confidence=2, timestamp=datetime(2026, 1, 1))
    assert set(fields_of(exc)) == {"camera_id", "motion_confidence", "timestamp"}


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", camra="typo")
    assert fields_of(exc) == ["camra"]


def test_metadata_must_be_json() -> None:
    assert Event(camera_id="cam", metadata={"a": [1, {"b": None}]}).metadata["a"][0] == 1
    for bad in ({"x": math.nan}, {"x": 2**70}, {"x": "\ud800"}, {"x": object()}):
        with pytest.raises(InvalidEventError) as exc:
            Event(camera_id="cam", metadata=bad)
        assert fields_of(exc)[0].startswith("metadata")


def test_metadata_is_capped_at_256_kib_encoded() -> None:
    # {"x":"..."} is 8 bytes of JSON around the string: 262,144 bytes in all fits exactly
    fits = Event(camera_id="cam", metadata={"x": "y" * (262_144 - 8)})
    assert len(fits.metadata["x"]) == 262_136
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", metadata={"x": "y" * (262_144 - 7)})
    assert fields_of(exc) == ["metadata"]
    assert "262,145 bytes as JSON; at most 262,144" in str(exc.value)


def test_text_with_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidEventError) as exc:
        Event(camera_id="cam", llm_description="bad \udc80 text")
    assert fields_of(exc) == ["llm_description"]


def test_assignment_is_validated() -> None:
    ev = Event(camera_id="cam")
    with pytest.raises(InvalidEventError) as exc:
        ev.timestamp = datetime(2026, 1, 1)
    assert fields_of(exc) == ["timestamp"]
    ev.person_name = "alice"
    assert ev.person_name == "alice"


def test_model_validate_and_json_raise_camvault_errors() -> None:
    with pytest.raises(InvalidEventError):
        Event.model_validate({"camera_id": "cam", "timestamp": "2026-01-01T00:00:00"})
    ev = Event.model_validate_json('{"camera_id": "cam", "timestamp": "2026-01-01T00:00:00Z"}')
    assert ev.timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidEventError):
        Event.model_validate_json('{"camera_id": 5}')


def test_labels_are_distinct_in_first_seen_order() -> None:
    ev = Event(
        camera_id="cam",
        detected_objects=[
            DetectedObject(label="car", confidence=0.5),
            DetectedObject(label="person", confidence=0.6),
            DetectedObject(label="car", confidence=0.7),
        ],
    )
    assert ev.labels == ["car", "person"]


def test_person_validation() -> None:
    assert Person(name="alice", authorized=True).authorized is True
    with pytest.raises(InvalidPersonError) as exc:
        Person(name="")
    assert exc.value.fields == ["name"]
    with pytest.raises(InvalidPersonError):
        Person(name="bob", created_at=datetime(2026, 1, 1))
