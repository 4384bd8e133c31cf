"""`camvault ingest mqtt` against a real Mosquitto: what is published is stored, nothing is lost.

The shared broker comes from CAMVAULT_TEST_MQTT_URL; the broker-restart test starts its own
``mosquitto -p <port>``. Every test has its own topic prefix and client id, its own database
(a SQLite file, or on each engine a fresh SQLite file and PostgreSQL schema), and removes
its persistent session from the broker when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from camvault import Event
from camvault.aio import AsyncEventStore
from camvault.errors import InvalidInputError
from camvault.ingest import IngestStats, consume_mqtt
from camvault.ingest.mqtt import (
    PARSE_AHEAD,
    PARSE_SLICE,
    _buffer_reads,
    _client,
    parse_mqtt_url,
)
from tests.conftest import raw_connection
from tests.integration.conftest import PYTHON, assert_same_event, child_env
from tests.mqtt_broker import (
    DEADLINE,
    MQTT_URL,
    PrivateBroker,
    forget_session,
    private_broker_fixture,  # noqa: F401 - the private_broker fixture
    publish,
    publisher,
    until,
)

pytestmark = pytest.mark.skipif(not MQTT_URL, reason="CAMVAULT_TEST_MQTT_URL is not set")
LOGGER = "camvault.ingest.mqtt"


def event_payload(prefix: str, n: int, **extra: Any) -> dict[str, Any]:
    """Return a hand-written event payload, as a pipeline would publish it."""
    return {
        "event_id": f"{prefix}-{n}",
        "timestamp": f"2026-11-01T10:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z",
        "camera_id": "porch",
        **extra,
    }


def stored_ids(db: Path) -> list[str]:
    """Read every stored event id straight from the SQLite file (the store is closed)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT event_id FROM events ORDER BY event_id")]


def raw_ids(store: AsyncEventStore) -> list[str]:
    """Read every stored event id with plain SQL on a connection of the test's own."""
    conn = raw_connection(store.store)
    try:
        return sorted(row[0] for row in conn.execute("SELECT event_id FROM events").fetchall())
    finally:
        conn.close()


@pytest.fixture
def names() -> Iterator[tuple[str, str]]:
    """Give a test its own topic prefix and client id; drop the client's session afterwards."""
    tag = uuid.uuid4().hex[:12]
    client_id = f"camvault-test-{tag}"
    yield f"camvault-test/{tag}", client_id
    asyncio.run(forget_session(MQTT_URL, client_id))


class Consumer:
    """A consume_mqtt task with its counters, stopped (and awaited) on exit."""

    def __init__(self, store: AsyncEventStore, url: str, topics: list[str], client_id: str):
        self.stats = IngestStats()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            consume_mqtt(
                store,
                url,
                topics,
                client_id=client_id,
                stop=self.stop,
                stats=self.stats,
                backoff=(0.05, 0.2),
            )
        )

    async def close(self) -> IngestStats:
        """Stop the consumer and return its final counters."""
        self.stop.set()
        return await asyncio.wait_for(self.task, DEADLINE)


