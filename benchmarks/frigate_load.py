"""The Frigate workload: lifecycles of tracked objects in Frigate 0.16's MQTT shape, published.

A lifecycle is what Frigate sends on ``<prefix>/events`` for one tracked object: ``new``,
three ``update`` and ``end``, each ``{"type", "before", "after"}`` with the whole object
(box and region in pixels of the camera's detect frame, zones, sub label, plate, snapshot,
speed fields, path), built with the payload builders the ingest tests use. Lifecycles of
several cameras overlap in time: each message of an object comes ``OVERLAP`` object starts
after the previous one, as when many objects are tracked at once.
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
from tests.frigate_payloads import events_message, tracked_object

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


INFLIGHT = 1000
"""QoS 1 messages the publisher may have unacknowledged (paho's default of 20 would time the
round trips rather than the consumer)."""


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


def _box(rng: random.Random, frame: tuple[int, int]) -> tuple[int, int, int, int]:
    """Return a pixel box ``(x1, y1, x2, y2)`` inside the frame."""
    width, height = frame
    w = rng.randint(width // 20, width // 3)
    h = rng.randint(height // 10, height // 2)
    x1 = rng.randint(0, width - w)
    y1 = rng.randint(0, height - h)
    return (x1, y1, x1 + w, y1 + h)


def _pick_label(rng: random.Random) -> str:
    """Pick a label with Frigate-like frequencies."""
    return rng.choices([n for n, _ in LABELS], weights=[w for _, w in LABELS])[0]


def lifecycle(rng: random.Random, start: float, prefix: str = "") -> list[dict[str, Any]]:
    """Return the five ``after`` states of one tracked object, in Frigate 0.16's shape.

    Scores wander, the top score is the best so far, zones are entered along the way, a
    face's name appears on the third message of some persons and a plate on every car.
    """
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
    entered: list[str] = []
    frame_time = start
    for step in range(MESSAGES_PER_LIFECYCLE):
        frame_time += rng.uniform(0.4, 2.0) if step else 0.0
        score = round(rng.uniform(0.5, 0.97), 4)
        top = max(top, score)
        current = zones[: rng.randint(0, len(zones))] if step else []
        entered += [z for z in current if z not in entered]
        box = _box(rng, frame)
        last = step == MESSAGES_PER_LIFECYCLE - 1
        states.append(
            tracked_object(
                "0.16",
                object_id,
                camera=camera,
                label=label,
                start_time=start,
                end_time=frame_time if last else None,
                frame_time=frame_time,
                score=score,
                top_score=top,
                box=box,
                sub_label=(face, 0.87) if face is not None and step >= 2 else None,
                current_zones=current,
                entered_zones=entered,
                plate=(plate, 0.91) if plate is not None and step >= 1 else None,
                has_snapshot=step > 0,
                has_clip=step > 0,
            )
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
            body = orjson.dumps(events_message(KINDS[k], before, after))
            keyed.append((i + k * OVERLAP, i, Message(object_id, KINDS[k], body)))
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
    client.max_inflight_messages_set(INFLIGHT)
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
