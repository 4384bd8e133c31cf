"""A malformed ``?text=`` search is the client's mistake: 422 naming ``text``, never a 503."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from camvault import AsyncEventStore, Event

BAD_TEXT = [
    '"unclosed',
    "van AND",
    "(van",
    "van)",
    "NEAR(van car)",
    "description:van",
    "^van",
    "*",
    "()",
]


@pytest.fixture
async def stored(astore: AsyncEventStore) -> AsyncEventStore:
    """Two described events, so that a search really runs against the index."""
    at = datetime(2026, 11, 1, 12, tzinfo=UTC)
    await astore.insert_events(
        [
            Event(event_id="v", camera_id="drive", timestamp=at, llm_description="A red van."),
            Event(event_id="c", camera_id="porch", timestamp=at, llm_description="A grey cat."),
        ]
    )
    return astore


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize("path", ["/api/histogram", "/api/events", "/api/count"])
async def test_a_bad_text_query_is_422_naming_text(
    client: httpx.AsyncClient, stored: AsyncEventStore, path: str, text: str
) -> None:
    r = await client.get(path, params={"text": text})
    assert r.status_code == 422, (path, text, r.status_code, r.text)
    assert "retry-after" not in r.headers
    detail = r.json()["detail"]
    assert [d["field"] for d in detail] == ["text"], detail
    assert "(at " in detail[0]["message"]  # says where the mistake is


async def test_a_good_text_query_counts_what_matches(
    client: httpx.AsyncClient, stored: AsyncEventStore
) -> None:
    r = await client.get("/api/histogram", params={"text": "van OR dog", "bucket": "day"})
    assert r.status_code == 200, r.text
    assert [(b["start"], b["count"]) for b in r.json()] == [("2026-11-01T00:00:00Z", 1)]
