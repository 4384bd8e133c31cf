"""Store the camvault events that any pipeline publishes on MQTT (one JSON event or a list).

The consumer subscribes at QoS 1 with a persistent session (a fixed client id, no clean
session), so what the broker kept while camvault was down arrives after a restart. A message
is acknowledged only once its events are stored (a crash means redelivery, and redelivered
events are duplicates, not errors). A bad payload is logged, counted and skipped; a broker
outage is retried with capped exponential backoff and logged once when it starts and once
when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camvault.aio import AsyncEventStore
from camvault.errors import InvalidInputError

__all__ = [
    "IngestStats",
    "MqttTarget",
    "check_topics",
    "consume_mqtt",
    "default_client_id",
    "parse_mqtt_url",
]

log = logging.getLogger("camvault.ingest.mqtt")

_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass
class IngestStats:
    """What a consumer has done: messages received, events stored, duplicates, invalid."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0

    def summary(self) -> str:
        """Return the counters as one line."""
        return (
            f"received {self.received} messages: stored {self.stored} events, "
            f"{self.duplicates} duplicates, {self.invalid} invalid"
        )


@dataclass(frozen=True)
class MqttTarget:
    """A broker address parsed from ``mqtt://[user:pass@]host[:port]`` (or ``mqtts://``)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in logs
    tls: bool = False

    def __str__(self) -> str:
        """Show the address without the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def _bad_url(message: str) -> InvalidInputError:
    """Return the error for a broker URL that cannot be used."""
    return InvalidInputError("MQTT broker URL", [("url", message)])


