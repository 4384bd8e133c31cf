"""Live Frigate ingest against a real Mosquitto and a fake Frigate HTTP API.

Payloads are built in the shapes of Frigate 0.13, 0.14 and 0.16+ (tests/frigate_payloads.py);
what is stored is checked against hand-computed values with plain SQL on the database. Every
test has its own topic prefix (Frigate's ``topic_prefix``) and client id, its own database,
and removes its persistent session from the broker when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from camvault.aio import AsyncEventStore
from camvault.ingest.frigate import FrigateStats, consume_frigate
from tests.conftest import raw_connection
from tests.frigate_fake import FakeFrigate, frigate_fake_fixture
from tests.frigate_payloads import (
    START,
    api_event,
    description_update,
    events_message,
    jpeg_bytes,
    lifecycle,
    review_message,
    tracked_object,
)
from tests.integration.conftest import PYTHON, child_env
from tests.mqtt_broker import (
    DEADLINE,
    MQTT_URL,
    PrivateBroker,
    forget_session,
    free_port,
    private_broker_fixture,
    publish,
    publisher,
    until,
)

pytestmark = pytest.mark.skipif(not MQTT_URL, reason="CAMVAULT_TEST_MQTT_URL is not set")
_ = (frigate_fake_fixture, private_broker_fixture)  # fixtures used by name below
LOGGER = "camvault.ingest.frigate"
W, H = 1280, 720  # the fake Frigate's front_door detect size


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    """Give a test its own Frigate topic prefix and client id; drop the session afterwards."""
    tag = uuid.uuid4().hex[:12]
    client_id = f"camvault-test-{tag}"
    yield f"camvault-test/{tag}/frigate", client_id
    asyncio.run(forget_session(MQTT_URL, client_id))


def sql(store: AsyncEventStore, query: str) -> list[tuple[Any, ...]]:
    """Run plain SQL on a connection of the test's own (an oracle beside the store)."""
    conn = raw_connection(store.store)
    try:
        return [tuple(row) for row in conn.execute(query).fetchall()]
    finally:
        conn.close()


def stored(store: AsyncEventStore, event_id: str) -> dict[str, Any] | None:
    """Read one event's row and its detections straight from the database."""
    rows = sql(
        store,
        "SELECT event_id, camera_id, person_name, face_confidence, license_plate, source, "
        "llm_description, end_time IS NOT NULL, thumbnail_path, zones, metadata "
        f"FROM events WHERE event_id = '{event_id}'",
    )
    if not rows:
        return None
    names = [
        "event_id",
        "camera_id",
        "person_name",
        "face_confidence",
        "license_plate",
        "source",
        "llm_description",
        "ended",
        "thumbnail_path",
        "zones",
        "metadata",
    ]
    row = dict(zip(names, rows[0], strict=True))
    row["ended"] = bool(row["ended"])
    row["detections"] = sql(
        store,
        "SELECT d.label, d.confidence, d.x1, d.y1, d.x2, d.y2 FROM detections d "
        f"JOIN events e ON e.id = d.event_rowid WHERE e.event_id = '{event_id}' ORDER BY d.idx",
    )
    return row


def metadata(store: AsyncEventStore, event_id: str) -> dict[str, Any]:
    """Read an event's metadata straight from the database (JSON text or jsonb)."""
    row = stored(store, event_id)
    if row is None:
        return {}
    value = row["metadata"]
    return dict(value) if isinstance(value, dict) else dict(orjson.loads(value))


def detection(label: str, confidence: float, box: tuple[float, ...]) -> tuple[Any, ...]:
    """A detection row as hand-computed: label, confidence, relative x1, y1, x2, y2."""
    return (label, pytest.approx(confidence), *(pytest.approx(v, abs=1e-9) for v in box))


