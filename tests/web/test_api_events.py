"""Event resources over HTTP: ids, slashes in ids, thumbnail URLs, isolation of bad input."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from camvault import AsyncEventStore, Event, thumbnails
from camvault.backends.sqlite import failing_inserts
from camvault.web import create_app
from tests.gate import HeldWriter
from tests.web.sse import SSEClient

MakeClient = Callable[..., httpx.AsyncClient]
BAD_TIME = {"camera_id": "cam", "event_id": "bad", "timestamp": "9999-12-31T23:59:59-14:00"}
GOOD = {"camera_id": "cam", "event_id": "good", "timestamp": "2026-11-21T18:04:05Z"}


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


# -- a bad event fails alone, also when it shares a group commit -------------------------


async def test_a_bad_timestamp_fails_alone_between_two_clients(
    make_client: MakeClient, astore: AsyncEventStore, db_path: Path
) -> None:
    one, two = make_client(), make_client()
    async with HeldWriter(astore, db_path) as held:  # both posts land in one group commit
        bad = asyncio.create_task(one.post("/api/events", json=BAD_TIME))
        good = asyncio.create_task(two.post("/api/events", json=GOOD))
        await held.queued(2)
    bad_reply, good_reply = await bad, await good
    assert bad_reply.status_code == 422
    result = bad_reply.json()["results"][0]
    assert result["fields"] == ["timestamp"] and "2200-01-01T00:00:00Z" in result["error"]
    assert good_reply.status_code == 200
    assert good_reply.json()["results"][0]["status"] == "inserted"
    assert (await two.get("/api/events/good")).json()["camera_id"] == "cam"
    assert (await one.get("/api/events/bad")).status_code == 404


async def test_a_fault_in_the_writer_fails_only_its_client(
    make_client: MakeClient,
    astore: AsyncEventStore,
    db_path: Path,
) -> None:
    def check(event: Event) -> None:
        if event.event_id == "faulty":
            raise OverflowError("date value out of range")

    one, two = make_client(), make_client()
    with failing_inserts(check):
        async with HeldWriter(astore, db_path) as held:
            faulty = asyncio.create_task(
                one.post("/api/events", json={**GOOD, "event_id": "faulty"})
            )
            good = asyncio.create_task(two.post("/api/events", json=GOOD))
            await held.queued(2)
        faulty_reply, good_reply = await faulty, await good
    assert faulty_reply.status_code == 422
    assert faulty_reply.json()["results"][0]["error"].startswith("unexpected error")
    assert "Traceback" not in faulty_reply.text
    assert good_reply.json()["results"][0]["status"] == "inserted"
    assert (await two.get("/api/events/good")).status_code == 200


# -- the result names the stored id, generated ones included ----------------------------


async def test_post_answers_the_id_of_the_stored_event(client: httpx.AsyncClient) -> None:
    body = (await client.post("/api/events", json={"camera_id": "driveway"})).json()
    event_id = body["results"][0]["event_id"]
    assert isinstance(event_id, str) and event_id
    got = await client.get(f"/api/events/{event_id}")
    assert got.status_code == 200 and got.json()["camera_id"] == "driveway"
    put = await client.put(f"/api/events/{event_id}/thumbnail", content=png())
    assert put.status_code == 200  # the README's flow: POST, then PUT its thumbnail
    batch = [{"camera_id": "a"}, {"camera_id": "b", "event_id": "mine"}, {"camera_id": "c"}]
    results = (await client.post("/api/events", json=batch)).json()["results"]
    ids = [r["event_id"] for r in results]
    assert ids[1] == "mine" and len(set(ids)) == 3 and all(ids)
    for camera, stored_id in zip("abc", ids, strict=True):
        assert (await client.get(f"/api/events/{stored_id}")).json()["camera_id"] == camera


async def test_a_refused_event_is_named_by_the_id_the_client_sent_or_none(
    client: httpx.AsyncClient,
) -> None:
    batch = [
        {"camera_id": "", "event_id": "theirs"},
        {"camera_id": "x", "timestamp": "9999-12-31T23:59:59-14:00"},
    ]
    body = (await client.post("/api/events", json=batch)).json()
    assert [r["status"] for r in body["results"]] == ["error", "error"]
    # no id that camvault made up for an event it never stored
    assert [r["event_id"] for r in body["results"]] == ["theirs", None]


# -- ids containing "/" ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_id", "encoded"),
    [
        ("frigate/1700000000.123-abc", "frigate%2F1700000000.123-abc"),
        ("cam/thumbnail", "cam%2Fthumbnail"),
        ("a/b/c/", "a%2Fb%2Fc%2F"),
        ("50% off/x?y#z", "50%25%20off%2Fx%3Fy%23z"),
    ],
)
async def test_ids_with_slashes_work_on_their_encoded_paths(
    client: httpx.AsyncClient, event_id: str, encoded: str
) -> None:
    prefix = event_id.split("/", maxsplit=1)[0]
    await client.post("/api/events", json=[{"camera_id": "c", "event_id": prefix}])
    r = await client.post("/api/events", json={"camera_id": "c", "event_id": event_id})
    assert r.json()["results"][0]["event_id"] == event_id
    got = await client.get(f"/api/events/{encoded}")
    assert got.status_code == 200 and got.json()["event_id"] == event_id
    assert (await client.get(f"/api/events/{encoded}/thumbnail")).status_code == 404
    put = await client.put(f"/api/events/{encoded}/thumbnail", content=png())
    assert put.status_code == 200
    assert put.json() == {"thumbnail_url": f"/api/events/{encoded}/thumbnail"}
    image = await client.get(put.json()["thumbnail_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    listed = (await client.get("/api/events", params={"camera_id": "c"})).json()["events"]
    urls = {e["event_id"]: e["thumbnail_url"] for e in listed}
    assert urls == {event_id: f"/api/events/{encoded}/thumbnail", prefix: None}
    assert (await client.delete(f"/api/events/{encoded}")).status_code == 204
    assert (await client.get(f"/api/events/{encoded}")).status_code == 404
    assert (await client.get(f"/api/events/{prefix}")).status_code == 200  # its neighbour stays


# -- thumbnail_url instead of server paths -----------------------------------------------


async def test_events_carry_a_thumbnail_url_and_never_a_server_path(
    client: httpx.AsyncClient, astore: AsyncEventStore
) -> None:
    await client.post(
        "/api/events",
        json=[
            {**GOOD, "event_id": "with"},
            {**GOOD, "event_id": "without"},
            {**GOOD, "event_id": "foreign", "thumbnail_path": "/etc/passwd"},
        ],
    )
    await client.put("/api/events/with/thumbnail", content=png())
    server_root = str(astore.store.thumbnails_dir)
    page = await client.get("/api/events")
    assert server_root not in page.text and "/etc/passwd" not in page.text
    urls = {e["event_id"]: e["thumbnail_url"] for e in page.json()["events"]}
    assert urls == {"with": "/api/events/with/thumbnail", "without": None, "foreign": None}
    for event_id, url in urls.items():
        one = await client.get(f"/api/events/{event_id}")
        assert "thumbnail_path" not in one.json() and server_root not in one.text
        assert one.json()["thumbnail_url"] == url
    assert (await client.get("/api/events/foreign/thumbnail")).status_code == 404


async def test_the_live_stream_carries_thumbnail_urls(
    astore: AsyncEventStore, db_path: Path
) -> None:
    stream = await SSEClient(create_app(astore)).open()
    # a thumbnail at the path camvault derives for the event: its URL is known when stored
    when = datetime(2026, 11, 21, 18, 4, 5, tzinfo=UTC)
    made = thumbnails.thumbnail_path(astore.store.thumbnails_dir, "live", "live/1", when)
    await astore.insert_event(
        Event(camera_id="live", event_id="live/1", timestamp=when, thumbnail_path=str(made))
    )
    await astore.insert_event(Event(camera_id="live", event_id="live/2"))
    data = [message for _, message in await stream.messages(2)]
    await stream.close()
    assert [d["event_id"] for d in data] == ["live/1", "live/2"]
    assert all("thumbnail_path" not in d for d in data)
    assert [d["thumbnail_url"] for d in data] == ["/api/events/live%2F1/thumbnail", None]


async def test_the_schema_documents_thumbnail_url(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert "thumbnail_url" in schemas["StoredEvent"]["properties"]
    assert "thumbnail_path" not in schemas["StoredEvent"]["properties"]
    assert "thumbnail_url" in schemas["ThumbnailOut"]["properties"]
    event_ref = {"$ref": "#/components/schemas/StoredEvent"}
    assert (
        spec["paths"]["/api/events/{event_id}"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        == event_ref
    )
    assert "camera_id" in schemas["Event"]["properties"]  # what POST /api/events accepts


# -- only the thumbnail camvault made for an event goes with it --------------------------


async def test_deleting_b_pointing_at_the_thumbnail_of_a_leaves_it(
    client: httpx.AsyncClient, astore: AsyncEventStore
) -> None:
    await client.post("/api/events", json={**GOOD, "event_id": "a"})
    await client.put("/api/events/a/thumbnail", content=png())
    a = await astore.get_event("a")
    assert a is not None and a.thumbnail_path is not None
    await client.post(
        "/api/events", json={**GOOD, "event_id": "b", "thumbnail_path": a.thumbnail_path}
    )
    assert (await client.get("/api/events/b/thumbnail")).status_code == 404  # not B's file
    assert (await client.delete("/api/events/b")).status_code == 204
    assert Path(a.thumbnail_path).is_file()
    assert (await client.get("/api/events/a/thumbnail")).status_code == 200