def parse_mqtt_url(url: str) -> MqttTarget:
    """Parse ``mqtt://[user:pass@]host[:port]`` or ``mqtts://...``; InvalidInputError if bad."""
    if not isinstance(url, str) or not url.strip():
        raise _bad_url("expected mqtt://[user:pass@]host[:port]")
    parts = urlsplit(url.strip())
    if parts.scheme not in _PORTS:
        raise _bad_url(f"{url!r} must start with mqtt:// or mqtts://")
    try:
        port = parts.port
    except ValueError:
        raise _bad_url(f"{url!r} has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise _bad_url(f"{url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _bad_url(f"{url!r} has a path or query; expected mqtt://[user:pass@]host[:port]")
    return MqttTarget(
        host=parts.hostname,
        port=port or _PORTS[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=parts.scheme == "mqtts",
    )


def check_topics(topics: Sequence[str]) -> list[str]:
    """Return the topic filters as a list; InvalidInputError names the first bad one."""
    if isinstance(topics, str) or not topics:
        raise InvalidInputError("MQTT topics", [("topics", "expected a non-empty list of topics")])
    for topic in topics:
        try:
            aiomqtt.Wildcard(topic)
        except (TypeError, ValueError):
            problem = f"{topic!r} is not a topic filter (+ and # stand for whole levels)"
            raise InvalidInputError("MQTT topics", [("topics", problem)]) from None
    return list(topics)


def default_client_id() -> str:
    """Return the default persistent client id, ``camvault-<hostname>``."""
    return f"camvault-{socket.gethostname()}"


class _Outage:
    """Log a broker outage once when it starts and once when it ends, not once per retry."""

    def __init__(self, target: MqttTarget) -> None:
        self.target = target
        self.since: float | None = None
        self.connected_once = False

    def failed(self, exc: BaseException, max_delay: float) -> None:
        """Note a failed or lost connection; log only the first of an outage."""
        if self.since is None:
            self.since = time.monotonic()
            state = "lost" if self.connected_once else "unreachable"
            log.warning(
                "MQTT broker %s %s (%s); retrying with backoff up to %g s",
                self.target,
                state,
                exc,
                max_delay,
            )

    def connected(self, topics: Sequence[str]) -> None:
        """Note a connection; log the end of the outage (or the first connection)."""
        if self.since is not None:
            down = time.monotonic() - self.since
            log.warning("MQTT broker %s is back after %.1f s; resubscribed", self.target, down)
        elif not self.connected_once:
            log.info("connected to MQTT broker %s; subscribed to %s", self.target, list(topics))
        self.since = None
        self.connected_once = True


class _Consumer:
    """One consumer's state: the store, counters and the inserts under way."""

    def __init__(self, store: AsyncEventStore, concurrency: int) -> None:
        self.store = store
        self.stats = IngestStats()
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.failed = asyncio.Event()
        self.foreign = False

    def _invalid(self, topic: str, problem: str) -> None:
        """Count and log one payload or event that cannot be stored."""
        self.stats.invalid += 1
        log.warning("MQTT message on %s skipped: %s", topic, problem)

    async def _store_one(self, topic: str, item: Any) -> None:
        """Store one event of a payload, counting it as stored, duplicate or invalid."""
        try:
            inserted = await self.store.insert_event(item)
        except InvalidInputError as exc:
            self._invalid(topic, str(exc))
            return
        if inserted:
            self.stats.stored += 1
        else:
            self.stats.duplicates += 1

    async def handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Store the events of one message, then acknowledge it."""
        self.stats.received += 1
        topic = str(message.topic)
        raw = message.payload
        try:
            payload = orjson.loads(raw if isinstance(raw, bytes | bytearray | str) else b"")
        except orjson.JSONDecodeError as exc:
            self._invalid(topic, f"payload is not JSON ({exc})")
        else:
            if isinstance(payload, dict):
                await self._store_one(topic, payload)
            elif isinstance(payload, list):
                await asyncio.gather(*(self._store_one(topic, item) for item in payload))
            else:
                self._invalid(topic, "payload must be a JSON event (an object) or a list of them")
        _ack(client, message)

    def start(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Handle ``message`` in its own task (a slot must be held); failures stop the consumer."""
        task = asyncio.create_task(self.handle(client, message))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Release the slot of a finished task and keep its failure, if any."""
        self.tasks.discard(task)
        self.slots.release()
        if not task.cancelled() and (exc := task.exception()) is not None:
            if self.failure is None:
                self.failure = exc
            self.failed.set()

    async def drain(self) -> None:
        """Wait for every insert under way."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))


def _ack(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge a QoS 1 message now that its events are stored (no-op once disconnected)."""
    if message.qos > 0:
        client._client.ack(message.mid, message.qos)


RECEIVE_MAXIMUM = 65535
"""Unacknowledged messages the broker may send at once (MQTT 5 Receive Maximum, the most)."""
NEVER_EXPIRES = 0xFFFFFFFF
"""MQTT 5 Session Expiry Interval that keeps the session until it is resumed."""


def _client(target: MqttTarget, client_id: str) -> aiomqtt.Client:
    """Build the client: a persistent MQTT 5 session, acknowledged by hand after storing.

    MQTT 5 rather than 3.1.1 because a 3.1.1 client gets only the broker's own in-flight
    window (20 messages on Mosquitto) and, with acks sent after the commit, the broker's
    1,000-message queue overflows under a burst; MQTT 5 lets the client ask for a wide window.
    """
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = NEVER_EXPIRES
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    client = aiomqtt.Client(
        target.host,
        target.port,
        username=target.username,
        password=target.password,
        identifier=client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=properties,
        tls_context=ssl.create_default_context() if target.tls else None,
        timeout=10,
    )
    client._client.manual_ack_set(True)  # aiomqtt has no public switch; paho acks on receipt
    return client


async def _read(client: aiomqtt.Client, consumer: _Consumer, topics: Sequence[str]) -> None:
    """Hand each message to the consumer, at most ``concurrency`` at a time.

    A message on none of ``topics`` comes from a subscription the persistent session kept
    from an earlier run with other topics: it is acknowledged and dropped, with one line.
    """
    async for message in client.messages:
        if not any(message.topic.matches(topic) for topic in topics):
            if not consumer.foreign:
                log.warning(
                    "ignoring messages on %s (and any other topic not given): the session of "
                    "this client id keeps the subscriptions of an earlier run; use a new "
                    "client id to drop them",
                    message.topic,
                )
            consumer.foreign = True
            _ack(client, message)
            continue
        await consumer.slots.acquire()
        consumer.start(client, message)


async def _first(*aws: asyncio.Future[Any] | asyncio.Task[Any]) -> None:
    """Wait for the first of ``aws`` to finish, cancel the others, and raise its error."""
    done, pending = await asyncio.wait(aws, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in done:
        task.result()


async def consume_mqtt(
    store: AsyncEventStore,
    url: str,
    topics: Sequence[str],
    *,
    client_id: str | None = None,
    stop: asyncio.Event | None = None,
    concurrency: int = 256,
    backoff: tuple[float, float] = (1.0, 30.0),
    stats: IngestStats | None = None,
) -> IngestStats:
    """Store the events published on ``topics`` until ``stop`` is set; return the counters.

    Pass ``stats`` to read the counters while the consumer runs.
    """
    target = parse_mqtt_url(url)
    topics = check_topics(topics)
    identifier = client_id or default_client_id()
    stop = stop or asyncio.Event()
    consumer = _Consumer(store, max(1, concurrency))
    if stats is not None:
        consumer.stats = stats
    outage = _Outage(target)
    delay = backoff[0]
    stopping = asyncio.ensure_future(stop.wait())
    failing = asyncio.ensure_future(consumer.failed.wait())
    try:
        while not stop.is_set() and consumer.failure is None:
            try:
                async with _client(target, identifier) as client:
                    for topic in topics:
                        await client.subscribe(topic, qos=1)
                    outage.connected(topics)
                    delay = backoff[0]
                    reading = asyncio.ensure_future(_read(client, consumer, topics))
                    try:
                        await _first(reading, asyncio.shield(stopping), asyncio.shield(failing))
                    finally:
                        reading.cancel()
                        await consumer.drain()  # ack what was taken before disconnecting
            except aiomqtt.MqttError as exc:
                await consumer.drain()
                outage.failed(exc, backoff[1])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(stopping), delay)
                delay = min(delay * 2, backoff[1])
    finally:
        stopping.cancel()
        failing.cancel()
        await consumer.drain()
    if consumer.failure is not None:
        raise consumer.failure
    return consumer.stats
