"""Only the whole token opens the API, and a token in the URL only ever reads."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from camvault import AsyncEventStore
from tests.conftest import raw_connection

SECRET = "abcdef"
EVENT = {"event_id": "kept", "camera_id": "porch", "retain": False}


def _rows(astore: AsyncEventStore, sql: str) -> list[tuple[object, ...]]:
    """Run plain SQL on a connection of the test's own."""
    conn = raw_connection(astore.store)
    try:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize("guess", ["abc", "abcdefX", "abcde", "bcdef", "ABCDEF", "xabcdef"])
async def test_only_the_whole_token_is_accepted(
    make_client: Callable[..., httpx.AsyncClient], astore: AsyncEventStore, guess: str
) -> None:
    client = make_client(token=SECRET)
    bearer = {"Authorization": f"Bearer {guess}"}
    assert (await client.get("/api/events", headers=bearer)).status_code == 401
    assert (await client.get("/api/events", params={"access_token": guess})).status_code == 401
    posted = await client.post("/api/events", json=EVENT, headers=bearer)
    assert posted.status_code == 401
    assert _rows(astore, "SELECT event_id FROM events") == []
    # the whole token, sent the same ways, is accepted
    right = {"Authorization": f"Bearer {SECRET}"}
    assert (await client.post("/api/events", json=EVENT, headers=right)).status_code == 200
    assert (await client.get("/api/events", params={"access_token": SECRET})).status_code == 200
    assert _rows(astore, "SELECT event_id FROM events") == [("kept",)]


@pytest.mark.parametrize("guess", ["abc", "abcdefX"])
async def test_only_the_whole_read_token_reads(
    make_client: Callable[..., httpx.AsyncClient], guess: str
) -> None:
    client = make_client(token="write-secret-0042", read_token=SECRET)
    refused = await client.get("/api/count", headers={"Authorization": f"Bearer {guess}"})
    assert refused.status_code == 401
    ok = await client.get("/api/count", headers={"Authorization": f"Bearer {SECRET}"})
    assert ok.status_code == 200 and ok.json() == {"count": 0}


async def test_a_token_in_the_url_never_writes(
    make_client: Callable[..., httpx.AsyncClient], astore: AsyncEventStore
) -> None:
    client = make_client(token=SECRET)
    right = {"Authorization": f"Bearer {SECRET}"}
    assert (await client.post("/api/events", json=EVENT, headers=right)).status_code == 200
    assert (await client.put("/api/persons/alice", json={}, headers=right)).status_code == 200
    in_url = {"access_token": SECRET}
    for method, path, body in [
        ("POST", "/api/events", {"event_id": "sneaked", "camera_id": "porch"}),
        ("PATCH", "/api/events/kept", {"retain": True}),
        ("DELETE", "/api/events/kept", None),
        ("PUT", "/api/persons/mallory", {"authorized": True}),
        ("PUT", "/api/persons/alice", {"authorized": True}),
        ("DELETE", "/api/persons/alice", None),
    ]:
        r = await client.request(method, path, params=in_url, json=body)
        assert r.status_code == 401, (method, path, r.text)
    # nothing changed: one event, not retained; alice alone and not authorized
    retain = _rows(astore, "SELECT event_id, retain FROM events")
    assert [(e, bool(r)) for e, r in retain] == [("kept", False)]
    persons = _rows(astore, "SELECT name, authorized FROM persons")
    assert [(n, bool(a)) for n, a in persons] == [("alice", False)]
    # the same token in the URL still reads
    read = await client.get("/api/events/kept", params=in_url)
    assert read.status_code == 200 and read.json()["event_id"] == "kept"