class Running:
    """A consume_frigate task with its counters, stopped (and awaited) on exit."""

    def __init__(
        self,
        store: AsyncEventStore,
        prefix: str,
        client_id: str,
        frigate_url: str | None,
        url: str,
    ) -> None:
        self.stats = FrigateStats()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            consume_frigate(
                store,
                url,
                frigate_url,
                topic_prefix=prefix,
                client_id=client_id,
                stop=self.stop,
                stats=self.stats,
                backoff=(0.05, 0.2),
            )
        )

    async def close(self) -> FrigateStats:
        """Stop the consumer and return its final counters."""
        self.stop.set()
        return await asyncio.wait_for(self.task, DEADLINE)


@contextlib.asynccontextmanager
async def consuming(
    store: AsyncEventStore,
    names: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    frigate_url: str | None = None,
    url: str = MQTT_URL,
) -> AsyncIterator[Running]:
    """Run the consumer until the block ends; the block starts once it is subscribed."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    seen = len(caplog.records)
    running = Running(store, names[0], names[1], frigate_url, url)
    try:
        await until(
            lambda: (
                any("subscribed" in r.getMessage() for r in caplog.records[seen:])
                or running.task.done()
            ),
            "the consumer to subscribe",
        )
        yield running
    finally:
        await running.close()


async def publish_all(prefix: str, messages: list[tuple[str, Any]], url: str = MQTT_URL) -> None:
    """Publish (topic suffix, payload) pairs in order at QoS 1."""
    async with publisher(url) as pub:
        for suffix, payload in messages:
            await publish(pub, f"{prefix}/{suffix}", payload)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# -- a whole lifecycle, field by field ---------------------------------------------------


@pytest.mark.parametrize("version", ["0.13", "0.14", "0.16"])
async def test_a_whole_lifecycle_is_one_event_field_by_field(
    version: str,
    store_url: str,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    event_id = f"{START:.6f}-life{version.replace('.', '')}"
    plate = ("KV-123", 0.93) if version == "0.16" else None
    messages = lifecycle(version, event_id, sub_label=("alice", 0.87), plate=plate)
    frigate_fake.set_media(event_id, snapshot=jpeg_bytes((200, 40, 40)))
    published: list[tuple[str, Any]] = [("events", m) for m in messages]
    if version != "0.13":  # GenAI descriptions and reviews came with 0.14
        published.append(("tracked_object_update", description_update(event_id, "A courier.")))
        published.append(("reviews", review_message("end", "rev-1", [event_id])))
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            await publish_all(prefix, published)
            await until(
                lambda: (
                    (row := stored(store, event_id)) is not None
                    and row["ended"]
                    and row["thumbnail_path"] is not None
                    and (version == "0.13" or row["llm_description"] is not None)
                ),
                "the ended event with its snapshot",
            )
            await until(lambda: running.stats.snapshots_pending == 0, "every snapshot fetched")
        row = stored(store, event_id)
        assert row is not None
        # the end message: box x 260..460, y 200..600 of 1280x720; top score 0.6 + 4 * 0.05
        assert row["detections"] == [detection("person", 0.8, (260 / W, 200 / H, 460 / W, 600 / H))]
        assert row["camera_id"] == "front_door"
        assert row["person_name"] == "alice"
        assert row["face_confidence"] == pytest.approx(0.87)
        assert row["license_plate"] == ("KV-123" if version == "0.16" else None)
        assert row["source"] == "frigate"
        assert row["llm_description"] == (None if version == "0.13" else "A courier.")
        event = await store.get_event(event_id)
        assert event is not None
        assert event.timestamp == at(START)
        assert event.end_time == at(START + 4)
        assert event.zones == ["yard", "driveway"]
        assert event.metadata["frigate"]["has_snapshot"] is True
        if version != "0.13":
            assert event.metadata["review"] == {"id": "rev-1", "severity": "alert"}
        assert sql(store, "SELECT count(*) FROM events") == [(1,)]
        # new, 3 updates, end (+ description, review): each one upsert or coalesced into a
        # later one of its object; nothing ignored
        extra = 0 if version == "0.13" else 2
        stats = running.stats
        assert (stats.messages, stats.invalid, stats.ignored) == (5 + extra, 0, 0)
        applied = stats.updated + stats.unchanged + stats.coalesced
        assert (stats.inserted, applied) == (1, 4 + extra)
        # asked when has_snapshot turns true and again at the end (once if still pending)
        assert 1 <= stats.snapshots_saved <= 2


# -- order, repetition, false positives --------------------------------------------------


async def test_repeated_and_out_of_order_messages_change_nothing(
    store_url: str,
    names: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    event_id = f"{START:.6f}-order"
    new, first, second, third, end = lifecycle("0.14", event_id, sub_label=("bob", 0.8))
    # each message is published once the one before is applied (a message followed by a
    # newer one of the same object may otherwise be coalesced away): the counters after each
    steps: list[tuple[str, Any, tuple[int, int, int, int]]] = [
        # (topic, payload, (inserted, updated, unchanged, ignored))
        ("tracked_object_update", description_update(event_id, "Early words."), (0, 0, 0, 0)),
        ("events", new, (1, 1, 0, 0)),  # stored, then the early description applied
        ("events", new, (1, 1, 1, 0)),  # repeated
        ("events", second, (1, 2, 1, 0)),
        ("events", first, (1, 2, 1, 1)),  # older than what is held
        ("events", third, (1, 3, 1, 1)),
        ("events", end, (1, 4, 1, 1)),
        ("events", third, (1, 4, 1, 2)),  # an update after the end must not reopen it
        ("events", end, (1, 4, 2, 2)),  # repeated end
    ]
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog) as running:
            stats = running.stats
            for n, (topic, payload, counts) in enumerate(steps, 1):
                await publish_all(prefix, [(topic, payload)])
                await until(
                    lambda n=n, counts=counts: (
                        stats.messages == n
                        and (stats.inserted, stats.updated, stats.unchanged, stats.ignored)
                        == counts
                    ),
                    f"message {n} applied",
                )
        row = stored(store, event_id)
        assert row is not None and row["ended"]
        assert row["llm_description"] == "Early words."  # kept until its object came
        assert row["person_name"] == "bob"
        # the end's box (x 260..460) and top score 0.8, not the older update's; without
        # Frigate's API the detect size is unknown and the box stays in pixels
        assert row["detections"] == [detection("person", 0.8, (260, 200, 460, 600))]
        event = await store.get_event(event_id)
        assert event is not None and event.end_time == at(START + 4)
        assert (stats.invalid, stats.coalesced) == (0, 0)


async def test_updates_for_an_object_mqtt_has_not_brought_are_fetched_from_frigate(
    store_url: str,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    seen, unseen = f"{START:.6f}-seen", f"{START + 5:.6f}-only-api"
    frigate_fake.add_event(
        api_event("0.14", unseen, start_time=START + 5, end_time=START + 9, zones=["porch"])
    )
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            await publish_all(prefix, [("events", m) for m in lifecycle("0.14", seen)])
            await until(lambda: (r := stored(store, seen)) is not None and r["ended"], "seen")
            await publish_all(
                prefix,
                [
                    ("tracked_object_update", description_update(unseen, "A cat.")),
                    ("reviews", review_message("update", "rev-2", [seen, unseen])),
                ],
            )
            await until(
                lambda: (
                    (r := stored(store, unseen)) is not None
                    and r["llm_description"] == "A cat."
                    and all("review" in metadata(store, i) for i in (seen, unseen))
                ),
                "both objects updated",
            )
        assert frigate_fake.count(f"/api/events/{unseen}") == 1  # fetched once, then held
        row = stored(store, unseen)
        assert row is not None and row["ended"]
        for event_id in (seen, unseen):
            event = await store.get_event(event_id)
            assert event is not None
            assert event.metadata["review"] == {"id": "rev-2", "severity": "alert"}
        fetched = await store.get_event(unseen)
        assert fetched is not None
        assert (fetched.zones, fetched.end_time) == (["porch"], at(START + 9))
        assert running.stats.invalid == 0


async def test_a_false_positive_is_not_stored(
    store_url: str, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = names[0]
    fp = tracked_object("0.16", f"{START:.6f}-fp", false_positive=True)
    real = tracked_object("0.16", f"{START:.6f}-real")
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog) as running:
            await publish_all(
                prefix,
                [
                    ("events", events_message("update", fp, fp)),
                    ("events", events_message("new", real, real)),
                ],
            )
            await until(lambda: running.stats.inserted == 1, "the real object")
            await until(lambda: running.stats.ignored == 1, "the false positive")
        assert sql(store, "SELECT event_id FROM events") == [(f"{START:.6f}-real",)]


async def test_malformed_messages_are_logged_with_their_topic_and_skipped(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = names[0]
    good = tracked_object("0.14", f"{START:.6f}-good")
    bad_score = tracked_object("0.14", f"{START:.6f}-bad")
    bad_score["top_score"] = "high"
    messages: list[tuple[str, Any]] = [
        ("events", b"not json {"),
        ("events", [1, 2]),
        ("events", {"type": "moved", "after": good}),
        ("events", {"type": "new", "after": {"camera": "front_door"}}),
        ("events", events_message("new", bad_score, bad_score)),
        ("tracked_object_update", {"type": "description"}),
        ("reviews", {"type": "new", "after": {"id": "r", "data": {"detections": "x"}}}),
        ("events", events_message("new", good, good)),
    ]
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, names, caplog) as running:
            await publish_all(prefix, messages)
            await until(lambda: running.stats.inserted == 1, "the good message after the bad")
            await until(lambda: running.stats.invalid == 7, "seven skipped messages")
        assert sql(store, "SELECT event_id FROM events") == [(f"{START:.6f}-good",)]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 7, skipped
    assert sum(f"{prefix}/events" in line for line in skipped) == 5
    assert any("top_score" in line for line in skipped)
    assert any("type: must be one of new, update, end" in line for line in skipped)
    assert any("not JSON" in line for line in skipped)


async def test_a_camera_added_to_frigate_later_gets_relative_boxes(
    tmp_path: Path,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("camvault.ingest.frigate.FRAMES_EVERY", 0.0)
    prefix = names[0]
    event_id = f"{START:.6f}-garage"
    new, *rest = lifecycle("0.16", event_id, camera="garage")
    async with (
        AsyncEventStore(tmp_path / "events.db") as store,
        consuming(store, names, caplog, frigate_fake.url) as running,
    ):
        frigate_fake.cameras["garage"] = (1000, 800)  # unknown when the consumer started
        await publish_all(prefix, [("events", new)])
        await until(lambda: frigate_fake.count("/api/config") >= 2, "the sizes read again")
        await until(lambda: running.stats.inserted == 1, "the new object")
        await publish_all(prefix, [("events", m) for m in rest])
        await until(lambda: (r := stored(store, event_id)) is not None and r["ended"], "the end")
        row = stored(store, event_id)
        assert row is not None
        assert row["detections"] == [detection("person", 0.8, (0.26, 0.25, 0.46, 0.75))]


async def test_a_burst_at_qos_0_is_stored_completely(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Frigate publishes at QoS 0: what camvault does not read in time, the broker drops
    prefix = names[0]
    count = 1500
    ids = [f"{START + n:.6f}-burst{n:04d}" for n in range(count)]
    lifecycles = [lifecycle("0.16", i, start_time=START + n) for n, i in enumerate(ids)]
    # fifty objects at a time, their messages interleaved as a busy Frigate sends them
    ordered = [
        lc[step] for g in range(0, count, 50) for step in range(5) for lc in lifecycles[g : g + 50]
    ]
    async with (
        AsyncEventStore(tmp_path / "events.db") as store,
        consuming(store, names, caplog) as running,
    ):
        async with publisher() as pub:
            # bursts of 500: the broker holds up to 1,000 messages for a client, so a burst
            # that fits is never dropped, however slow this machine is today
            for n in range(0, len(ordered), 500):
                await until(lambda n=n: running.stats.messages >= n, f"{n} messages read", 40)
                await asyncio.gather(
                    *(publish(pub, f"{prefix}/events", m, qos=0) for m in ordered[n : n + 500])
                )
        await until(
            lambda: len(sql(store, "SELECT 1 FROM events WHERE end_time IS NOT NULL")) == count,
            f"{count} ended events",
            40,
        )
        assert running.stats.messages == 5 * count
        assert sql(store, "SELECT count(*) FROM events") == [(count,)]


# -- restarts, missed messages, outages ---------------------------------------------------


async def test_a_restart_mid_stream_loses_nothing(
    store_url: str, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix = names[0]
    objects = {
        f"{START + n:.6f}-rs{n:03d}": lifecycle(
            "0.16", f"{START + n:.6f}-rs{n:03d}", start_time=START + n
        )
        for n in range(40)
    }
    first_half = [("events", m[:3]) for m in objects.values()]
    second_half = [("events", m[3:]) for m in objects.values()]
    async with AsyncEventStore(store_url) as store, consuming(store, names, caplog) as running:
        await publish_all(prefix, [(t, m) for t, ms in first_half for m in ms])
        await until(lambda: running.stats.messages == 120, "the first half")
    # camvault is down: the broker keeps the rest for the persistent session (QoS 1)
    await publish_all(prefix, [(t, m) for t, ms in second_half for m in ms])
    async with AsyncEventStore(store_url) as store:  # a new process: nothing in memory
        async with consuming(store, names, caplog) as running:
            await until(lambda: running.stats.messages == 80, "the kept second half")
        ended = sql(store, "SELECT event_id FROM events WHERE end_time IS NOT NULL")
        assert sorted(r[0] for r in ended) == sorted(objects)
        for event_id in list(objects)[:3]:
            row = stored(store, event_id)
            assert row is not None
            assert row["detections"] == [detection("person", 0.8, (260, 200, 460, 600))]


async def test_missed_messages_are_resynced_from_frigate(
    store_url: str,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    seen_id, missed_id, live_id = (
        f"{START + n:.6f}-{w}" for n, w in ((0, "a"), (60, "b"), (90, "c"))
    )
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            await publish_all(prefix, [("events", m) for m in lifecycle("0.14", seen_id)])
            await until(lambda: (r := stored(store, seen_id)) is not None and r["ended"], "A")
        # while camvault is down Frigate publishes at QoS 0: the broker keeps nothing
        async with publisher() as pub:
            for message in lifecycle("0.14", missed_id, start_time=START + 60):
                await publish(pub, f"{prefix}/events", message, qos=0)
        frigate_fake.add_event(
            api_event(
                "0.14",
                missed_id,
                start_time=START + 60,
                end_time=START + 65,
                top_score=0.9,
                box=(0.5, 0.25, 0.25, 0.5),
                zones=["porch"],
                description="A dog.",
            ),
            api_event("0.14", live_id, start_time=START + 90, end_time=None),
        )
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            await until(lambda: running.stats.resynced == 2, "the re-sync of two events")
            assert running.stats.messages == 0
        missed = stored(store, missed_id)
        assert missed is not None and missed["ended"]
        assert missed["llm_description"] == "A dog."
        # data.box [x, y, w, h] relative -> (x1, y1, x2, y2)
        assert missed["detections"] == [detection("person", 0.9, (0.5, 0.25, 0.75, 0.75))]
        live = stored(store, live_id)
        assert live is not None and not live["ended"]
    # the second run asked for what started after the newest stored object (A), less 30 s
    afters = [
        float(parse_qs(q)["after"][0])
        for path, q in frigate_fake.requests
        if path == "/api/events" and "after=" in q
    ]
    assert afters[-1] == START - 30, afters


async def test_the_broker_restarting_is_one_outage_and_the_gap_is_resynced(
    tmp_path: Path,
    private_broker: PrivateBroker,
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = private_broker.url
    names = (f"restart/{uuid.uuid4().hex[:8]}/frigate", "camvault-test-frigate-restart")
    prefix = names[0]
    a, b, c = (f"{START + n:.6f}-{w}" for n, w in ((0, "a"), (10, "b"), (20, "c")))
    await private_broker.start()
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, names, caplog, frigate_fake.url, url) as running:
            await publish_all(prefix, [("events", m) for m in lifecycle("0.16", a)], url)
            await until(lambda: (r := stored(store, a)) is not None and r["ended"], "A")
            outage_start = len(caplog.records)
            private_broker.kill()
            await until(
                lambda: any("lost" in r.getMessage() for r in caplog.records[outage_start:]),
                "the outage line",
            )
            frigate_fake.add_event(api_event("0.16", b, start_time=START + 10, end_time=START + 15))
            await asyncio.sleep(0.5)  # several refused retries
            await private_broker.start()
            await until(lambda: running.stats.resynced == 1, "B re-synced on reconnection")
            await publish_all(
                prefix, [("events", m) for m in lifecycle("0.16", c, start_time=START + 20)], url
            )
            await until(lambda: (r := stored(store, c)) is not None and r["ended"], "C")
        lines = [
            r.getMessage() for r in caplog.records[outage_start:] if "MQTT broker" in r.getMessage()
        ]
        assert len(lines) == 2, lines
        assert "lost" in lines[0] and "is back" in lines[1]
        assert sorted(r[0] for r in sql(store, "SELECT event_id FROM events")) == [a, b, c]


async def test_frigate_http_down_then_up_the_thumbnail_arrives_later(
    tmp_path: Path,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    event_id = f"{START:.6f}-down"
    frigate_fake.set_media(event_id, snapshot=jpeg_bytes((10, 200, 10)))
    async with (
        AsyncEventStore(tmp_path / "events.db") as store,
        consuming(store, names, caplog, frigate_fake.url) as running,
    ):
        await until(lambda: frigate_fake.count("/api/events") > 0, "the first re-sync")
        frigate_fake.down("refuse")
        await publish_all(prefix, [("events", m) for m in lifecycle("0.16", event_id)])
        await until(
            lambda: (r := stored(store, event_id)) is not None and r["ended"],
            "the event, Frigate down",
        )
        await until(
            lambda: any(line.startswith("Frigate API") for line in messages(caplog)),
            "the Frigate outage line",
        )
        row = stored(store, event_id)
        assert row is not None and row["thumbnail_path"] is None
        assert running.stats.snapshots_pending == 1
        await asyncio.sleep(0.5)  # retries fail quietly meanwhile
        frigate_fake.up()
        await until(
            lambda: (r := stored(store, event_id)) is not None and r["thumbnail_path"] is not None,
            "the thumbnail",
        )
        # the stored row shows before the fetching task runs again to count it
        await until(lambda: running.stats.snapshots_pending == 0, "no snapshot pending")
        thumbnail = await store.read_thumbnail(event_id)
        assert thumbnail is not None and thumbnail[1] == "jpeg"
    lines = [line for line in messages(caplog) if line.startswith("Frigate API")]
    assert len(lines) == 2, lines
    assert "lost" in lines[0] and "is back" in lines[1]


async def test_pending_snapshots_survive_a_restart(
    store_url: str,
    names: tuple[str, str],
    frigate_fake: FakeFrigate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prefix = names[0]
    recent = time.time() - 3600  # restarts look back ten days (Frigate's snapshot retention)
    event_id = f"{recent:.6f}-later"
    frigate_fake.set_media(event_id, snapshot=jpeg_bytes((10, 10, 200)))
    frigate_fake.down("503")
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            messages = lifecycle("0.14", event_id, start_time=recent)
            await publish_all(prefix, [("events", m) for m in messages])
            await until(
                lambda: (r := stored(store, event_id)) is not None and r["ended"], "the event"
            )
            await until(
                lambda: frigate_fake.count(f"/api/events/{event_id}/snapshot.jpg") > 0, "a try"
            )
            assert running.stats.snapshots_pending == 1
        frigate_fake.up()
        async with consuming(store, names, caplog, frigate_fake.url) as running:
            await until(
                lambda: running.stats.snapshots_saved == 1, "the snapshot after the restart"
            )
        row = stored(store, event_id)
        assert row is not None and row["thumbnail_path"] is not None


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The consumer's log lines so far."""
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


