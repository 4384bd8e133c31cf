"""The processes of the Frigate benchmark: camvault's consumer, a watch() reader, a plain
consumer and a bare client that only counts what it receives.

Each runs in a child process of its own (spawned, so none shares the publisher's GIL), is
told to stop through a ``multiprocessing`` event and sends what it measured back through a
pipe. Times are ``time.monotonic_ns()``, one clock for every process of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.harness import counting_logs
from camvault import AsyncEventStore, Event
from camvault.ingest.frigate import FrigateStats, consume_frigate
from camvault.ingest.mqtt import parse_mqtt_url
from camvault.runtime import settle_heap

POLL_S = 0.02
"""How often a child looks at its stop event."""

PLAIN_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, camera TEXT NOT NULL, "
    "label TEXT NOT NULL, sub_label TEXT, top_score REAL, score REAL, start_time REAL, "
    "end_time REAL, zones TEXT, has_snapshot INTEGER, payload TEXT)",
    "CREATE INDEX IF NOT EXISTS objects_camera_start ON objects (camera, start_time)",
)
"""The table a hobby integration keeps: one row per tracked object, the raw payload alongside."""
PLAIN_UPSERT = "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


async def _until(stop: ProcessEvent, task: asyncio.Task[Any]) -> None:
    """Wait until ``stop`` is set or ``task`` ends."""
    while not stop.is_set() and not task.done():
        await asyncio.sleep(POLL_S)


def camvault_consumer(
    db: str,
    url: str,
    prefix: str,
    client_id: str,
    stamp: bool,
    stop: ProcessEvent,
    out: Connection,
) -> None:
    """Run consume_frigate on a fresh store until ``stop``; send its counters (or the error).

    With ``stamp``, the commit bus notes when each event was first committed (as the plain
    consumer notes its own commits).
    """
    stored: dict[str, int] = {}

    def committed(events: Sequence[Event]) -> None:
        now = time.monotonic_ns()
        for event in events:
            stored.setdefault(event.event_id, now)

    async def main() -> dict[str, Any]:
        stats = FrigateStats()
        done = asyncio.Event()
        with counting_logs() as logs:
            async with AsyncEventStore(db) as store:
                if stamp:
                    store.subscribe(committed)
                task = asyncio.create_task(
                    consume_frigate(
                        store,
                        url,
                        None,
                        topic_prefix=prefix,
                        client_id=client_id,
                        stop=done,
                        stats=stats,
                    )
                )
                await _until(stop, task)
                done.set()
                await task
        return {**dataclasses.asdict(stats), "log_records": dict(logs.counts)}

    try:
        settle_heap()  # as `camvault ingest frigate` does before it consumes
        out.send({"stats": asyncio.run(main()), "stored": stored})
    except Exception as exc:  # reported by the parent, which has the console
        out.send({"error": f"{type(exc).__name__}: {exc}"})


def watcher(db: str, stop: ProcessEvent, ready: ProcessEvent, out: Connection) -> None:
    """Follow the store with AsyncEventStore.watch(); send when each event id was first seen."""

    async def main() -> dict[str, int]:
        seen: dict[str, int] = {}
        clock = time.monotonic_ns
        async with AsyncEventStore(db) as store, store.watch() as watch:
            ready.set()

            async def follow() -> None:
                async for event in watch:
                    seen.setdefault(event.event_id, clock())

            task = asyncio.create_task(follow())
            await _until(stop, task)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return seen

    try:
        with counting_logs():
            settle_heap()  # a long-running follower, as `camvault serve` is
            out.send({"seen": asyncio.run(main())})
    except Exception as exc:
        ready.set()
        out.send({"error": f"{type(exc).__name__}: {exc}"})


def _run_until(client: mqtt.Client, url: str, stop: ProcessEvent) -> str | None:
    """Connect a paho client to the broker at ``url`` and run its loop until ``stop``.

    Returns what failed, or None.
    """
    target = parse_mqtt_url(url)
    if target.username:
        client.username_pw_set(target.username, target.password)
    try:
        client.connect(target.host, target.port, keepalive=60)
        client.loop_start()
        stop.wait()
        client.disconnect()
        client.loop_stop()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def plain_consumer(
    db: str, url: str, prefix: str, client_id: str, stop: ProcessEvent, out: Connection
) -> None:
    """A hobby consumer: paho callback, stdlib json and sqlite3, INSERT OR REPLACE + commit."""
    conn = sqlite3.connect(db, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in PLAIN_SCHEMA:
        conn.execute(statement)
    conn.commit()
    stored: dict[str, int] = {}
    counts = {"messages": 0, "errors": 0}
    lock = threading.Lock()

    def on_connect(client: mqtt.Client, *_: Any) -> None:
        client.subscribe(f"{prefix}/events", qos=0)

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with lock:
            counts["messages"] += 1
            try:
                data = json.loads(message.payload)
                after = data["after"]
                conn.execute(
                    PLAIN_UPSERT,
                    (
                        after["id"],
                        after["camera"],
                        after["label"],
                        json.dumps(after.get("sub_label")),
                        after.get("top_score"),
                        after.get("score"),
                        after.get("start_time"),
                        after.get("end_time"),
                        json.dumps(after.get("entered_zones", [])),
                        int(bool(after.get("has_snapshot"))),
                        json.dumps(after),
                    ),
                )
                conn.commit()
            except (ValueError, KeyError, TypeError, sqlite3.Error):
                counts["errors"] += 1
                return
            if data.get("type") == "new":
                stored.setdefault(after["id"], time.monotonic_ns())

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        error = _run_until(client, url, stop)
    finally:
        conn.close()
    out.send({"error": error} if error else {"stats": counts, "stored": stored})


def bare_receiver(
    url: str,
    topic: str,
    client_id: str,
    received: ctypes.c_longlong,
    ready: ProcessEvent,
    stop: ProcessEvent,
    out: Connection,
) -> None:
    """Count the messages of ``topic`` with paho's own network loop and nothing else.

    The ceiling of any consumer built on paho (as aiomqtt, and so camvault, is): no JSON, no
    store. ``received`` (shared memory, one writer) counts as messages arrive; the child
    answers when the last one arrived.
    """
    last = [0]

    def on_connect(client: mqtt.Client, *_: Any) -> None:
        client.subscribe(topic, qos=0)

    def on_subscribe(*_: Any) -> None:
        ready.set()

    def on_message(*_: Any) -> None:
        received.value += 1
        last[0] = time.monotonic_ns()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    error = _run_until(client, url, stop)
    if error:
        ready.set()  # the parent waits for the subscription: let it read the error instead
    out.send({"error": error} if error else {"last_ns": last[0]})
