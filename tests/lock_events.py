"""Three events that tell the filters apart: alice let in, bob denied, a van on the drive."""

from __future__ import annotations

from datetime import datetime, timedelta

from camvault import DetectedObject, Event


def lock_events(at: datetime) -> list[Event]:
    """Return the three events, all at ``at``; expected filter results are written by hand.

    e1 ended after 30 s (porch and door zones, from mqtt); e2 (porch, from the api) and e3
    (drive, plate AB123CD, from frigate) are still in progress.
    """
    return [
        Event(
            event_id="e1",
            camera_id="porch",
            timestamp=at,
            person_name="alice",
            unlock_granted=True,
            door_action="unlock",
            detected_objects=[DetectedObject(label="person", confidence=0.9)],
            end_time=at + timedelta(seconds=30),
            zones=["porch", "door"],
            source="mqtt",
        ),
        Event(
            event_id="e2",
            camera_id="porch",
            timestamp=at,
            person_name="bob",
            unlock_granted=False,
            door_action="denied",
            zones=["porch"],
            source="api",
        ),
        Event(
            event_id="e3",
            camera_id="drive",
            timestamp=at,
            llm_description="A red van parks.",
            detected_objects=[DetectedObject(label="car", confidence=0.6)],
            zones=["drive"],
            license_plate="AB123CD",
            source="frigate",
        ),
    ]
