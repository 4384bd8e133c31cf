"""The REST API through httpx, in-process: results, errors, thumbnails, auth, limits."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image

from camvault import AsyncEventStore, Event
from camvault.sample import sample_events
from camvault.web.app import STATIC
from camvault.web.security import is_loopback, require_safe_bind
from tests.web.conftest import AUTH, TOKEN

EVENT = {
    "event_id": "ev-1",
    "camera_id": "front-door",
    "detected_objects": [{"label": "person", "confidence": 0.9, "bbox": [0.1, 0.2, 0.3, 0.6]}],
    "llm_description": "A courier leaves a package",
}


def png(size: tuple[int, int] = (800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


async def test_post_one_event_then_read_it(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/events", json=EVENT)
    assert r.status_code == 200
    assert r.json()["results"] == [
        {"event_id": "ev-1", "status": "inserted", "error": None, "fields": []}
    ]
    got = (await client.get("/api/events/ev-1")).json()
    assert got["camera_id"] == "front-door"
    assert got["detected_objects"][0]["bbox"] == [0.1, 0.2, 0.3, 0.6]
    assert got["timestamp"].endswith("Z")


async def test_post_a_list_gives_a_result_per_event(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json=EVENT)
    batch = [EVENT, {"camera_id": "driveway", "event_id": "ev-2"}, {"camera_id": ""}, 7]
    body = (await client.post("/api/events", json=batch)).json()
    assert [r["status"] for r in body["results"]] == ["duplicate", "inserted", "error", "error"]
    assert body["results"][2]["fields"] == ["camera_id"]
    assert (body["inserted"], body["duplicates"], body["failed"]) == (1, 1, 2)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b'{"camera_id": "x", "motion_confidence": 9}', "motion_confidence"),
    ],
)
async def test_bad_posts_are_422_naming_the_field(
    client: httpx.AsyncClient, content: bytes, field: str
) -> None:
    r = await client.post(
        "/api/events", content=content, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    text = r.text
    assert field in text and "Traceback" not in text


async def test_too_many_events_in_one_post(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/events", json=[{"camera_id": "c"}] * 1001)
    assert r.status_code == 422 and "1 to 1000" in r.text


def newest_first(events: list[Event]) -> list[str]:
    """The ids of events in the order the API lists them by default."""
    return [e.event_id for e in sorted(events, key=lambda e: e.timestamp, reverse=True)]


async def test_list_filters_and_cursor(client: httpx.AsyncClient, astore: AsyncEventStore) -> None:
    events = list(sample_events(120, seed=3))
    await astore.insert_events(events)
    people = [
        e
        for e in events
        if any(o.label == "person" and o.confidence >= 0.5 for o in e.detected_objects)
    ]
    assert 25 < len(people) < len(events)  # several pages, and the filter leaves some out
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"label": "person", "min_confidence": 0.5, "limit": 25}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/events", params=params)).json()
        seen += [e["event_id"] for e in page["events"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == newest_first(people)
    count = await client.get("/api/count", params={"label": "person", "min_confidence": 0.5})
    assert count.json() == {"count": len(people)}
    cams = await client.get(
        "/api/events",
        params=[("camera_id", "garage"), ("camera_id", "driveway"), ("limit", "1000")],
    )
    two_cameras = [e for e in events if e.camera_id in ("garage", "driveway")]
    assert two_cameras and len(two_cameras) < len(events)
    assert [e["event_id"] for e in cams.json()["events"]] == newest_first(two_cameras)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"min_confidence": 2}, "min_confidence"),
        ({"since": "2026-01-01T00:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"cursor": "nope"}, "cursor"),
        ({"text": '"open'}, "text"),
        ({"order": "sideways"}, "order"),
    ],
)
async def test_bad_queries_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    r = await client.get("/api/events", params=params)
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["detail"]] == [field]


async def test_get_and_delete_missing_events_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/events/none")).status_code == 404
    assert (await client.delete("/api/events/none")).status_code == 404
    await client.post("/api/events", json=EVENT)
    assert (await client.delete("/api/events/ev-1")).status_code == 204
    assert (await client.get("/api/events/ev-1")).status_code == 404


async def test_thumbnail_upload_and_download(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json=EVENT)
    assert (await client.get("/api/events/ev-1/thumbnail")).status_code == 404
    put = await client.put(
        "/api/events/ev-1/thumbnail", content=png(), headers={"content-type": "image/png"}
    )
    assert put.status_code == 200 and put.json() == {"thumbnail_url": "/api/events/ev-1/thumbnail"}
    got = await client.get("/api/events/ev-1/thumbnail")
    assert got.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(got.content)).size) <= 640
    bad = await client.put("/api/events/ev-1/thumbnail", content=b"not an image")
    assert bad.status_code == 422
    missing = await client.put("/api/events/none/thumbnail", content=png())
    assert missing.status_code == 404


async def test_files_outside_the_thumbnail_folder_are_never_served(
    client: httpx.AsyncClient, tmp_path: object
) -> None:
    secret = {**EVENT, "event_id": "ev-x", "thumbnail_path": "/etc/passwd"}
    await client.post("/api/events", json=secret)
    assert (await client.get("/api/events/ev-x/thumbnail")).status_code == 404


async def test_histogram_cameras_persons(
    client: httpx.AsyncClient, astore: AsyncEventStore
) -> None:
    events = list(sample_events(60, seed=4))
    await astore.insert_events(events)
    hist = (await client.get("/api/histogram", params={"bucket": "day", "by": "camera_id"})).json()
    per_day_and_camera = Counter(
        (e.timestamp.astimezone(UTC).date().isoformat(), e.camera_id) for e in events
    )
    got = {(b["start"][:10], b["key"]): b["count"] for b in hist}
    assert got == dict(per_day_and_camera)
    assert all(b["start"].endswith("T00:00:00Z") for b in hist)  # UTC days
    assert (await client.get("/api/histogram", params={"tz": "Nowhere/City"})).status_code == 422
    cams = (await client.get("/api/cameras")).json()
    assert sorted(c["camera_id"] for c in cams) == sorted({e.camera_id for e in events})
    put = await client.put("/api/persons/alice", json={"authorized": True, "notes": "owner"})
    assert put.json()["authorized"] is True
    assert [p["name"] for p in (await client.get("/api/persons")).json()] == ["alice"]
    assert (await client.get("/api/persons/bob")).status_code == 404
    assert (await client.put("/api/persons/bob", json={"authorized": "maybe"})).status_code == 422


async def test_health_and_metrics(client: httpx.AsyncClient, engine: str) -> None:
    health = (await client.get("/api/healthz")).json()
    assert health["status"] == "ok" and health["engine"] == engine
    await client.post("/api/events", json=[EVENT, EVENT, {"camera_id": ""}])
    text = (await client.get("/api/metrics")).text
    assert "camvault_inserts_total 1.0" in text
    assert "camvault_duplicates_total 1.0" in text
    assert "camvault_insert_failures_total 1.0" in text
    assert "camvault_events_stored 1.0" in text
    assert "camvault_insert_seconds_bucket" in text


async def test_writes_need_the_token_and_reads_unless_public(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    private = make_client(token=TOKEN)
    assert (await private.post("/api/events", json=EVENT)).status_code == 401
    wrong = {"Authorization": "Bearer guess"}
    assert (await private.post("/api/events", json=EVENT, headers=wrong)).status_code == 401
    assert (await private.post("/api/events", json=EVENT, headers=AUTH)).status_code == 200
    assert (await private.get("/api/events")).status_code == 401
    assert (await private.get("/api/events", headers=AUTH)).status_code == 200
    assert (await private.get("/api/events", params={"access_token": TOKEN})).status_code == 200
    r = await private.get("/api/events")
    assert r.headers["www-authenticate"] == "Bearer"
    public = make_client(token=TOKEN, public_read=True)
    assert (await public.get("/api/events")).status_code == 200
    assert (await public.delete("/api/events/ev-1")).status_code == 401
    assert (await public.get("/api/healthz")).status_code == 200


def test_no_token_means_loopback_only() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        require_safe_bind(host, None)
    for host in ("0.0.0.0", "192.168.1.10", "::", "camera-box.local"):
        assert not is_loopback(host)
        with pytest.raises(ValueError, match="--token"):
            require_safe_bind(host, None)
        require_safe_bind(host, TOKEN)


async def test_request_bodies_have_a_size_limit(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    small = make_client(max_body=1000)
    big = {**EVENT, "llm_description": "x" * 5000}
    r = await small.post("/api/events", json=big)
    assert r.status_code == 413 and "larger than 1000 bytes" in r.text

    async def chunks():  # no Content-Length: the limit counts what streams in
        for _ in range(10):
            yield b"x" * 500

    streamed = await small.post("/api/events", content=chunks())
    assert streamed.status_code == 413


async def test_dashboard_and_assets_are_served_locally(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.split("<body>")[1].split("</body>")[0].replace(
        "http://www.w3.org", ""
    )
    for asset in ("/static/app.js", "/static/app.css"):
        assert (await client.get(asset)).status_code == 200


async def test_the_dashboards_assets_go_compressed_to_a_browser_that_takes_it(
    client: httpx.AsyncClient,
) -> None:
    on_disk = (STATIC / "vendor" / "uplot" / "uPlot.iife.min.js").read_bytes()
    asset = "/static/vendor/uplot/uPlot.iife.min.js"
    squeezed = await client.get(asset, headers={"Accept-Encoding": "gzip"})
    assert squeezed.headers["content-encoding"] == "gzip"
    assert int(squeezed.headers["content-length"]) < len(on_disk) // 2
    assert squeezed.content == on_disk  # httpx decoded it: the same bytes as the file
    plain = await client.get(asset, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == on_disk
    events = await client.get("/api/events", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in events.headers  # API answers stay as they are


async def test_openapi_has_examples_for_every_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    post = spec["paths"]["/api/events"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]
    assert {"/api/events", "/api/histogram", "/api/metrics", "/api/stream"} <= set(spec["paths"])

    def has_example(schema: dict[str, object]) -> bool:
        if "$ref" in schema:
            return has_example(schemas[str(schema["$ref"]).rsplit("/", 1)[1]])
        if "items" in schema:
            return has_example(schema["items"])  # type: ignore[arg-type]
        return bool(schema.get("examples"))

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            content = op["responses"].get("200", op["responses"].get("204", {})).get("content")
            if not content or "application/json" not in content:
                continue  # images, metrics text, event streams, 204s
            assert has_example(content["application/json"]["schema"]), f"{method} {path}"


async def test_since_and_until_filter_by_time(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    for i, hours in enumerate((1, 5, 30)):
        await client.post(
            "/api/events",
            json={
                "event_id": f"t{i}",
                "camera_id": "c",
                "timestamp": (now - timedelta(hours=hours)).isoformat(),
            },
        )
    since = (now - timedelta(hours=10)).isoformat()
    got = (await client.get("/api/events", params={"since": since})).json()
    assert [e["event_id"] for e in got["events"]] == ["t0", "t1"]
