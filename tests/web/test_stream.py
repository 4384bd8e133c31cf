"""GET /api/stream over watch(): several clients, filters, Last-Event-ID, one follower."""

from __future__ import annotations

import threading

import httpx

from camvault import AsyncEventStore, DetectedObject, Event
from camvault.web import create_app
from tests.web.sse import SSEClient


def event(event_id: str, camera: str, label: str) -> Event:
    obj = DetectedObject(label=label, confidence=0.9, bbox=(0.1, 0.1, 0.4, 0.4))
    return Event(event_id=event_id, camera_id=camera, detected_objects=[obj])


EVENTS = [
    event("e1", "gate", "car"),
    event("e2", "yard", "car"),
    event("e3", "gate", "person"),
    event("e4", "gate", "car"),
    event("e5", "yard", "dog"),
]


async def test_every_client_sees_every_matching_event_once_in_order(
    astore: AsyncEventStore,
) -> None:
    def followers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "camvault-watch"}

    before = followers()
    app = create_app(astore)
    await astore.insert_event(event("old", "gate", "car"))  # before anyone connected
    clients = [await SSEClient(app).open() for _ in range(3)]
    gate_cars = await SSEClient(app, "camera_id=gate&label=car").open()
    assert {c.status for c in [*clients, gate_cars]} == {200}
    await astore.insert_events(EVENTS[:2])
    for e in EVENTS[2:]:
        await astore.insert_event(e)
    names = [e.event_id for e in EVENTS]
    seen = [await c.events(len(names)) for c in clients]
    for got in seen:
        assert [name for _, name in got] == names
        assert got == seen[0]  # the same ids (positions) for every client
    assert [p for p, _ in seen[0]] == sorted({p for p, _ in seen[0]})
    assert [name for _, name in await gate_cars.events(2)] == ["e1", "e4"]
    assert len(followers() - before) == 1  # four clients, one follower of the database
    for c in [*clients, gate_cars]:
        await c.close()


async def test_last_event_id_resumes_after_that_event(astore: AsyncEventStore) -> None:
    app = create_app(astore)
    first = await SSEClient(app).open()
    await astore.insert_events(EVENTS[:3])
    got = await first.events(3)
    await first.close()
    await astore.insert_event(EVENTS[3])  # committed while nobody listened
    again = await SSEClient(app, headers={"Last-Event-ID": str(got[0][0])}).open()
    await astore.insert_event(EVENTS[4])
    assert [name for _, name in await again.events(4)] == ["e2", "e3", "e4", "e5"]
    await again.close()


async def test_stream_arguments_are_checked_before_streaming(client: httpx.AsyncClient) -> None:
    for params, headers, field in (
        ({}, {"Last-Event-ID": "x"}, "Last-Event-ID"),
        ({}, {"Last-Event-ID": "-1"}, "Last-Event-ID"),
        ({"min_confidence": "3"}, {}, "min_confidence"),
        ({"text": '"unclosed'}, {}, "text"),
    ):
        r = await client.get("/api/stream", params=params, headers=headers)
        assert r.status_code == 422, (params, headers, r.text)
        assert [d["field"] for d in r.json()["detail"]] == [field]


async def test_last_event_id_of_a_deleted_event_resumes_after_it(astore: AsyncEventStore) -> None:
    app = create_app(astore)
    first = await SSEClient(app).open()
    await astore.insert_events(EVENTS[:2])
    got = await first.events(2)
    await first.close()
    assert await astore.delete_event("e2")  # the event the browser saw last is gone
    await astore.insert_event(EVENTS[2])
    again = await SSEClient(app, headers={"Last-Event-ID": str(got[-1][0])}).open()
    try:
        await astore.insert_event(EVENTS[3])
        resumed = await again.events(1)  # e3 first (not e4: e3 must not take e2's id)
        resumed += await again.events(1)
    finally:
        await again.close()
    assert [name for _, name in resumed] == ["e3", "e4"]
    assert resumed[0][0] > got[-1][0]  # a new id, never the deleted event's


async def test_an_event_posted_to_one_service_streams_live_from_another(store_url: str) -> None:
    """Two services on one database (two machines behind a load balancer, say)."""
    async with AsyncEventStore(store_url) as one, AsyncEventStore(store_url) as two:
        watcher = await SSEClient(create_app(two), "label=car").open()
        transport = httpx.ASGITransport(app=create_app(one))
        async with httpx.AsyncClient(transport=transport, base_url="http://one") as poster:
            for e in EVENTS:
                reply = await poster.post("/api/events", json=e.model_dump(mode="json"))
                assert reply.status_code == 200, reply.text
        assert [name for _, name in await watcher.events(3)] == ["e1", "e2", "e4"]
        await watcher.close()