@contextlib.asynccontextmanager
async def consuming(
    store: AsyncEventStore,
    topics: list[str],
    client_id: str,
    caplog: pytest.LogCaptureFixture,
    url: str = MQTT_URL,
) -> AsyncIterator[Consumer]:
    """Run a consumer until the block ends; the block starts once it is subscribed."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    seen = len(caplog.records)
    consumer = Consumer(store, url, topics, client_id)
    try:
        await until(
            lambda: (
                any(
                    "subscribed" in r.getMessage()
                    for r in caplog.records[seen:]
                    if r.name == LOGGER
                )
                or consumer.task.done()
            ),
            "the consumer to subscribe",
        )
        yield consumer
    finally:
        await consumer.close()


async def test_published_events_are_stored_field_for_field(
    store_url: str, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    full = event_payload(
        prefix,
        1,
        motion_confidence=0.82,
        detected_objects=[{"label": "person", "confidence": 0.91, "bbox": [0.1, 0.2, 0.3, 0.6]}],
        llm_description="A courier leaves a package on the step.",
        person_name="alice",
        face_confidence=0.93,
        unlock_granted=True,
        door_action="unlock",
        metadata={"zone": "door", "frame": 17},
    )
    batch = [event_payload(prefix, n, camera_id=f"garage-{n}") for n in (2, 3, 4)]
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, [f"{prefix}/+/events"], client_id, caplog) as consumer:
            async with publisher() as pub:
                await publish(pub, f"{prefix}/porch/events", full)
                await publish(pub, f"{prefix}/garage/events", batch)
            await until(lambda: consumer.stats.stored == 4, "four stored events")
        assert consumer.stats == IngestStats(received=2, stored=4, duplicates=0, invalid=0)
        got = await store.get_event(f"{prefix}-1")
        assert got is not None
        assert got.timestamp == datetime(2026, 11, 1, 10, 0, 1, 1000, tzinfo=UTC)
        assert got.detected_objects[0].label == "person"
        assert got.metadata == {"zone": "door", "frame": 17}
        for payload in [full, *batch]:
            assert_same_event(await store.get_event(payload["event_id"]), Event(**payload))
        assert raw_ids(store) == sorted(f"{prefix}-{n}" for n in (1, 2, 3, 4))


async def test_bad_payloads_are_logged_counted_and_skipped(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    topic = f"{prefix}/door/events"
    no_camera = event_payload(prefix, 2)
    del no_camera["camera_id"]
    bad_time = event_payload(prefix, 3, timestamp="yesterday at noon")
    messages: list[Any] = [
        event_payload(prefix, 1),
        b"not json {",
        no_camera,
        [event_payload(prefix, 4), bad_time, event_payload(prefix, 5)],
        b"42",
        event_payload(prefix, 6),
    ]
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, [f"{prefix}/#"], client_id, caplog) as consumer:
            async with publisher() as pub:
                for message in messages:
                    await publish(pub, topic, message)
            await until(lambda: consumer.stats.received == 6, "six messages")
            await until(lambda: consumer.stats.stored + consumer.stats.invalid == 8, "8 results")
        assert consumer.stats == IngestStats(received=6, stored=4, duplicates=0, invalid=4)
    assert stored_ids(tmp_path / "events.db") == [f"{prefix}-{n}" for n in (1, 4, 5, 6)]
    skipped = [
        r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING
    ]
    assert len(skipped) == 4
    assert all(topic in line for line in skipped)
    assert any("not JSON" in line for line in skipped)
    assert any("camera_id" in line for line in skipped)
    assert any("timestamp" in line for line in skipped)
    assert any("a list of them" in line for line in skipped)


async def test_duplicates_are_counted_and_stored_once(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    topic = f"{prefix}/porch/events"
    first = event_payload(prefix, 1, llm_description="first")
    again = event_payload(prefix, 1, llm_description="second")
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, [topic], client_id, caplog) as consumer:
            async with publisher() as pub:
                await publish(pub, topic, first)
                await until(lambda: consumer.stats.stored == 1, "the first copy")
                await publish(pub, topic, again)
                await publish(pub, topic, [first, event_payload(prefix, 2)])
            await until(lambda: consumer.stats.duplicates == 2, "two duplicates")
            await until(lambda: consumer.stats.stored == 2, "the second event")
        assert consumer.stats == IngestStats(received=3, stored=2, duplicates=2, invalid=0)
        got = await store.get_event(f"{prefix}-1")
        assert got is not None and got.llm_description == "first"
    assert stored_ids(tmp_path / "events.db") == [f"{prefix}-1", f"{prefix}-2"]


async def test_persistent_session_delivers_what_was_published_while_stopped(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    topic = f"{prefix}/porch/events"
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, [topic], client_id, caplog) as consumer:
            async with publisher() as pub:
                await publish(pub, topic, event_payload(prefix, 0))
            await until(lambda: consumer.stats.stored == 1, "the event before the stop")
        async with publisher() as pub:  # camvault is down; the broker keeps these
            for n in range(1, 201):
                await publish(pub, topic, event_payload(prefix, n))
        async with consuming(store, [topic], client_id, caplog) as consumer:
            await until(lambda: consumer.stats.stored == 200, "the 200 kept messages")
        assert consumer.stats.invalid == 0
    assert stored_ids(tmp_path / "events.db") == sorted(f"{prefix}-{n}" for n in range(201))


async def test_topics_of_an_earlier_run_are_ignored(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    old, new = f"{prefix}/old/events", f"{prefix}/new/events"
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, [old], client_id, caplog):
            pass  # the session now holds a subscription to the old topic
        async with consuming(store, [new], client_id, caplog) as consumer:
            async with publisher() as pub:
                await publish(pub, old, event_payload(prefix, 1))
                await publish(pub, old, event_payload(prefix, 2))
                await publish(pub, new, event_payload(prefix, 3))
            await until(lambda: consumer.stats.stored == 1, "the event on the new topic")
        assert consumer.stats == IngestStats(received=1, stored=1)
    ignored = [r.getMessage() for r in caplog.records if "ignoring messages" in r.getMessage()]
    assert len(ignored) == 1 and old in ignored[0], ignored
    assert stored_ids(tmp_path / "events.db") == [f"{prefix}-3"]


async def test_broker_restart_is_logged_once_and_consumption_resumes(
    tmp_path: Path,
    private_broker: PrivateBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"mqtt://127.0.0.1:{private_broker.port}"
    prefix, client_id = f"restart/{uuid.uuid4().hex[:8]}", "camvault-test-restart"
    topic = f"{prefix}/porch/events"
    await private_broker.start()
    async with AsyncEventStore(tmp_path / "events.db") as store:
        async with consuming(store, [topic], client_id, caplog, url) as consumer:
            async with publisher(url) as pub:
                await publish(pub, topic, event_payload(prefix, 1))
            await until(lambda: consumer.stats.stored == 1, "the event before the restart")
            outage_start = len(caplog.records)
            private_broker.kill()
            # several retries (backoff 0.05 .. 0.2 s) fail while the broker is down
            await until(lambda: len(caplog.records) > outage_start, "the outage line")
            await asyncio.sleep(1.0)  # the outage lasts a while: many refused retries
            await private_broker.start()
            await until(
                lambda: any("is back" in r.getMessage() for r in caplog.records[outage_start:]),
                "the recovery line",
            )
            async with publisher(url) as pub:
                await publish(pub, topic, event_payload(prefix, 2))
                await publish(pub, topic, [event_payload(prefix, 3), event_payload(prefix, 4)])
            await until(lambda: consumer.stats.stored == 4, "the events after the restart")
        lines = [r.getMessage() for r in caplog.records[outage_start:] if r.name == LOGGER]
        assert len([line for line in lines if "lost" in line]) == 1, lines
        assert len([line for line in lines if "is back" in line]) == 1, lines
        assert len(lines) == 2, lines
    assert stored_ids(tmp_path / "events.db") == [f"{prefix}-{n}" for n in (1, 2, 3, 4)]


async def test_unreachable_broker_at_start_is_waited_for(
    tmp_path: Path, private_broker: PrivateBroker, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"mqtt://127.0.0.1:{private_broker.port}"
    prefix = f"late/{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}/porch/events"
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with AsyncEventStore(tmp_path / "events.db") as store:
        consumer = Consumer(store, url, [topic], "camvault-test-late")
        try:
            await until(
                lambda: any("unreachable" in r.getMessage() for r in caplog.records),
                "the outage line",
            )
            await asyncio.sleep(0.5)  # retries go on, silently
            assert not consumer.task.done()
            await private_broker.start()
            await until(
                lambda: any("is back" in r.getMessage() for r in caplog.records), "the recovery"
            )
            async with publisher(url) as pub:
                await publish(pub, topic, event_payload(prefix, 1))
            await until(lambda: consumer.stats.stored == 1, "the event")
        finally:
            await consumer.close()
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2, lines


async def test_a_burst_is_stored_completely(
    store_url: str, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    count = 3000
    async with AsyncEventStore(store_url) as store:
        async with consuming(store, [f"{prefix}/+/events"], client_id, caplog) as consumer:
            published = threading.Event()
            messages = [
                (f"{prefix}/cam{n % 7}/events", orjson.dumps(event_payload(prefix, n)))
                for n in range(count)
            ]
            sender = threading.Thread(target=_publish_from_thread, args=(messages, 1, published))
            sender.start()
            await until(lambda: consumer.stats.stored == count, f"{count} stored events", 40)
            sender.join()
            assert published.is_set(), "the publisher did not finish"
        assert consumer.stats == IngestStats(received=count, stored=count)
        assert raw_ids(store) == sorted(f"{prefix}-{n}" for n in range(count))


async def test_a_bad_url_names_the_argument(tmp_path: Path) -> None:
    async with AsyncEventStore(tmp_path / "events.db") as store:
        with pytest.raises(InvalidInputError, match=r"url: .*must start with mqtt://") as info:
            await consume_mqtt(store, "http://127.0.0.1:1883", ["a/b"], client_id="x")
        assert info.value.fields == ["url"]


def stored_count(db: Path) -> int:
    """Count the stored events straight from the SQLite file, while the consumer writes it."""
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0


@contextlib.contextmanager
def cli_consumer(
    db: Path, topic: str, client_id: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``camvault ingest mqtt`` in a child process; killed if still running at the end."""
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                *(PYTHON, "-m", "camvault", "ingest", "mqtt", "--mqtt", MQTT_URL),
                *("--topic", topic, "--client-id", client_id, "--db", str(db)),
            ],
            stdout=err,
            stderr=err,
            env=child_env(),
            cwd=db.parent,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=DEADLINE)


