"""A posted batch answers per item: bad items are reported, the good ones are stored."""

from __future__ import annotations

import httpx

from camvault import AsyncEventStore
from tests.conftest import raw_connection


def _stored_ids(astore: AsyncEventStore) -> list[str]:
    """The event ids in the database, read with plain SQL on a connection of the test's own."""
    conn = raw_connection(astore.store)
    try:
        return sorted(row[0] for row in conn.execute("SELECT event_id FROM events").fetchall())
    finally:
        conn.close()


async def test_a_batch_with_bad_items_stores_the_good_ones(
    client: httpx.AsyncClient, astore: AsyncEventStore
) -> None:
    batch = [
        {"event_id": "good-1", "camera_id": "porch"},
        {"event_id": "bad-camera", "camera_id": ""},
        {"event_id": "good-2", "camera_id": "drive", "motion_confidence": 0.5},
        {"event_id": "bad-confidence", "camera_id": "porch", "motion_confidence": 7},
        "not an object",
        {"event_id": "good-1", "camera_id": "porch"},
    ]
    r = await client.post("/api/events", json=batch)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["inserted"], body["duplicates"], body["failed"]) == (2, 1, 3)
    results = body["results"]
    assert [(x["event_id"], x["status"]) for x in results] == [
        ("good-1", "inserted"),
        ("bad-camera", "error"),
        ("good-2", "inserted"),
        ("bad-confidence", "error"),
        (None, "error"),
        ("good-1", "duplicate"),
    ]
    assert results[1]["fields"] == ["camera_id"]
    assert results[3]["fields"] == ["motion_confidence"]
    assert "JSON object" in results[4]["error"]
    assert _stored_ids(astore) == ["good-1", "good-2"]


async def test_a_batch_of_only_bad_items_is_422_and_stores_nothing(
    client: httpx.AsyncClient, astore: AsyncEventStore
) -> None:
    r = await client.post("/api/events", json=[{"camera_id": ""}, {"camera_id": "x", "zz": 1}])
    assert r.status_code == 422, r.text
    body = r.json()
    assert (body["inserted"], body["failed"]) == (0, 2)
    assert [x["fields"] for x in body["results"]] == [["camera_id"], ["zz"]]
    assert _stored_ids(astore) == []
