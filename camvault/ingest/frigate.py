"""Store what a running Frigate publishes: one tracked object is one event with the same id.

:func:`consume_frigate` subscribes to ``<prefix>/events``, ``<prefix>/tracked_object_update``
and ``<prefix>/reviews`` through the shared MQTT :class:`~camvault.ingest.mqtt.Session`
(persistent QoS 1 session, ack after the commit, backoff, one line per outage). Each message
becomes an upsert of the object's event: ``new`` creates it, ``update`` updates it, ``end``
closes it; messages of one object are applied in arrival order, different objects
concurrently, and nothing is read from the store for an object held in memory.

Repeated messages change nothing; a message older than what is held (its ``frame_time``), or an
``update`` after the ``end``, is ignored. A false positive is never stored: Frigate itself
publishes an object only once it is no longer one. Descriptions, faces, plates and review
severities update the event whenever they arrive, before the object (kept until it comes,
or fetched from Frigate's API) or after its end.

With Frigate's HTTP API (``frigate_url``): MQTT boxes are made relative to each camera's
detect size, snapshots become thumbnails (retried, even across restarts), and every
(re)connection re-syncs from ``/api/events`` what the broker did not keep. Frigate's API
being down never stops MQTT events from being stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from camvault.aio import AsyncEventStore
from camvault.errors import InvalidInputError
from camvault.ingest.frigate_http import FrigateApi, FrigateUnavailable, check_frigate_url
from camvault.ingest.frigate_map import (
    Frame,
    apply_review,
    apply_tracked_update,
    event_from_api,
    event_from_mqtt,
    is_false_positive,
    review_event_ids,
)
from camvault.ingest.frigate_snapshots import Snapshots, wants_snapshot
from camvault.ingest.frigate_state import Known, Lanes, Objects, Parked, Ticket
from camvault.ingest.mqtt import (
    BadMessage,
    Session,
    check_topics,
    decode_json,
    default_client_id,
    parse_mqtt_url,
)
from camvault.models import Event

__all__ = ["FrigateStats", "consume_frigate", "frigate_topics"]

log = logging.getLogger("camvault.ingest.frigate")

KINDS = ("new", "update", "end")
"""The ``type`` of a ``frigate/events`` message."""
CONCURRENCY = 1024
"""Messages handled at once: more waiting in one object's lane means more coalesced."""
LIVE_LOOKBACK = 86_400.0
"""Seconds before the newest object beyond which a still-open object no longer moves a re-sync."""
FRAMES_EVERY = 60.0
"""Seconds between two reads of the detect sizes prompted by a camera without one."""
MARGIN = 30.0
"""Seconds a re-sync reaches back before what was last seen (clock skew, late commits)."""


@dataclass
class FrigateStats:
    """What the Frigate consumer has done so far."""

    messages: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0
    """False positives and messages older than what is stored (an update after the end)."""
    invalid: int = 0
    coalesced: int = 0
    """Object messages skipped because a later one of the same object was already waiting."""
    snapshots_saved: int = 0
    snapshots_pending: int = 0
    resynced: int = 0
    """Events inserted or updated from Frigate's API by a re-sync."""

    def count(self, status: str) -> None:
        """Count the result of one upsert."""
        if status == "inserted":
            self.inserted += 1
        elif status == "updated":
            self.updated += 1
        else:
            self.unchanged += 1

    def summary(self) -> str:
        """Return the counters as one line."""
        return (
            f"received {self.messages} messages: {self.inserted} events inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.coalesced} coalesced, "
            f"{self.ignored} ignored, {self.invalid} invalid; {self.resynced} re-synced; snapshots "
            f"{self.snapshots_saved} saved, {self.snapshots_pending} pending"
        )


