"""PATCH /api/events/{id} (keep forever) and DELETE /api/persons/{name} over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.web.conftest import AUTH, TOKEN

EVENT = {"event_id": "ev-1", "camera_id": "front-door"}


async def test_patch_retain_round_trips(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json=EVENT)
    r = await client.patch("/api/events/ev-1", json={"retain": True})
    assert r.status_code == 200 and r.json()["retain"] is True
    assert (await client.get("/api/events/ev-1")).json()["retain"] is True
    assert (await client.patch("/api/events/missing", json={"retain": True})).status_code == 404


async def test_patch_changes_the_fields_of_an_evolving_event(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json={**EVENT, "timestamp": "2026-11-20T12:00:00Z"})
    changes = {
        "end_time": "2026-11-20T13:00:30+01:00",
        "zones": ["drive", "porch", "drive"],
        "license_plate": "AB123CD",
        "source": "api",
        "camera_id": "drive",
    }
    r = await client.patch("/api/events/ev-1", json=changes)
    assert r.status_code == 200, r.text
    got = (await client.get("/api/events/ev-1")).json()
    assert got == r.json()
    assert (got["end_time"], got["zones"], got["camera_id"]) == (
        "2026-11-20T12:00:30Z",
        ["drive", "porch"],
        "drive",
    )
    found = await client.get("/api/events", params={"zone": "porch", "in_progress": "false"})
    assert [e["event_id"] for e in found.json()["events"]] == ["ev-1"]
    early = await client.patch("/api/events/ev-1", json={"end_time": "2026-11-20T11:59:59Z"})
    assert early.status_code == 422
    assert "end_time" in [d["field"] for d in early.json()["detail"]]


async def test_bad_patches_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json=EVENT)
    cases = [
        ({"json": {"camera_id": ""}}, "camera_id"),
        ({"json": {"event_id": "other"}}, "event_id"),
        ({"json": {"zones": ["ok", " bad"]}}, "zones[1]"),
        ({"json": {"retain": "maybe"}}, "retain"),
        ({"json": [True]}, "body"),
        ({"content": b"{nope"}, "body"),
    ]
    for kwargs, field in cases:
        r = await client.patch("/api/events/ev-1", **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 422, kwargs
        assert field in [d["field"] for d in r.json()["detail"]], r.json()
    assert (await client.get("/api/events/ev-1")).json()["retain"] is False


async def test_delete_person(client: httpx.AsyncClient) -> None:
    await client.put("/api/persons/alice", json={"authorized": True})
    assert (await client.delete("/api/persons/alice")).status_code == 204
    assert (await client.get("/api/persons/alice")).status_code == 404
    assert (await client.delete("/api/persons/alice")).status_code == 404


async def test_edits_need_the_token(make_client: Callable[..., httpx.AsyncClient]) -> None:
    client = make_client(token=TOKEN)
    await client.post("/api/events", json=EVENT, headers=AUTH)
    await client.put("/api/persons/alice", json={}, headers=AUTH)
    assert (await client.patch("/api/events/ev-1", json={"retain": True})).status_code == 401
    assert (await client.delete("/api/persons/alice")).status_code == 401
    assert (await client.get("/api/persons/alice", headers=AUTH)).status_code == 200


async def test_patch_accepts_an_encoded_id_with_a_slash(client: httpx.AsyncClient) -> None:
    await client.post("/api/events", json={"event_id": "frigate/1.5-abc", "camera_id": "c"})
    r = await client.patch("/api/events/frigate%2F1.5-abc", json={"retain": True})
    assert r.status_code == 200 and r.json()["event_id"] == "frigate/1.5-abc"
    assert r.json()["retain"] is True
