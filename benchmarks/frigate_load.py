"""The Frigate workload: lifecycles of tracked objects in Frigate 0.16's MQTT shape, published.

A lifecycle is what Frigate sends on ``<prefix>/events`` for one tracked object: ``new``,
three ``update`` and ``end``, each ``{"type", "before", "after"}`` with the whole object
(box and region in pixels of the camera's detect frame, zones, sub label, plate, snapshot,
speed fields, path). Lifecycles of several cameras overlap in time: the messages of
``OVERLAP`` consecutive objects are interleaved, as when many objects are tracked at once.
Payloads are encoded before any timing; the publisher notes when each ``new`` left.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from camvault.ingest.mqtt import parse_mqtt_url

CAMERAS: dict[str, tuple[int, int]] = {
    "front_door": (1280, 720),
    "driveway": (1920, 1080),
    "backyard": (1280, 720),
    "garage": (640, 480),
    "street": (2560, 1440),
    "side_gate": (1280, 720),
}
"""Camera name -> detect (width, height)."""
ZONES: dict[str, tuple[str, ...]] = {
    "front_door": ("porch", "steps", "walkway"),
    "driveway": ("driveway", "apron"),
    "backyard": ("lawn", "patio", "pool"),
    "garage": ("bay_1", "bay_2"),
    "street": ("sidewalk", "road"),
    "side_gate": ("gate",),
}
LABELS = (("person", 0.55), ("car", 0.25), ("dog", 0.1), ("cat", 0.05), ("package", 0.05))
FACES = ("alice", "bob", "carol")
MESSAGES_PER_LIFECYCLE = 5
"""new, three updates, end."""
OVERLAP = 8
"""A lifecycle's next message comes this many lifecycle starts later: ~32 objects in flight."""


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message of the workload, encoded."""

    object_id: str
    kind: str
    payload: bytes


@dataclass(slots=True)
class Workload:
    """The messages to publish, in order, and what the store must hold afterwards."""

    messages: list[Message]
    final_top_score: dict[str, float]
    """Object id -> top score of its ``end`` message."""
    payload_bytes: int = 0

    @property
    def lifecycles(self) -> int:
        """How many lifecycles the workload holds."""
        return len(self.final_top_score)


def _box(rng: random.Random, frame: tuple[int, int]) -> list[int]:
    """Return a pixel box ``[x1, y1, x2, y2]`` inside the frame."""
    width, height = frame
    w = rng.randint(width // 20, width // 3)
    h = rng.randint(height // 10, height // 2)
    x1 = rng.randint(0, width - w)
    y1 = rng.randint(0, height - h)
    return [x1, y1, x1 + w, y1 + h]


def _region(box: list[int], frame: tuple[int, int]) -> list[int]:
    """Return the square detection region around a box, clipped to the frame."""
    side = min(max(box[2] - box[0], box[3] - box[1], 320), frame[0], frame[1])
    x1 = max(0, min(box[0], frame[0] - side))
    y1 = max(0, min(box[1], frame[1] - side))
    return [x1, y1, x1 + side, y1 + side]


def _pick_label(rng: random.Random) -> str:
    """Pick a label with Frigate-like frequencies."""
    return rng.choices([n for n, _ in LABELS], weights=[w for _, w in LABELS])[0]


def lifecycle(rng: random.Random, start: float, prefix: str = "") -> list[dict[str, Any]]:
    """Return the five ``after`` states of one tracked object (Frigate 0.16's to_dict shape)."""
    camera = rng.choice(list(CAMERAS))
    frame = CAMERAS[camera]
    label = _pick_label(rng)
    object_id = f"{prefix}{start:.6f}-{uuid.UUID(int=rng.getrandbits(128)).hex[:6]}"
    zones = list(ZONES[camera])
    rng.shuffle(zones)
    face = rng.choice(FACES) if label == "person" and rng.random() < 0.3 else None
    plate = f"{rng.choice('ABCDEFGH')}{rng.randint(100, 999)}XYZ" if label == "car" else None
    states: list[dict[str, Any]] = []
    top = 0.0
    path: list[list[Any]] = []
    entered: list[str] = []
    for step in range(MESSAGES_PER_LIFECYCLE):
        frame_time = start + step * rng.uniform(0.4, 2.0)
        score = round(rng.uniform(0.5, 0.97), 4)
        top = max(top, score)
        box = _box(rng, frame)
        current = zones[: rng.randint(0, len(zones))] if step else []
        entered += [z for z in current if z not in entered]
        center = [round((box[0] + box[2]) / 2 / frame[0], 4), round(box[3] / frame[1], 4)]
        path.append([center, frame_time])
        has_sub = face is not None and step >= 2
        has_plate = plate is not None and step >= 1
        area = (box[2] - box[0]) * (box[3] - box[1])
        speed = round(rng.uniform(0, 12), 1) if label == "car" else 0
        snapshot = {
            "frame_time": frame_time,
            "box": box,
            "area": area,
            "region": _region(box, frame),
            "score": score,
            "attributes": [],
            "current_estimated_speed": speed,
            "velocity_angle": 0,
            "path_data": [],
            "recognized_license_plate": plate if has_plate else None,
            "recognized_license_plate_score": 0.91 if has_plate else None,
        }
        states.append(
            {
                "id": object_id,
                "camera": camera,
                "frame_time": frame_time,
                "snapshot": snapshot if step else None,
                "label": label,
                "sub_label": [face, 0.87] if has_sub else None,
                "top_score": top,
                "false_positive": False,
                "start_time": start,
                "end_time": frame_time if step == MESSAGES_PER_LIFECYCLE - 1 else None,
                "score": score,
                "box": box,
                "area": area,
                "ratio": round((box[2] - box[0]) / (box[3] - box[1]), 3),
                "region": _region(box, frame),
                "active": True,
                "stationary": False,
                "motionless_count": 0,
                "position_changes": step + 1,
                "current_zones": current,
                "entered_zones": list(entered),
                "has_clip": step > 0,
                "has_snapshot": step > 0,
                "attributes": {"face": 0.83} if has_sub else {},
                "current_attributes": [],
                "pending_loitering": False,
                "max_severity": "alert" if label == "person" else "detection",
                "current_estimated_speed": speed,
                "average_estimated_speed": speed,
                "velocity_angle": 0,
                "path_data": [list(p) for p in path],
                "recognized_license_plate": [plate, 0.91] if has_plate else None,
            }
        )
    return states


KINDS = ("new", "update", "update", "update", "end")


def workload(n: int, *, seed: int, prefix: str = "", start: float | None = None) -> Workload:
    """Return ``n`` overlapping lifecycles as encoded messages in publish order."""
    rng = random.Random(seed)
    t0 = time.time() if start is None else start
    keyed: list[tuple[int, int, Message]] = []
    final: dict[str, float] = {}
    for i in range(n):
        states = lifecycle(rng, t0 + i * 0.05, prefix)
        object_id = states[0]["id"]
        final[object_id] = states[-1]["top_score"]
        for k, after in enumerate(states):
            before = states[k - 1] if k else after
            body = {"type": KINDS[k], "before": before, "after": after}
            keyed.append((i + k * OVERLAP, i, Message(object_id, KINDS[k], orjson.dumps(body))))
    keyed.sort(key=lambda x: (x[0], x[1]))
    messages = [m for _, _, m in keyed]
    return Workload(messages, final, sum(len(m.payload) for m in messages))


@dataclass(slots=True)
class Published:
    """What the publisher did: when each ``new`` left (monotonic ns) and the wall time."""

    new_sent_ns: dict[str, int] = field(default_factory=dict)
    first_ns: int = 0
    last_ns: int = 0
    messages: int = 0


def connect(url: str, client_id: str) -> mqtt.Client:
    """Return a connected paho client with its network loop running on a thread."""
    target = parse_mqtt_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.max_queued_messages_set(0)
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port, keepalive=60)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected():
        if time.monotonic() > deadline:
            client.loop_stop()
            raise ConnectionError(f"cannot connect to the MQTT broker at {target}")
        time.sleep(0.01)
    return client


def publish(
    client: mqtt.Client,
    topic: str,
    messages: Sequence[Message],
    *,
    qos: int = 0,
    rate: float | None = None,
    out: Published | None = None,
) -> Published:
    """Publish ``messages`` (at most ``rate`` a second) and wait until paho has sent them."""
    out = out if out is not None else Published()
    clock = time.monotonic_ns
    infos: list[mqtt.MQTTMessageInfo] = []
    start = clock()
    out.first_ns = out.first_ns or start
    step_ns = None if not rate else int(1e9 / rate)
    for i, message in enumerate(messages):
        if step_ns is not None and i % 10 == 0:
            ahead = start + i * step_ns - clock()
            if ahead > 0:
                time.sleep(ahead / 1e9)
        if message.kind == "new":
            out.new_sent_ns[message.object_id] = clock()
        infos.append(client.publish(topic, message.payload, qos=qos))
    for info in infos:
        info.wait_for_publish(timeout=60)
    out.last_ns = clock()
    out.messages += len(messages)
    return out


def close(client: mqtt.Client) -> None:
    """Disconnect a client made by connect()."""
    client.disconnect()
    client.loop_stop()