# -- the command line and the service ------------------------------------------------------


def camvault(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion."""
    return subprocess.run(
        [PYTHON, "-m", "camvault", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=cwd,
        timeout=DEADLINE,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["ingest", "frigate", "--mqtt", "tcp://broker"],
            "error: --mqtt: 'tcp://broker' must start with mqtt:// or mqtts://",
        ),
        (
            ["ingest", "frigate", "--frigate", "ftp://frigate"],
            "error: --frigate: 'ftp://frigate' must start with http:// or https://",
        ),
        (
            ["ingest", "frigate", "--topic-prefix", "frigate/#"],
            "error: --topic-prefix: 'frigate/#' must be a topic such as frigate, "
            "without wildcards (+ or #)",
        ),
        (
            ["serve", "--frigate-mqtt", "mqtt://broker:99999"],
            "error: --frigate-mqtt: 'mqtt://broker:99999' has a port that is not a number "
            "from 1 to 65535",
        ),
        (
            ["serve", "--frigate-url", "http://frigate:5000"],
            "error: --frigate-url: needs --frigate-mqtt as well",
        ),
    ],
)
def test_bad_urls_are_one_usage_line(tmp_path: Path, args: list[str], line: str) -> None:
    done = camvault(*args, "--db", "x.db", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == line
    assert not (tmp_path / "x.db").exists()


async def test_the_command_stores_a_lifecycle_and_stops_on_sigterm(
    tmp_path: Path, names: tuple[str, str], frigate_fake: FakeFrigate
) -> None:
    prefix, client_id = names
    event_id = f"{START:.6f}-cli"
    db, log = tmp_path / "events.db", tmp_path / "ingest.log"
    args = [
        *(PYTHON, "-m", "camvault", "ingest", "frigate", "--mqtt", MQTT_URL),
        *("--frigate", frigate_fake.url, "--topic-prefix", prefix),
        *("--client-id", client_id, "--db", str(db)),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, env=child_env(), cwd=tmp_path)
    try:
        await until(lambda: "subscribed" in log.read_text(), "the command to subscribe")
        await publish_all(prefix, [("events", m) for m in lifecycle("0.16", event_id)])
        await until(lambda: ended_in_file(db, event_id), "the ended event in the file")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=DEADLINE)
    text = log.read_text()
    assert "Traceback" not in text
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(
        r"stopped: received 5 messages: 1 events inserted, \d updated, 0 unchanged, "
        r"\d coalesced, 0 ignored, 0 invalid; 0 re-synced; snapshots \d saved, \d pending",
        last,
    ), last


def ended_in_file(db: Path, event_id: str) -> bool:
    """Tell, with plain SQL on the SQLite file, whether the event is stored and ended."""
    import sqlite3

    if not db.exists():
        return False
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute(
                "SELECT end_time IS NOT NULL FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        except sqlite3.OperationalError:
            return False
    return bool(row and row[0])


async def test_serve_flags_run_the_consumer_in_the_service(
    tmp_path: Path, names: tuple[str, str], frigate_fake: FakeFrigate
) -> None:
    prefix, client_id = names
    event_id = f"{START:.6f}-serve"
    port = free_port()
    args = [
        *(PYTHON, "-m", "camvault", "serve", "--db", str(tmp_path / "s.db"), "--port", str(port)),
        *("--frigate-mqtt", MQTT_URL, "--frigate-url", frigate_fake.url),
        *("--frigate-topic-prefix", prefix, "--frigate-client-id", client_id),
    ]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=out, env=child_env(), cwd=tmp_path)
    try:
        await until(lambda: "subscribed" in log.read_text(), "the service to subscribe")
        await publish_all(prefix, [("events", m) for m in lifecycle("0.16", event_id)])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def listed() -> list[dict[str, Any]]:
                return list((await client.get("/api/events")).json()["events"])

            found: list[dict[str, Any]] = []
            end = asyncio.get_running_loop().time() + DEADLINE
            while not any(e["event_id"] == event_id and e.get("end_time") for e in found):
                assert asyncio.get_running_loop().time() < end, "the event never reached the API"
                await asyncio.sleep(0.05)
                found = await listed()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=DEADLINE)
    assert "Traceback" not in log.read_text()