async def test_cli_killed_mid_stream_loses_nothing(tmp_path: Path, names: tuple[str, str]) -> None:
    prefix, client_id = names
    topic, db, log = f"{prefix}/+/events", tmp_path / "events.db", tmp_path / "ingest.log"
    # Mosquitto keeps 1,000 messages for a stopped client (max_queued_messages): stay below
    down_first, total = 500, 900

    def subscribed_times() -> int:
        return log.read_text().count("subscribed") if log.exists() else 0

    async def publish_range(first: int, last: int) -> None:
        async with publisher() as pub:
            await asyncio.gather(
                *(
                    publish(pub, f"{prefix}/porch/events", event_payload(prefix, n))
                    for n in range(first, last)
                )
            )

    with cli_consumer(db, topic, client_id, log) as proc:
        await until(lambda: subscribed_times() == 1, "the command to subscribe")
        await publish_range(0, down_first)
        await until(lambda: stored_count(db) > 0, "the first commit")
        proc.kill()  # a crash: messages received but not yet stored were not acknowledged
        proc.wait(timeout=DEADLINE)
    await publish_range(down_first, total)  # published while camvault is down
    with cli_consumer(db, topic, client_id, log) as proc:
        await until(lambda: stored_count(db) == total, f"all {total} events", 40)
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        assert proc.wait(timeout=DEADLINE) == 0
    last = log.read_text().strip().splitlines()[-1]
    assert re.fullmatch(
        r"stopped: received \d+ messages: stored \d+ events, \d+ duplicates, 0 invalid", last
    ), last
    assert "Traceback" not in log.read_text()
    assert stored_ids(db) == sorted(f"{prefix}-{n}" for n in range(total))


