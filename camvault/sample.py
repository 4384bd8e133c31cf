"""Realistic sample events and frames, for the demo, the benchmark and tests.

Events look like a small home system's: four cameras and a smart lock, 0-6 detections
each, vision-language descriptions, face matches and door actions at the lock.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from camvault.models import DetectedObject, Event, utcnow

__all__ = ["CAMERAS", "LABELS", "PERSONS", "sample_events", "sample_frame"]

CAMERAS = ("front-door", "driveway", "backyard", "garage", "porch-lock")
LABELS = ("person", "car", "dog", "cat", "package", "bicycle", "truck")
_LABEL_WEIGHTS = (40, 25, 8, 6, 10, 6, 5)
PERSONS = ("alice", "bob", "carol")
_COLORS = {
    "person": (230, 80, 60),
    "car": (60, 120, 230),
    "dog": (200, 160, 60),
    "cat": (160, 90, 200),
    "package": (150, 110, 70),
    "bicycle": (60, 190, 120),
    "truck": (90, 90, 110),
}
_WHO = (
    "a person in a dark jacket",
    "a delivery driver",
    "a child on a scooter",
    "two adults",
    "a person carrying a backpack",
    "a jogger",
)
_DOING = (
    "walks up to the door",
    "rings the doorbell",
    "leaves a package on the step",
    "looks into the camera",
    "walks along the fence",
    "waits by the gate",
)
_VEHICLE = ("a white van", "a red hatchback", "a silver SUV", "a pickup truck")
_MOVE = (
    "pulls into the driveway",
    "parks on the street",
    "backs out of the driveway",
    "drives past slowly",
)
_LIGHT = ("in daylight", "at dusk", "at night under the porch light", "in light rain")


def _describe(rng: random.Random, labels: list[str]) -> str | None:
    """Write a vision-language style description for the labels seen."""
    if not labels:
        return (
            None if rng.random() < 0.5 else f"Motion with nothing identified {rng.choice(_LIGHT)}."
        )
    parts = []
    if "person" in labels:
        parts.append(f"{rng.choice(_WHO).capitalize()} {rng.choice(_DOING)}")
    if "car" in labels or "truck" in labels:
        parts.append(f"{rng.choice(_VEHICLE).capitalize()} {rng.choice(_MOVE)}")
    if "package" in labels:
        parts.append("A package is visible on the doorstep")
    for animal in ("dog", "cat"):
        if animal in labels:
            parts.append(f"A {animal} crosses the yard")
    if "bicycle" in labels:
        parts.append("A bicycle leans against the garage")
    return ". ".join(parts) + f", {rng.choice(_LIGHT)}."


def _objects(rng: random.Random) -> list[DetectedObject]:
    """Draw 0-6 detections with plausible boxes and confidences."""
    out = []
    for _ in range(rng.choices(range(7), weights=(15, 35, 22, 12, 8, 5, 3))[0]):
        x1, y1 = rng.uniform(0, 0.8), rng.uniform(0, 0.8)
        w, h = rng.uniform(0.05, 1 - x1), rng.uniform(0.05, 1 - y1)
        out.append(
            DetectedObject(
                label=rng.choices(LABELS, weights=_LABEL_WEIGHTS)[0],
                confidence=round(rng.uniform(0.3, 0.99), 3),
                bbox=(
                    round(x1, 4),
                    round(y1, 4),
                    round(min(x1 + w, 1.0), 4),
                    round(min(y1 + h, 1.0), 4),
                ),
            )
        )
    return out


def sample_events(
    n: int,
    *,
    seed: int = 0,
    end: datetime | None = None,
    span: timedelta = timedelta(days=7),
    cameras: tuple[str, ...] = CAMERAS,
) -> Iterator[Event]:
    """Yield ``n`` realistic events, oldest first, spread evenly over ``span`` before ``end``."""
    rng = random.Random(seed)
    end = end or utcnow()
    step = span / max(n, 1)
    start = end - span
    for i in range(n):
        camera = rng.choice(cameras)
        objects = _objects(rng)
        labels = [o.label for o in objects]
        event = Event(
            timestamp=start + step * i + timedelta(microseconds=rng.randrange(1000)),
            camera_id=camera,
            motion_confidence=round(rng.uniform(0.2, 1.0), 3),
            detected_objects=objects,
            llm_description=_describe(rng, labels),
            recording_id=f"clip-{seed}-{i:08d}" if rng.random() < 0.4 else None,
            metadata={"zone": rng.choice(("street", "yard", "door")), "model": "yolov8n"},
        )
        if camera == "porch-lock" and "person" in labels:
            known = rng.random() < 0.7
            name = rng.choice(PERSONS) if known else None
            event.person_name = name
            event.face_confidence = round(rng.uniform(0.6, 0.99), 3) if known else None
            event.face_distance = round(rng.uniform(0.2, 0.6), 3) if known else None
            event.unlock_granted = known and name != "carol"
            event.door_action = "unlock" if event.unlock_granted else "denied"
        yield event


def sample_frame(event: Event, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """Draw a synthetic camera frame with the event's detections as coloured boxes."""
    width, height = size
    hour = event.timestamp.hour
    sky = 40 + int(150 * max(0.0, 1 - abs(hour - 13) / 9))
    img = Image.new("RGB", size, (sky // 2, sky // 2 + 20, sky))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(70, 90, 60))
    for obj in event.detected_objects:
        if obj.bbox is None:
            continue
        x1, y1, x2, y2 = obj.bbox
        box = (x1 * width, y1 * height, x2 * width, y2 * height)
        draw.rectangle(box, fill=_COLORS.get(obj.label, (200, 200, 200)), outline=(255, 255, 255))
        draw.text((box[0] + 4, box[1] + 4), f"{obj.label} {obj.confidence:.2f}", fill=(0, 0, 0))
    draw.text(
        (10, 10), f"{event.camera_id}  {event.timestamp:%Y-%m-%d %H:%M:%S}", fill=(255, 255, 255)
    )
    return img
