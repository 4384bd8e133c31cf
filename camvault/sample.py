"""Realistic sample events and frames, for the demo, the benchmark and tests.

Events look like a small home system's: four cameras and a smart lock, 0-6 detections
each, vision-language descriptions, face matches and door actions at the lock. A description
agrees with its event: it names what was detected, in the right number ("two people walk"),
and the time of day it mentions is the event's local hour in the home's time zone.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from PIL import Image

from camvault.models import DetectedObject, Event, Person, utcnow
from camvault.scenes import draw_frame, part_of_day

__all__ = [
    "CAMERAS",
    "LABELS",
    "PERSONS",
    "SAMPLE_PERSONS",
    "sample_events",
    "sample_frame",
]

CAMERAS = ("front-door", "driveway", "backyard", "garage", "porch-lock")
LABELS = ("person", "car", "dog", "cat", "package", "bicycle", "truck")
_LABEL_WEIGHTS = (40, 25, 8, 6, 10, 6, 5)
PERSONS = ("alice", "bob", "carol")
SAMPLE_PERSONS = (
    Person(name="alice", authorized=True, notes="Lives here; the lock opens for her."),
    Person(name="bob", authorized=True, notes="Lives here; the lock opens for him."),
    Person(name="carol", authorized=False, notes="Neighbour; known face, the door stays locked."),
)
"""The known faces of the sample home: alice and bob may unlock, carol may not."""

_NUMBERS = ("no", "a", "two", "three", "four", "five", "six")
_WHO = (
    "a person in a dark jacket",
    "a delivery driver",
    "a child on a scooter",
    "a person carrying a backpack",
    "a jogger",
    "a neighbour",
)
_ANYONE = ("a person in a dark jacket", "a person carrying a backpack")
"""Subjects that fit a face the lock recognises (not "a delivery driver")."""
_GROUP = ("people", "adults", "visitors")
_DOING = {  # base (plural) forms; the singular is derived
    "front-door": ("walk up to the door", "ring the doorbell", "look into the camera"),
    "porch-lock": ("walk up to the door", "stand at the door", "look into the camera"),
    "driveway": ("walk up the driveway", "cross the driveway", "walk past the house"),
    "backyard": ("walk along the fence", "cross the lawn", "wait by the gate"),
    "garage": ("walk past the garage door", "stand by the garage", "wait by the side door"),
}
_CARS = ("a white van", "a red hatchback", "a silver SUV", "a black saloon")
_TRUCKS = ("a pickup truck", "a delivery truck", "a white box truck")
_MOVE = ("pull into the driveway", "park on the street", "back out of the driveway", "drive past")
_ANIMAL = {
    "dog": ("cross the yard", "sniff around the doorstep", "run across the lawn"),
    "cat": ("walk along the fence", "sit on the wall", "cross the yard"),
}
_WHEN = {
    "night": ("at night", "on a rainy night", "at night, seen in infrared"),
    "morning": ("in the morning", "on a rainy morning", "in the morning sun"),
    "afternoon": ("in the afternoon", "on a rainy afternoon", "in the afternoon sun"),
    "evening": ("in the evening", "on a rainy evening", "in the evening twilight"),
}
_DOOR_CAMERAS = ("front-door", "porch-lock")


def _when(rng: random.Random, camera: str, hour: int) -> str:
    """Say when, in words that fit the local hour (and the camera, for the porch light)."""
    part = part_of_day(hour)
    if part == "night" and camera in _DOOR_CAMERAS and rng.random() < 0.5:
        return "at night under the porch light"
    if part == "morning" and hour < 8 and rng.random() < 0.5:
        return "in the early morning light"
    return rng.choice(_WHEN[part])


def _singular(verb_phrase: str) -> str:
    """Turn a base-form verb phrase into its third-person singular: walk up -> walks up."""
    verb, _, rest = verb_phrase.partition(" ")
    verb += "es" if verb.endswith(("s", "sh", "ch", "x", "z")) else "s"
    return f"{verb} {rest}".strip()


def _clause(subject: str, verb_phrase: str, count: int) -> str:
    """Join a subject and a verb phrase that agree in number."""
    return f"{subject} {verb_phrase if count > 1 else _singular(verb_phrase)}"


def _things(count: int, one: str, many: str) -> str:
    """Return 'a dog' or 'three dogs'."""
    return f"{_NUMBERS[min(count, 6)]} {one if count == 1 else many}"


def _describe(
    rng: random.Random,
    camera: str,
    labels: list[str],
    hour: int,
    *,
    person: str | None = None,
    granted: bool | None = None,
) -> str | None:
    """Write a vision-language style description that agrees with the event."""
    when = _when(rng, camera, hour)
    if not labels:
        return None if rng.random() < 0.5 else f"Motion with nothing identified {when}."
    seen = {label: labels.count(label) for label in LABELS}
    sentences = []
    people = seen["person"]
    if people:
        if people == 1:
            subject = rng.choice(_WHO if person is None else _ANYONE)
        else:
            subject = f"{_NUMBERS[min(people, 6)]} {rng.choice(_GROUP)}"
        doing = rng.choice(_DOING.get(camera, _DOING["front-door"]))
        sentences.append(_clause(subject, doing, people))
    for label, names in (("car", _CARS), ("truck", _TRUCKS)):
        if count := seen[label]:
            subject = rng.choice(names) if count == 1 else _things(count, label, f"{label}s")
            sentences.append(_clause(subject, rng.choice(_MOVE), count))
    if count := seen["package"]:
        verb = "is" if count == 1 else "are"
        sentences.append(f"{_things(count, 'package', 'packages')} {verb} on the doorstep")
    for animal, doings in _ANIMAL.items():
        if count := seen[animal]:
            subject = _things(count, animal, f"{animal}s")
            sentences.append(_clause(subject, rng.choice(doings), count))
    if count := seen["bicycle"]:
        sentences.append(_clause(_things(count, "bicycle", "bicycles"), "lean on the fence", count))
    if person is not None:
        outcome = "and the door unlocks" if granted else "but the door stays locked for them"
        sentences.append(f"{person} is recognised {outcome}")
    elif granted is False:
        sentences.append("no face is recognised and the door stays locked")
    sentences[0] += f" {when}"
    return ". ".join(s[0].upper() + s[1:] for s in sentences) + "."


_SIZES = {  # label: (height range as a share of the frame, width / height)
    "person": ((0.25, 0.6), 0.42),
    "car": ((0.15, 0.32), 2.3),
    "truck": ((0.2, 0.38), 2.2),
    "package": ((0.06, 0.12), 1.3),
    "dog": ((0.1, 0.2), 1.5),
    "cat": ((0.07, 0.13), 1.4),
    "bicycle": ((0.14, 0.24), 1.7),
}


def _objects(rng: random.Random) -> list[DetectedObject]:
    """Draw 0-6 detections standing on the ground, sized for their label, with confidences."""
    out = []
    for _ in range(rng.choices(range(7), weights=(15, 35, 22, 12, 8, 5, 3))[0]):
        label = rng.choices(LABELS, weights=_LABEL_WEIGHTS)[0]
        (low, high), aspect = _SIZES[label]
        h = rng.uniform(low, high)
        w = min(0.95, h * aspect * 360 / 640)  # boxes are shares of a 16:9 frame
        y2 = rng.uniform(max(h, 0.62), 0.98)
        x1 = rng.uniform(0.01, 0.99 - w)
        out.append(
            DetectedObject(
                label=label,
                confidence=round(rng.uniform(0.3, 0.99), 3),
                bbox=(round(x1, 4), round(y2 - h, 4), round(x1 + w, 4), round(y2, 4)),
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
    tz: tzinfo = UTC,
) -> Iterator[Event]:
    """Yield ``n`` realistic events, oldest first, spread evenly over ``span`` before ``end``.

    Descriptions speak of the time of day in ``tz``, the sample home's time zone.
    """
    rng = random.Random(seed)
    end = end or utcnow()
    step = span / max(n, 1)
    start = end - span
    for i in range(n):
        camera = rng.choice(cameras)
        objects = _objects(rng)
        labels = [o.label for o in objects]
        timestamp = start + step * i + timedelta(microseconds=rng.randrange(1000))
        name: str | None = None
        face: tuple[float, float] | None = None
        granted: bool | None = None
        if camera == "porch-lock" and "person" in labels:
            known = rng.random() < 0.7
            name = rng.choice(PERSONS) if known else None
            if known:
                face = (round(rng.uniform(0.6, 0.99), 3), round(rng.uniform(0.2, 0.6), 3))
            granted = known and name != "carol"
        hour = timestamp.astimezone(tz).hour
        yield Event(
            timestamp=timestamp,
            camera_id=camera,
            motion_confidence=round(rng.uniform(0.2, 1.0), 3),
            detected_objects=objects,
            llm_description=_describe(rng, camera, labels, hour, person=name, granted=granted),
            recording_id=f"clip-{seed}-{i:08d}" if rng.random() < 0.4 else None,
            metadata={"zone": rng.choice(("street", "yard", "door")), "model": "yolov8n"},
            person_name=name,
            face_confidence=face[0] if face else None,
            face_distance=face[1] if face else None,
            unlock_granted=granted,
            door_action=None if granted is None else ("unlock" if granted else "denied"),
        )


def sample_frame(
    event: Event, size: tuple[int, int] = (1280, 720), tz: tzinfo = UTC
) -> Image.Image:
    """Draw a synthetic camera frame of the event: its scene at its local hour and detections."""
    local = event.timestamp.astimezone(tz)
    caption = f"{event.camera_id}  {local:%Y-%m-%d %H:%M:%S}"
    return draw_frame(event.camera_id, local.hour, event.detected_objects, size, caption)