def test_cli_refuses_a_bad_url_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "camvault", "ingest", "mqtt", "--mqtt", "tcp://broker", "--db", "x.db"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tmp_path,
        timeout=DEADLINE,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip() == "error: --mqtt: 'tcp://broker' must start with mqtt:// or mqtts://"
    )
    assert not (tmp_path / "x.db").exists()


def _publish_from_thread(
    messages: list[tuple[str, bytes]], qos: int, done: threading.Event | None = None
) -> None:
    """Publish each (topic, payload) from a thread of its own (paho's network loop).

    The consumer's event loop plays no part in publishing: a publisher sharing that loop
    times its own acknowledgements out when the loop is busy storing. Returns (and sets
    ``done``) once paho has sent every message and, at QoS 1, the broker has acknowledged it.
    """
    target = parse_mqtt_url(MQTT_URL)
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(target.host, target.port)
    client.loop_start()
    try:
        sent = [client.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in sent:
            info.wait_for_publish(DEADLINE)
    finally:
        client.disconnect()
        client.loop_stop()
    if done is not None:
        done.set()


async def test_a_busy_event_loop_loses_nothing_published_at_qos_1(
    tmp_path: Path, names: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    prefix, client_id = names
    topic = f"{prefix}/events"
    # 3,000 events of 8 kB: far more than the socket buffers and the broker's queue of 1,000
    payloads = [event_payload(prefix, n, metadata={"note": "x" * 8000}) for n in range(3000)]
    db = tmp_path / "events.db"
    async with (
        AsyncEventStore(db) as store,
        consuming(store, [topic], client_id, caplog) as consumer,
    ):
        published = threading.Event()
        sender = threading.Thread(
            target=_publish_from_thread,
            args=([(topic, orjson.dumps(p)) for p in payloads], 1, published),
        )
        sender.start()
        # the consumer's event loop is busy (here: blocked) while the whole burst goes out
        assert published.wait(DEADLINE), "the publisher did not finish"
        sender.join()
        await until(lambda: consumer.stats.stored >= len(payloads), "every event stored", 60)
    assert stored_ids(db) == sorted(p["event_id"] for p in payloads)


async def test_a_backlog_waits_as_bytes_and_is_parsed_a_slice_at_a_time(
    names: tuple[str, str],
) -> None:
    prefix, client_id = names
    topic = f"{prefix}/events"
    count = 20_000  # parsed in one go, such a burst held the event loop for seconds
    payloads = [b"%05d" % n for n in range(count)]
    # what the broker sends for each: a QoS 0 PUBLISH of MQTT 5 (header, length, topic, no
    # properties, payload), every remaining length below 128
    each = 1 + 1 + 2 + len(topic.encode()) + 1 + 5
    async with _client(parse_mqtt_url(MQTT_URL), client_id) as client:
        refill = _buffer_reads(client)
        await client.subscribe(topic, qos=1)
        ahead = client._client._sock
        sender = threading.Thread(
            target=_publish_from_thread, args=([(topic, p) for p in payloads], 0)
        )
        sender.start()
        # the event loop is blocked while the whole burst arrives: it is read, as bytes
        deadline = time.monotonic() + DEADLINE
        while ahead.pending() < count * each and time.monotonic() < deadline:
            time.sleep(0.01)
        sender.join()
        assert ahead.pending() == count * each
        assert len(client.messages) == 0
        await asyncio.sleep(0)  # one turn of the loop: one slice is parsed
        assert 0 < len(client.messages) <= PARSE_SLICE
        most = 0
        for _ in range(200):  # turns pass and nobody takes a message: parsing stops
            await asyncio.sleep(0)
            most = max(most, len(client.messages))
        assert most == PARSE_AHEAD
        got: list[bytes] = []
        async for message in client.messages:  # taking them asks for more, to the end
            refill()
            assert isinstance(message.payload, bytes)
            got.append(message.payload)
            if len(got) == count:
                break
    assert got == payloads  # every message, once, in order
