"""MQTT ingest: a persistent session that stores what pipelines publish, and any JSON events.

:class:`Session` is the connection machinery every MQTT source shares (``ingest mqtt`` and
Frigate): it subscribes at QoS 1 with a persistent session (a fixed client id, no clean
session), so what the broker kept while camvault was down arrives after a restart. A message
is acknowledged only once its handler returns, that is once its events are stored (a crash
means redelivery). A malformed message is logged with its topic, counted and skipped; a broker
outage is retried with capped exponential backoff and logged once when it starts and once
when it ends. :func:`consume_mqtt` stores camvault events (one JSON event or a list).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import orjson
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camvault.aio import AsyncEventStore
from camvault.errors import InvalidInputError
from camvault.ingest import paho_tables

__all__ = [
    "BadMessage",
    "Handler",
    "IngestStats",
    "MqttTarget",
    "Outage",
    "Session",
    "check_topics",
    "consume_mqtt",
    "decode_json",
    "default_client_id",
    "parse_mqtt_url",
    "skipped",
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


def default_client_id(role: str = "") -> str:
    """Return the default persistent client id: ``camvault-[<role>-]<hostname>``.

    Each kind of consumer has its own, so two of them on one host do not take each other's
    session.
    """
    return f"camvault-{role + '-' if role else ''}{socket.gethostname()}"


class Outage:
    """Log an outage of a service once when it starts and once when it ends, not per retry."""

    def __init__(self, subject: str, logger: logging.Logger, *, back_note: str = "") -> None:
        self.subject = subject
        self.log = logger
        self.back_note = back_note
        self.since: float | None = None
        self.connected_once = False

    @property
    def down(self) -> bool:
        """True while an outage is under way."""
        return self.since is not None

    def failed(self, exc: BaseException, max_delay: float) -> None:
        """Note a failed or lost connection; log only the first of an outage."""
        if self.since is None:
            self.since = time.monotonic()
            state = "lost" if self.connected_once else "unreachable"
            self.log.warning(
                "%s %s (%s); retrying with backoff up to %g s",
                self.subject,
                state,
                exc,
                max_delay,
            )

    def connected(self, first: str = "") -> None:
        """Note a working connection; log the end of an outage, or ``first`` the first time."""
        if self.since is not None:
            down = time.monotonic() - self.since
            self.log.warning("%s is back after %.1f s%s", self.subject, down, self.back_note)
        elif not self.connected_once and first:
            self.log.info("%s", first)
        self.since = None
        self.connected_once = True


class BadMessage(Exception):
    """A message that cannot be used: logged with its topic, counted and skipped."""


def decode_json(raw: Any) -> Any:
    """Parse a message payload as JSON; BadMessage if it is not."""
    try:
        return orjson.loads(raw if isinstance(raw, bytes | bytearray | str) else b"")
    except orjson.JSONDecodeError as exc:
        raise BadMessage(f"payload is not JSON ({exc})") from None


Handler = Callable[[str, Any], Awaitable[None]]
"""Handles one message (its topic and raw payload); it is acknowledged once this returns."""


def skipped(logger: logging.Logger, topic: str, problem: str) -> None:
    """Log a message (or part of one) that was skipped, with its topic."""
    logger.warning("MQTT message on %s skipped: %s", topic, problem)


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
    paho_tables.install()
    return client


READ_SIZE = 65536
"""Bytes asked of the broker connection at once."""


class _BufferedSocket:
    """The broker connection read 64 KiB at a time rather than a few bytes per system call.

    paho reads each packet with several small ``recv`` calls (header, length, body), and
    aiomqtt reads one packet each time the socket is readable. Buffered, a burst of packets
    costs one system call, and ``pending()`` (which aiomqtt asks of TLS sockets) tells
    aiomqtt to read every packet already received before the event loop turns again, so
    the backlog moves out of the broker's queue, where it would be dropped, into this process.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        """Return up to ``size`` bytes, from the buffer or one read of the connection."""
        if self._at >= len(self._data):
            data = self._sock.recv(READ_SIZE)  # BlockingIOError when nothing is there
            if not data:
                return b""
            self._data, self._at = data, 0
        chunk = self._data[self._at : self._at + size]
        self._at += len(chunk)
        return chunk

    def pending(self) -> int:
        """Bytes received and not yet read (TLS records included)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._data) - self._at + int(inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


READ_AHEAD_SIZE = 4 * 1024 * 1024
"""Bytes the reading thread asks of the connection at once (all that is there, usually)."""
READ_AHEAD_BYTES = 256 * 1024 * 1024
"""Most bytes read ahead of the event loop; past it the broker waits (and may drop)."""


class _ReadAhead:
    """The broker connection read on a thread of its own, ahead of the event loop.

    While the event loop is busy (a burst to store), nobody would read the connection: the
    socket buffers fill, the broker queues what it cannot send and, past its queue (1,000
    messages on a stock Mosquitto), drops messages, QoS 1 ones too. This thread keeps the
    connection drained into memory (up to :data:`READ_AHEAD_BYTES`) and wakes the loop, which
    parses what was read with paho as before. Writes (acknowledgements) stay on the loop.
    """

    def __init__(self, sock: Any, wake: Callable[[], None]) -> None:
        self._sock = sock
        self._wake = wake
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0  # bytes in _chunks
        self._head = b""
        self._at = 0
        self._end: BaseException | None = None  # what ended the connection, once it ended
        self._closed = False
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._pump, name="camvault-mqtt-read", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        """Read the connection until it ends or is closed, handing each read to the loop."""
        ready = select.poll()  # not select(): a process with many files has descriptors > 1023
        ready.register(self._sock.fileno(), select.POLLIN)
        while True:
            with self._room:
                while self._buffered >= READ_AHEAD_BYTES and not self._closed:
                    self._room.wait()
                if self._closed:
                    return
            try:
                if not ready.poll(500):
                    continue
                data = self._sock.recv(READ_AHEAD_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError) as exc:  # reset, or closed meanwhile
                data, failure = b"", exc
            else:
                failure = ConnectionResetError("the broker closed the connection")
            with self._lock:
                if self._closed:
                    return
                if data:
                    self._chunks.append(data)
                    self._buffered += len(data)
                else:
                    self._end = failure
            self._wake()
            if not data:
                return

    def recv(self, size: int) -> bytes:
        """Return up to ``size`` bytes read ahead; b"" once the connection has ended."""
        with self._lock:
            if self._at >= len(self._head):
                if not self._chunks:
                    if self._end is not None:
                        return b""  # paho reads this as the connection lost
                    raise BlockingIOError
                self._head, self._at = self._chunks.popleft(), 0
                self._buffered -= len(self._head)
                self._room.notify()
            chunk = self._head[self._at : self._at + size]
            self._at += len(chunk)
            return chunk

    def pending(self) -> int:
        """Bytes read ahead and not parsed yet (1 for an end still to be noticed)."""
        with self._lock:
            left = len(self._head) - self._at + self._buffered
            return left or (1 if self._end is not None else 0)

    def close(self) -> None:
        """Close the connection; the reading thread ends within half a second."""
        with self._lock:
            self._closed = True
            self._room.notify_all()
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


PARSE_AHEAD = 2048
"""Most messages parsed ahead of the handlers; the rest of a backlog waits as bytes."""
PARSE_SLICE = 256
"""Most packets parsed at one turn of the event loop, so the handlers run in between."""


def _no_refill() -> None:
    """Nothing to do: the connection is read by the event loop itself."""


def _buffer_reads(client: aiomqtt.Client) -> Callable[[], None]:
    """Make the connected client read the broker connection ahead of the event loop.

    A plain connection is read on a thread of its own (:class:`_ReadAhead`); a TLS one,
    whose reads and writes must not run at once on two threads, in 64 KiB reads on the loop
    (:class:`_BufferedSocket`). Returns ``refill``, to call each time a message is taken
    from the client's queue.

    What the thread read is parsed into messages on demand: at most :data:`PARSE_SLICE`
    packets per turn of the loop, and only while fewer than :data:`PARSE_AHEAD` messages
    wait in the client's queue. A backlog thus waits as bytes (a few bytes of overhead per
    message) rather than as thousands of message objects for the garbage collector to walk,
    and a burst never holds the event loop for the seconds it takes to parse it.
    """
    paho = client._client
    sock = paho._sock
    if sock is None or isinstance(sock, _BufferedSocket | _ReadAhead):
        return _no_refill
    if isinstance(sock, ssl.SSLSocket):
        paho._sock = _BufferedSocket(sock)
        return _no_refill
    loop = asyncio.get_running_loop()
    loop.remove_reader(sock.fileno())  # the thread reads now; the loop parses what it read
    scheduled = threading.Event()

    def parse() -> None:
        """Hand one slice of what the reading thread read to paho (and so to the queue)."""
        scheduled.clear()
        try:
            for _ in range(PARSE_SLICE):
                if paho._sock is not ahead or not ahead.pending():
                    return
                if len(client.messages) >= PARSE_AHEAD:
                    return  # refill() asks again once the handlers have taken some
                if paho.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return  # paho has closed the connection (and told aiomqtt)
            wake()  # more to parse: after the handlers have had their turn
        except Exception as exc:  # as aiomqtt does: a broken connection ends the session
            if not client._disconnected.done():
                client._disconnected.set_exception(exc)

    def wake() -> None:
        """Have the loop parse what the reading thread read (one call per batch of reads)."""
        if not scheduled.is_set():
            scheduled.set()
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(parse)

    def refill() -> None:
        """Parse more once the handlers have taken half of what was parsed ahead."""
        if not scheduled.is_set() and len(client.messages) < PARSE_AHEAD // 2 and ahead.pending():
            wake()

    ahead = _ReadAhead(sock, wake)
    paho._sock = ahead
    if ahead.pending():
        wake()
    return refill


MATCHES_KEPT = 10_000
"""Topics whose match against the subscriptions a session remembers."""


async def _taken(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Message]:
    """Yield the client's messages, ending (MqttError) when the connection is lost.

    While messages wait in the client's queue they are taken at once; only an empty queue is
    awaited through ``client.messages``, which watches the connection too but costs a task
    and a wait per message.
    """
    waiting = client._queue
    messages = client.messages
    while True:
        yield waiting.get_nowait() if waiting.qsize() else await anext(messages)


async def _first(*aws: asyncio.Future[Any] | asyncio.Task[Any]) -> None:
    """Wait for the first of ``aws`` to finish, cancel the others, and raise its error."""
    done, pending = await asyncio.wait(aws, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in done:
        task.result()


class Session:
    """A persistent MQTT session that hands each message to a handler and acks it after.

    Messages are handled concurrently (at most ``concurrency`` at a time), each acknowledged
    once its handler returns; a BadMessage is logged with its topic and skipped; any other
    error of a handler stops the session and is raised by :meth:`run`. A lost or unreachable
    broker is retried with capped exponential backoff, one log line per outage start and end.
    """

    def __init__(
        self,
        url: str,
        topics: Sequence[str],
        handle: Handler,
        *,
        client_id: str | None = None,
        concurrency: int = 256,
        backoff: tuple[float, float] = (1.0, 30.0),
        logger: logging.Logger = log,
        on_bad: Callable[[str, str], None] | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.target = parse_mqtt_url(url)
        self.topics = check_topics(topics)
        self.client_id = client_id or default_client_id()
        self.handle = handle
        self.backoff = backoff
        self.log = logger
        self.on_bad = on_bad
        self.on_connect = on_connect
        self.outage = Outage(f"MQTT broker {self.target}", logger, back_note="; resubscribed")
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.tasks: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.failed = asyncio.Event()
        self.foreign = False
        self.matched: dict[str, bool] = {}

    def bad(self, topic: str, problem: str) -> None:
        """Log (and let the caller count) a message that is skipped."""
        skipped(self.log, topic, problem)
        if self.on_bad is not None:
            self.on_bad(topic, problem)

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Run the handler on one message, then acknowledge it."""
        topic = str(message.topic)
        try:
            await self.handle(topic, message.payload)
        except BadMessage as exc:
            self.bad(topic, str(exc))
        _ack(client, message)

    def _start(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        """Handle ``message`` in its own task (a slot must be held); failures stop the session."""
        task = asyncio.create_task(self._handle(client, message))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Release the slot of a finished task and keep its failure, if any."""
        self.tasks.discard(task)
        self.slots.release()
        self.task_done(task)

    def fail(self, exc: BaseException) -> None:
        """Stop the session with ``exc`` (raised by :meth:`run`)."""
        if self.failure is None:
            self.failure = exc
        self.failed.set()

    def task_done(self, task: asyncio.Future[Any]) -> None:
        """Stop the session if a task working beside it failed."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.fail(exc)

    async def drain(self) -> None:
        """Wait for every message under way."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    def _ours(self, topic: aiomqtt.Topic) -> bool:
        """Whether a topic matches one of the session's topics (remembered per topic)."""
        known = self.matched.get(topic.value)
        if known is None:
            known = any(topic.matches(pattern) for pattern in self.topics)
            if len(self.matched) < MATCHES_KEPT:
                self.matched[topic.value] = known
        return known

    async def _read(self, client: aiomqtt.Client, refill: Callable[[], None]) -> None:
        """Hand each message to the handler, at most ``concurrency`` at a time.

        A message on none of the topics comes from a subscription the persistent session
        kept from an earlier run with other topics: it is acknowledged and dropped, with one
        line.
        """
        async for message in _taken(client):
            refill()
            if not self._ours(message.topic):
                if not self.foreign:
                    self.log.warning(
                        "ignoring messages on %s (and any other topic not given): the session "
                        "of this client id keeps the subscriptions of an earlier run; use a new "
                        "client id to drop them",
                        message.topic,
                    )
                self.foreign = True
                _ack(client, message)
                continue
            await self.slots.acquire()
            self._start(client, message)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set (or a handler fails, raising its error)."""
        delay = self.backoff[0]
        stopping = asyncio.ensure_future(stop.wait())
        failing = asyncio.ensure_future(self.failed.wait())
        try:
            while not stop.is_set() and self.failure is None:
                try:
                    async with _client(self.target, self.client_id) as client:
                        refill = _buffer_reads(client)
                        for topic in self.topics:
                            await client.subscribe(topic, qos=1)
                        self.outage.connected(
                            f"connected to MQTT broker {self.target}; "
                            f"subscribed to {list(self.topics)}"
                        )
                        delay = self.backoff[0]
                        if self.on_connect is not None:
                            self.on_connect()
                        reading = asyncio.ensure_future(self._read(client, refill))
                        try:
                            await _first(reading, asyncio.shield(stopping), asyncio.shield(failing))
                        finally:
                            reading.cancel()
                            await self.drain()  # ack what was taken before disconnecting
                except aiomqtt.MqttError as exc:
                    await self.drain()
                    self.outage.failed(exc, self.backoff[1])
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(stopping), delay)
                    delay = min(delay * 2, self.backoff[1])
        finally:
            stopping.cancel()
            failing.cancel()
            await self.drain()
        if self.failure is not None:
            raise self.failure


class _Events:
    """The handler of ``consume_mqtt``: store the camvault events of each message."""

    def __init__(self, store: AsyncEventStore, stats: IngestStats) -> None:
        self.store = store
        self.stats = stats

    def invalid(self, topic: str, problem: str) -> None:
        """Count (and log) one payload or event that cannot be stored."""
        self.stats.invalid += 1

    async def _store_one(self, topic: str, item: Any) -> None:
        """Store one event of a payload, counting it as stored, duplicate or invalid."""
        try:
            inserted = await self.store.insert_event(item)
        except InvalidInputError as exc:
            skipped(log, topic, str(exc))
            self.invalid(topic, str(exc))
            return
        if inserted:
            self.stats.stored += 1
        else:
            self.stats.duplicates += 1

    async def handle(self, topic: str, raw: Any) -> None:
        """Store the events of one message (one JSON event or a list)."""
        self.stats.received += 1
        payload = decode_json(raw)
        if isinstance(payload, dict):
            await self._store_one(topic, payload)
        elif isinstance(payload, list):
            await asyncio.gather(*(self._store_one(topic, item) for item in payload))
        else:
            raise BadMessage("payload must be a JSON event (an object) or a list of them")


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
    events = _Events(store, stats if stats is not None else IngestStats())
    session = Session(
        url,
        topics,
        events.handle,
        client_id=client_id,
        concurrency=concurrency,
        backoff=backoff,
        on_bad=events.invalid,
    )
    await session.run(stop or asyncio.Event())
    return events.stats