def frigate_topics(prefix: str = "frigate") -> list[str]:
    """Return the topics the consumer subscribes to under Frigate's ``topic_prefix``."""
    clean = prefix.strip("/") if isinstance(prefix, str) else ""
    if not clean or "+" in clean or "#" in clean:
        problem = f"{prefix!r} must be a topic such as frigate, without wildcards (+ or #)"
        raise InvalidInputError("Frigate topic prefix", [("topic_prefix", problem)])
    return check_topics([f"{clean}/events", f"{clean}/tracked_object_update", f"{clean}/reviews"])


def _number(value: Any) -> float | None:
    """Return a JSON number as a float (None for anything else, booleans included)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _json_object(raw: Any) -> dict[str, Any]:
    """Decode a message payload that must be a JSON object (BadMessage)."""
    payload = decode_json(raw)
    if not isinstance(payload, dict):
        raise BadMessage("payload must be a JSON object")
    return payload


def _object_id(holder: dict[str, Any], field: str) -> str:
    """Return the tracked object's id at ``holder["id"]`` (BadMessage naming ``field``)."""
    event_id = holder.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise BadMessage(f"{field}: must be a non-empty string")
    return event_id


def _object_parts(payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """Return the type, object id and ``after`` of a ``frigate/events`` message (BadMessage)."""
    kind, after = payload.get("type"), payload.get("after")
    if kind not in KINDS:
        raise BadMessage(f"type: must be one of {', '.join(KINDS)}")
    if not isinstance(after, dict):
        raise BadMessage("after: must be a JSON object")
    return str(kind), _object_id(after, "after.id"), after


def _frigate_float(event: Event, key: str) -> float:
    """Read a number from the raw Frigate payload kept in an event's metadata."""
    raw = event.metadata.get("frigate")
    value = _number(raw.get(key)) if isinstance(raw, dict) else None
    return value if value is not None else event.timestamp.timestamp()


def _known(event: Event) -> Known:
    """Rebuild what is held for an object from its stored event."""
    return Known(
        event=event,
        frame_time=_frigate_float(event, "frame_time"),
        start=event.timestamp.timestamp(),
        snapshot_asked=event.thumbnail_path is not None,
    )


class FrigateConsumer:
    """The handler of Frigate's messages and the re-sync over its HTTP API."""

    def __init__(
        self,
        store: AsyncEventStore,
        api: FrigateApi | None,
        stats: FrigateStats,
        topics: list[str],
        backoff: tuple[float, float],
    ) -> None:
        self.store = store
        self.api = api
        self.stats = stats
        self.events_topic, self.updates_topic, self.reviews_topic = topics
        self.backoff = backoff
        self.objects = Objects()
        self.parked = Parked()
        self.lanes = Lanes()
        self.unseen: set[str] = set()  # objects whose skipped first message was ``new``
        self.frames: dict[str, Frame] = {}
        self.frames_read = -FRAMES_EVERY  # monotonic time of the last read of the sizes
        self.frames_task: asyncio.Task[None] | None = None
        self.newest: float | None = None  # the latest start_time seen (Frigate's clock)
        self.resync_wanted = asyncio.Event()
        self.snapshots = Snapshots(store, api, stats, backoff=backoff) if api else None

    # -- messages -----------------------------------------------------------------------

    def invalid(self, topic: str, problem: str) -> None:
        """Count a skipped message (the session has logged it)."""
        self.stats.invalid += 1

    async def handle(self, topic: str, raw: Any) -> None:
        """Apply one message; BadMessage if it cannot be used."""
        self.stats.messages += 1
        if topic == self.events_topic:
            # only ``after`` is kept while the message waits for its lane: ``before``, half
            # of every payload, is garbage at once rather than held by each message in flight
            await self._on_object(*_object_parts(_json_object(raw)))
            return
        payload = _json_object(raw)
        if topic == self.updates_topic:
            event_id = _object_id(payload, "id")
            await self.lanes.take(event_id).run(lambda: self._later(event_id, "tracked", payload))
        else:
            await self._on_review(payload)

    async def _on_object(self, kind: str, event_id: str, after: dict[str, Any]) -> None:
        """Apply one ``frigate/events`` message in its object's lane."""
        # an end outranks every update; otherwise the newer frame wins
        frame_time = _number(after.get("frame_time")) or _number(after.get("start_time")) or 0.0
        ticket = self.lanes.take(event_id, rank=math.inf if kind == "end" else frame_time)
        await ticket.run(lambda: self._object(kind, event_id, after, ticket))

    async def _on_review(self, payload: dict[str, Any]) -> None:
        """Keep a review's severity on each of its objects, each in its own lane."""
        review = payload.get("after")
        if not isinstance(review, dict):
            raise BadMessage("after: must be a JSON object")
        try:
            ids = review_event_ids(review)
        except InvalidInputError as exc:
            raise BadMessage(str(exc)) from None
        tickets = [(i, self.lanes.take(i)) for i in dict.fromkeys(ids)]
        results = await asyncio.gather(
            *(t.run(self._bind_later(i, "review", review)) for i, t in tickets),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _bind_later(
        self, event_id: str, kind: str, payload: dict[str, Any]
    ) -> Callable[[], Awaitable[None]]:
        """Return the work of applying one later update to ``event_id``."""
        return lambda: self._later(event_id, kind, payload)

    async def _held(self, event_id: str) -> Known | None:
        """Return what is held for an object, reading the store only if memory has nothing."""
        known = self.objects.get(event_id)
        if known is None:
            event = await self.store.get_event(event_id)
            if event is not None:
                known = _known(event)
                self.objects.put(event_id, known)
        return known

    async def _object(
        self, kind: str, event_id: str, after: dict[str, Any], ticket: Ticket
    ) -> None:
        """Upsert the event of one object message (in its lane).

        A message already followed by a later one of the same object that is at least as
        new is skipped: each carries the whole object, and the later one is applied (under
        load this turns a burst of updates into one write).
        """
        unseen = kind == "new" or event_id in self.unseen
        if ticket.superseded and kind != "end":
            if unseen:
                self.unseen.add(event_id)  # the store has not got it: no read for the next
            self.stats.coalesced += 1
            return
        self.unseen.discard(event_id)
        try:
            false_positive = is_false_positive(after)
        except InvalidInputError as exc:
            raise BadMessage(str(exc)) from None
        if false_positive:
            self.stats.ignored += 1
            return
        frame_time = _number(after.get("frame_time")) or _number(after.get("start_time")) or 0.0
        known = self.objects.get(event_id) if unseen else await self._held(event_id)
        if known is not None and (
            (known.ended and kind != "end") or (kind != "end" and frame_time < known.frame_time)
        ):
            self.stats.ignored += 1  # repeated or out of order: what is held is newer
            return
        camera = after.get("camera")
        frame = self.frames.get(camera) if isinstance(camera, str) else None
        if frame is None:
            self._refresh_frames()  # a camera added to Frigate since the sizes were read
        try:
            event = event_from_mqtt(after, frame, known.event if known else None)
        except InvalidInputError as exc:
            raise BadMessage(str(exc)) from None
        status = await self.store.upsert_event(event)
        self.stats.count(status)
        start = event.timestamp.timestamp()
        held = Known(
            event=event,
            frame_time=max(frame_time, known.frame_time if known else frame_time),
            start=start,
            snapshot_asked=known.snapshot_asked if known else False,
        )
        self.objects.put(event_id, held)
        self.newest = start if self.newest is None else max(self.newest, start)
        await self._unpark(event_id, held)
        self._snapshot(held, was_ended=known is not None and known.ended)

    def _snapshot(self, held: Known, *, was_ended: bool) -> None:
        """Ask for the snapshot when Frigate first has one and again when the object ends."""
        if self.snapshots is None or not wants_snapshot(held.event):
            return
        if not held.snapshot_asked or (held.ended and not was_ended):
            held.snapshot_asked = True
            self.snapshots.want(held.event.event_id)

    async def _later(self, event_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Apply a description/face/plate update or a review, or keep it for later."""
        known = await self._held(event_id)
        if known is None and self.api is not None:
            known = await self._fetch(event_id)
        if known is None:
            self.parked.add(event_id, kind, payload)
            return
        await self._apply_later(event_id, known, [(kind, payload)])

    async def _apply_later(
        self, event_id: str, known: Known, updates: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Apply later updates onto a held object and store the result once."""
        event = known.event
        for kind, payload in updates:
            try:
                if kind == "review":
                    event = apply_review(event, payload)
                else:
                    event = apply_tracked_update(event, payload)
            except InvalidInputError as exc:
                raise BadMessage(str(exc)) from None
        status = await self.store.upsert_event(event)
        self.stats.count(status)
        known.event = event
        self.objects.put(event_id, known)

    async def _unpark(self, event_id: str, known: Known) -> None:
        """Apply the updates that arrived before their object."""
        if updates := self.parked.pop(event_id):
            try:
                await self._apply_later(event_id, known, updates)
            except BadMessage as exc:
                log.warning("update for Frigate event %s skipped: %s", event_id, exc)
                self.stats.invalid += 1

    async def _fetch(self, event_id: str) -> Known | None:
        """Store an object Frigate's API knows and MQTT has not brought yet; None if not."""
        assert self.api is not None
        try:
            row = await self.api.event(event_id)
        except FrigateUnavailable:
            return None
        if row is None:
            return None
        return await self._row(row)

    # -- re-sync over HTTP --------------------------------------------------------------

    async def _row(self, row: Mapping[str, Any]) -> Known | None:
        """Store one ``/api/events`` item unless what is held is as new (in its lane)."""
        event_id = str(row.get("id"))
        known = await self._held(event_id)
        ended = _number(row.get("end_time")) is not None
        if known is not None and (not ended or known.ended):
            return known
        try:
            event = event_from_api(row, known.event if known else None)
        except InvalidInputError as exc:
            log.warning("Frigate event %s from /api/events skipped: %s", event_id, exc)
            self.stats.invalid += 1
            return known
        status = await self.store.upsert_event(event)
        self.stats.count(status)
        if status != "unchanged":
            self.stats.resynced += 1
        start = event.timestamp.timestamp()
        held = Known(
            event=event,
            frame_time=known.frame_time if known else start,
            start=start,
            snapshot_asked=known.snapshot_asked if known else False,
        )
        self.objects.put(event_id, held)
        self.newest = start if self.newest is None else max(self.newest, start)
        await self._unpark(event_id, held)
        self._snapshot(held, was_ended=known is not None and known.ended)
        return held

    def _since(self) -> float | None:
        """Where a re-sync starts: before the oldest live object and the newest seen one.

        Objects in progress for more than a day (Frigate ended them while camvault was away
        and has perhaps forgotten them) do not pull the re-sync further back.
        """
        starts = [k.start for k in self.objects.values() if not k.ended]
        if self.newest is not None:
            starts.append(self.newest)
        if not starts:
            return None
        floor = (self.newest or time.time()) - LIVE_LOOKBACK
        return max(min(starts), floor) - MARGIN

    async def load_frames(self) -> None:
        """Read each camera's detect size from Frigate (FrigateUnavailable if it is down)."""
        if self.api is not None:
            self.frames_read = time.monotonic()
            self.frames = await self.api.frames()

    def _refresh_frames(self) -> None:
        """Read the detect sizes again in the background, at most once a minute."""
        if self.api is None or time.monotonic() - self.frames_read < FRAMES_EVERY:
            return
        if self.frames_task is None or self.frames_task.done():
            self.frames_task = asyncio.create_task(self._load_frames_quietly())

    async def _load_frames_quietly(self) -> None:
        """Read the detect sizes; an unreachable Frigate is logged by the API client."""
        with contextlib.suppress(FrigateUnavailable):
            await self.load_frames()

    async def close(self) -> None:
        """Stop the background reads of detect sizes."""
        if self.frames_task is not None:
            self.frames_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.frames_task

    async def resync(self) -> int:
        """Store what Frigate's API has that MQTT did not bring; return how many changed."""
        assert self.api is not None
        before = self.stats.resynced
        await self.load_frames()
        since = self._since()
        if since is None:
            since = time.time() - MARGIN  # nothing stored yet: only what is going on now
        for in_progress in (False, True):
            async for page in self.api.events(
                after=None if in_progress else since, in_progress=in_progress
            ):
                rows = [r for r in page if isinstance(r.get("id"), str)]
                tickets = [(r, self.lanes.take(r["id"])) for r in rows]
                await asyncio.gather(*(t.run(self._bind_row(r)) for r, t in tickets))
        return self.stats.resynced - before

    def _bind_row(self, row: Mapping[str, Any]) -> Callable[[], Awaitable[Known | None]]:
        """Return the work of storing one API row."""
        return lambda: self._row(row)

    async def load_watermark(self) -> None:
        """Start from the store: the newest Frigate event, and the ones still in progress."""
        page = await self.store.query(source="frigate", limit=1)
        if page.events:
            self.newest = page.events[0].timestamp.timestamp()
        live = await self.store.query(source="frigate", in_progress=True, limit=1000)
        for event in live.events:
            self.objects.put(event.event_id, _known(event))

    async def resync_forever(self) -> None:
        """Re-sync each time the broker (re)connects, retrying while Frigate is down."""
        delay = self.backoff[0]
        while True:
            await self.resync_wanted.wait()
            self.resync_wanted.clear()
            try:
                count = await self.resync()
            except FrigateUnavailable:
                self.resync_wanted.set()  # the API client has logged the outage
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            delay = self.backoff[0]
            if count:
                log.info("re-synced %d events from Frigate's API", count)


async def consume_frigate(
    store: AsyncEventStore,
    mqtt_url: str,
    frigate_url: str | None = None,
    *,
    topic_prefix: str = "frigate",
    client_id: str | None = None,
    stop: asyncio.Event | None = None,
    stats: FrigateStats | None = None,
    backoff: tuple[float, float] = (1.0, 30.0),
) -> FrigateStats:
    """Store what Frigate publishes until ``stop`` is set; return the counters.

    ``frigate_url`` (``http://frigate:5000``) adds relative boxes, snapshots and the
    re-sync of missed events. Pass ``stats`` to read the counters while it runs.
    """
    topics = frigate_topics(topic_prefix)
    parse_mqtt_url(mqtt_url)  # every argument is checked before anything is opened
    if frigate_url is not None:
        check_frigate_url(frigate_url)
    stats = stats if stats is not None else FrigateStats()
    api = FrigateApi(frigate_url, max_delay=backoff[1]) if frigate_url is not None else None
    consumer = FrigateConsumer(store, api, stats, topics, backoff)
    session = Session(
        mqtt_url,
        topics,
        consumer.handle,
        client_id=client_id or default_client_id("frigate"),
        concurrency=CONCURRENCY,
        backoff=backoff,
        logger=log,
        on_bad=consumer.invalid,
        on_connect=consumer.resync_wanted.set if api is not None else None,
    )
    side_tasks: list[asyncio.Task[Any]] = []
    try:
        await consumer.load_watermark()
        if api is not None and consumer.snapshots is not None:
            with contextlib.suppress(FrigateUnavailable):
                await consumer.load_frames()
            await consumer.snapshots.recover()
            side_tasks.append(asyncio.create_task(consumer.resync_forever()))
            side_tasks.append(asyncio.create_task(consumer.snapshots.run()))
            for task in side_tasks:
                task.add_done_callback(session.task_done)
        await session.run(stop or asyncio.Event())
    finally:
        for task in side_tasks:
            task.cancel()
        for task in side_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await consumer.close()
        if api is not None:
            await api.close()
    return stats
