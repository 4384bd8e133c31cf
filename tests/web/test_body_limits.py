"""The request body limit is exact: a body of the limit is read, one byte more gets 413."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import httpx
import pytest

from camvault import AsyncEventStore
from camvault.web import create_app
from tests.conftest import raw_connection
from tests.web.sse import http_scope

LIMIT = 4096


def _body(event_id: str, size: int) -> bytes:
    """A JSON event of exactly ``size`` bytes (its description pads it)."""
    shell = json.dumps({"event_id": event_id, "camera_id": "porch", "llm_description": ""})
    body = shell.replace('""', '"' + "x" * (size - len(shell)) + '"').encode()
    assert len(body) == size
    return body


def _stored(astore: AsyncEventStore) -> list[str]:
    conn = raw_connection(astore.store)
    try:
        return sorted(r[0] for r in conn.execute("SELECT event_id FROM events").fetchall())
    finally:
        conn.close()


async def _chunks(body: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """Stream a body in pieces with no Content-Length (chunked), as a client may."""
    for at in range(0, len(body), size):
        yield body[at : at + size]


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
async def test_the_limit_is_exact(
    make_client: Callable[..., httpx.AsyncClient], astore: AsyncEventStore, streamed: bool
) -> None:
    client = make_client(max_body=LIMIT)
    at_limit, over = _body("at-limit", LIMIT), _body("over-limit", LIMIT + 1)

    def content(body: bytes) -> bytes | AsyncIterator[bytes]:
        return _chunks(body) if streamed else body

    headers = {"content-type": "application/json"}
    fits = await client.post("/api/events", content=content(at_limit), headers=headers)
    assert fits.status_code == 200, fits.text
    refused = await client.post("/api/events", content=content(over), headers=headers)
    assert refused.status_code == 413, refused.text
    assert f"larger than {LIMIT} bytes" in refused.json()["detail"]
    assert _stored(astore) == ["at-limit"]


async def test_a_content_length_over_the_limit_is_refused_before_reading(
    astore: AsyncEventStore,
) -> None:
    """A client announcing one byte too many is answered at once, without its body being read."""
    app = create_app(astore, max_body=LIMIT)
    reads = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.disconnect"}  # the body never comes: only the header may decide

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    for announced in (LIMIT + 1, 10**12):
        headers = [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(announced).encode()),
        ]
        scope = http_scope("POST", "/api/events", headers=headers)
        sent.clear()
        with contextlib.suppress(Exception):  # a disconnect, had the body been read
            await asyncio.wait_for(app(scope, receive, send), timeout=30)
        assert reads == 0, f"the body was read for a Content-Length of {announced}"
        assert sent[0]["type"] == "http.response.start"
        assert sent[0]["status"] == 413
    assert _stored(astore) == []
