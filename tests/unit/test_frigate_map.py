"""Frigate payloads of 0.13, 0.14 and 0.16+ map onto camvault events as the README says.

Expected values are worked out by hand from the builders' documented numbers: START is
2026-10-26T07:33:20Z, the frame is 1280x720, a lifecycle with three updates ends at
START + 4 with its box at x = 100 + 40 * 4 = 260 px, 200 px wide, y 200..600, top score 0.8.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from camvault import Event
from camvault.errors import InvalidInputError
from camvault.ingest.frigate_map import (
    apply_review,
    apply_tracked_update,
    event_from_api,
    event_from_mqtt,
    is_false_positive,
    review_event_ids,
)
from tests.frigate_payloads import (
    FRAME,
    START,
    VERSIONS,
    api_event,
    db_row,
    description_update,
    face_update,
    lifecycle,
    lpr_update,
    make_id,
    review_message,
    tracked_object,
)

STARTED = datetime(2026, 10, 26, 7, 33, 20, tzinfo=UTC)
ENDED = datetime(2026, 10, 26, 7, 33, 24, tzinfo=UTC)
EID = make_id(START)


def play(messages: list[dict[str, Any]], frame: tuple[int, int] | None = FRAME) -> Event:
    """Fold the ``after`` objects of some ``frigate/events`` messages into one event."""
    event: Event | None = None
    for message in messages:
        event = event_from_mqtt(message["after"], frame, event)
    assert event is not None
    return event


@pytest.mark.parametrize("version", VERSIONS)
def test_a_whole_lifecycle_becomes_one_event_with_frigate_fields_mapped(version: str) -> None:
    messages = lifecycle(version, EID, sub_label=("alice", 0.9), plate=("KA123", 0.85))
    event = play(messages)
    assert event.event_id == EID
    assert event.camera_id == "front_door"
    assert event.timestamp == STARTED
    assert event.end_time == ENDED
    assert event.source == "frigate"
    assert event.zones == ["yard", "driveway"]
    assert event.person_name == "alice"
    assert event.face_confidence == 0.9
    assert event.license_plate == ("KA123" if version >= "0.16" else None)
    [obj] = event.detected_objects
    assert obj.label == "person"
    assert obj.confidence == pytest.approx(0.8)
    assert obj.bbox == pytest.approx((260 / 1280, 200 / 720, 460 / 1280, 600 / 720))
    assert event.metadata["frigate"] == messages[-1]["after"]


def test_a_box_stays_in_pixels_when_the_frame_is_unknown() -> None:
    event = play(lifecycle("0.14", EID), frame=None)
    assert event.detected_objects[0].bbox == (260, 200, 460, 600)


def test_the_box_of_the_best_snapshot_is_preferred_to_the_current_box() -> None:
    after = tracked_object("0.16", EID, box=(0, 0, 128, 72), snapshot_box=(640, 360, 1280, 720))
    assert event_from_mqtt(after, FRAME).detected_objects[0].bbox == (0.5, 0.5, 1.0, 1.0)
    del after["snapshot"]  # as in payloads that carry only the current box
    assert event_from_mqtt(after, FRAME).detected_objects[0].bbox == (0.0, 0.0, 0.1, 0.1)


def test_a_pixel_box_past_the_frame_edge_is_clamped_to_it() -> None:
    after = tracked_object("0.16", EID, box=(1200, 700, 1300, 740))
    bbox = event_from_mqtt(after, FRAME).detected_objects[0].bbox
    assert bbox == pytest.approx((1200 / 1280, 700 / 720, 1.0, 1.0))


def test_fields_the_payload_does_not_speak_of_are_kept_from_the_previous_event() -> None:
    messages = lifecycle("0.16", EID)
    first = event_from_mqtt(messages[0]["after"], FRAME)
    held = first.model_copy(
        update={
            "llm_description": "a courier at the door",
            "person_name": "bob",
            "metadata": {**first.metadata, "review": {"id": "r1", "severity": "alert"}},
            "retain": True,
        }
    )
    event = event_from_mqtt(messages[1]["after"], FRAME, held)
    assert event.llm_description == "a courier at the door"
    assert event.person_name == "bob"
    assert event.retain is True
    assert event.metadata["review"] == {"id": "r1", "severity": "alert"}
    assert event.metadata["frigate"] == messages[1]["after"]


def test_repeated_and_late_messages_change_nothing_already_known() -> None:
    messages = lifecycle("0.16", EID)
    final = play(messages)
    assert event_from_mqtt(messages[-1]["after"], FRAME, final) == final  # repeated
    late = event_from_mqtt(messages[1]["after"], FRAME, final)  # an update after the end
    assert late.end_time == ENDED
    assert late.detected_objects[0].confidence == pytest.approx(0.8)
    assert late.zones == ["yard", "driveway"]


def test_a_sub_label_on_something_else_than_a_person_goes_to_metadata() -> None:
    after = tracked_object("0.14", EID, label="car", sub_label=("fedex", 0.77))
    event = event_from_mqtt(after, FRAME)
    assert event.person_name is None
    assert event.face_confidence is None
    assert event.metadata["sub_label"] == "fedex"
    assert event.metadata["sub_label_score"] == 0.77


def test_fields_of_newer_versions_are_kept_and_break_nothing() -> None:
    after = tracked_object("0.17", EID)
    after["some_future_field"] = {"nested": [1, 2]}
    after["snapshot"]["future"] = True
    event = event_from_mqtt(after, FRAME)
    assert event.metadata["frigate"]["some_future_field"] == {"nested": [1, 2]}  # type: ignore[index,call-overload]


def test_the_base64_thumbnail_is_not_kept_in_metadata() -> None:
    after = tracked_object("0.13", EID)
    after["thumbnail"] = base64.b64encode(b"jpeg bytes").decode()
    assert "thumbnail" not in event_from_mqtt(after, FRAME).metadata["frigate"]  # type: ignore[operator]


def test_a_database_row_of_013_maps_with_its_json_columns_decoded() -> None:
    row = db_row(
        "0.13",
        EID,
        box=(0.1, 0.25, 0.2, 0.5),
        zones=("yard", "porch"),
        sub_label="carol",
        sub_label_score=0.66,
        description="ignored before 0.14",
        retain=True,
    )
    event = event_from_api(row)
    assert event.event_id == EID
    assert event.timestamp == STARTED
    assert event.end_time == datetime(2026, 10, 26, 7, 33, 25, tzinfo=UTC)
    assert event.zones == ["yard", "porch"]
    assert event.person_name == "carol"
    assert event.face_confidence == 0.66
    assert event.llm_description is None
    assert event.retain is True
    [obj] = event.detected_objects
    assert obj.confidence == 0.8  # data.top_score: the top_score column is NULL since 0.13
    assert obj.bbox == pytest.approx((0.1, 0.25, 0.3, 0.75))
    kept = event.metadata["frigate"]
    assert isinstance(kept, dict)
    assert "thumbnail" not in kept
    assert kept["zones"] == ["yard", "porch"]
    assert isinstance(kept["data"], dict) and kept["data"]["box"] == [0.1, 0.25, 0.2, 0.5]


@pytest.mark.parametrize("version", ["0.14", "0.16", "0.17"])
def test_an_api_item_brings_the_description_and_the_plate(version: str) -> None:
    item = api_event(version, EID, label="car", description="A red sedan.", plate=("KA123", 0.9))
    event = event_from_api(item)
    assert event.llm_description == "A red sedan."
    assert event.license_plate == ("KA123" if version >= "0.16" else None)
    assert event.detected_objects[0].label == "car"


def test_an_api_item_in_progress_has_no_end_time() -> None:
    assert event_from_api(api_event("0.16", EID, end_time=None)).end_time is None


def test_an_api_item_replaces_the_zones_and_keeps_a_later_description() -> None:
    held = event_from_api(api_event("0.16", EID, zones=("yard",), description="first"))
    held = apply_tracked_update(held, description_update(EID, "newer"))
    event = event_from_api(api_event("0.16", EID, zones=("porch",)), held)
    assert event.zones == ["porch"]
    assert event.llm_description == "newer"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_time", "yesterday"),
        ("start_time", None),
        ("start_time", 1e12),
        ("end_time", True),
        ("id", ""),
        ("camera", 5),
        ("top_score", 1.5),
        ("box", [1, 2, 3]),
        ("box", [500, 10, 100, 20]),
        ("sub_label", [1, 2, 3]),
        ("entered_zones", "yard"),
        ("recognized_license_plate", {"plate": "x"}),
    ],
)
def test_a_malformed_mqtt_object_is_refused_naming_the_field(field: str, value: Any) -> None:
    after = tracked_object("0.16", EID)
    after[field] = value
    del after["snapshot"]
    with pytest.raises(InvalidInputError) as info:
        event_from_mqtt(after, FRAME)
    assert any(f.split(".")[0].split("[")[0] == field for f in info.value.fields), info.value


def test_a_missing_field_and_a_bad_frame_are_named() -> None:
    after = tracked_object("0.16", EID)
    del after["camera"]
    with pytest.raises(InvalidInputError, match="camera"):
        event_from_mqtt(after, FRAME)
    with pytest.raises(InvalidInputError, match="frame"):
        event_from_mqtt(tracked_object("0.16", EID), (0, 720))
    with pytest.raises(InvalidInputError):
        event_from_mqtt(["not", "an", "object"], FRAME)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("data", "{not json", "data"),
        ("data", {"box": [0.1, 0.1, -0.2, 0.1]}, "data.box"),
        ("zones", "[1, 2]", "zones[0]"),
        ("retain_indefinitely", "maybe", "retain_indefinitely"),
    ],
)
def test_a_malformed_row_is_refused_naming_the_field(field: str, value: Any, named: str) -> None:
    row = db_row("0.16", EID)
    row[field] = value
    with pytest.raises(InvalidInputError) as info:
        event_from_api(row)
    assert named in info.value.fields


def test_tracked_object_updates_set_the_description_the_face_and_the_plate() -> None:
    event = play(lifecycle("0.16", EID))
    event = apply_tracked_update(event, description_update(EID, "A man walks a dog."))
    assert event.llm_description == "A man walks a dog."
    event = apply_tracked_update(event, face_update(EID, "dave", 0.93))
    assert (event.person_name, event.face_confidence) == ("dave", 0.93)
    event = apply_tracked_update(event, face_update(EID, None, 0.2))  # no match: kept
    assert (event.person_name, event.face_confidence) == ("dave", 0.93)
    event = apply_tracked_update(event, lpr_update(EID, "XY987", 0.8))
    assert event.license_plate == "XY987"
    later = {"type": "classification", "id": EID, "sub_label": "courier", "score": 0.9}
    event = apply_tracked_update(event, later)
    updates = event.metadata["frigate_updates"]
    assert isinstance(updates, dict)
    assert sorted(updates) == ["classification", "description", "face", "lpr"]
    assert event.end_time == ENDED  # untouched


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"type": "description", "id": "someone-else", "description": "x"}, "id"),
        ({"type": "description", "id": EID}, "description"),
        ({"type": "lpr", "id": EID, "plate": ""}, "plate"),
        ({"id": EID, "description": "x"}, "type"),
        ({"type": "face", "id": EID, "name": "eve", "score": 7}, "score"),
    ],
)
def test_a_malformed_tracked_update_is_refused_naming_the_field(
    payload: dict[str, Any], named: str
) -> None:
    event = play(lifecycle("0.16", EID))
    with pytest.raises(InvalidInputError) as info:
        apply_tracked_update(event, payload)
    assert named in info.value.fields


def test_a_review_keeps_its_id_and_severity_and_names_its_detections() -> None:
    event = play(lifecycle("0.16", EID))
    message = review_message("update", "1793000000.5-rev", [EID, "other"], severity="alert")
    assert review_event_ids(message["after"]) == [EID, "other"]
    reviewed = apply_review(event, message["after"])
    assert reviewed.metadata["review"] == {"id": "1793000000.5-rev", "severity": "alert"}
    assert reviewed.metadata["frigate"] == event.metadata["frigate"]
    with pytest.raises(InvalidInputError, match="severity"):
        apply_review(event, {"id": "r"})
    with pytest.raises(InvalidInputError, match=r"data\.detections"):
        review_event_ids({"id": "r", "data": {"detections": "x"}})


def test_false_positives_are_recognised() -> None:
    assert is_false_positive(tracked_object("0.16", EID, false_positive=True))
    assert not is_false_positive(tracked_object("0.13", EID))
    assert not is_false_positive({})
    with pytest.raises(InvalidInputError, match="false_positive"):
        is_false_positive({"false_positive": "yes"})


def test_mqtt_and_the_database_row_frigate_writes_from_it_agree() -> None:
    messages = lifecycle("0.16", EID, sub_label=("alice", 0.9), plate=("KA123", 0.85))
    live = play(messages)
    # what Frigate's event maintainer stores for the last message: the snapshot box made
    # relative as [x / w, y / h, width / w, height / h], the sub label split in two
    row = db_row(
        "0.16", EID, start_time=START, end_time=START + 4, top_score=0.8, score=0.75,
        box=(260 / 1280, 200 / 720, 200 / 1280, 400 / 720), zones=("yard", "driveway"),
        sub_label="alice", sub_label_score=0.9, plate=("KA123", 0.85),
    )  # fmt: skip
    stored = event_from_api(row)
    keep = ["event_id", "camera_id", "timestamp", "end_time", "zones", "person_name",
            "face_confidence", "license_plate", "source"]  # fmt: skip
    assert stored.model_dump(include=set(keep)) == live.model_dump(include=set(keep))
    [a], [b] = stored.detected_objects, live.detected_objects
    assert (a.label, a.confidence) == (b.label, b.confidence)
    assert a.bbox == pytest.approx(b.bbox)


def test_columns_of_newer_database_versions_are_kept() -> None:
    row = {**db_row("0.17", EID), "some_future_column": "x"}
    assert event_from_api(row).metadata["frigate"]["some_future_column"] == "x"  # type: ignore[index,call-overload]
