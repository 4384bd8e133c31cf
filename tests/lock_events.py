"""Three events that tell the filters apart: alice let in, bob denied, a van on the drive."""

from __future__ import annotations

from datetime import datetime

from camvault import DetectedObject, Event


def lock_events(at: datetime) -> list[Event]:
    """Return the three events, all at ``at``; expected filter results are written by hand."""
    return [
        Event(
            event_id="e1",
            camera_id="porch",
            timestamp=at,
            person_name="alice",
            unlock_granted=True,
            door_action="unlock",
            detected_objects=[DetectedObject(label="person", confidence=0.9)],
        ),
        Event(
            event_id="e2",
            camera_id="porch",
            timestamp=at,
            person_name="bob",
            unlock_granted=False,
            door_action="denied",
        ),
        Event(
            event_id="e3",
            camera_id="drive",
            timestamp=at,
            llm_description="A red van parks.",
            detected_objects=[DetectedObject(label="car", confidence=0.6)],
        ),
    ]
