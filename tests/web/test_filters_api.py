"""Every filter reaches the REST API: its parameter, its OpenAPI docs and GET /api/filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from camvault import AsyncEventStore
from camvault.filters import FILTERS
from tests.lock_events import lock_events

NAMES = [f.name for f in FILTERS]


async def test_openapi_describes_every_filter_on_each_filtered_endpoint(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    for path in ("/api/events", "/api/count", "/api/histogram", "/api/heatmap", "/api/stream"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        for name in NAMES:
            assert name in params, (path, name)
            assert params[name]["in"] == "query"
            assert params[name]["description"], (path, name)
    events = {p["name"]: p for p in spec["paths"]["/api/events"]["get"]["parameters"]}
    confidence = events["min_confidence"]["schema"]["anyOf"][0]
    assert confidence["minimum"] == 0 and confidence["maximum"] == 1
    assert events["label"]["schema"]["anyOf"][0]["type"] == "array"
    assert events["since"]["schema"]["anyOf"][0]["format"] == "date-time"
    assert events["unlock_granted"]["schema"]["anyOf"][0]["type"] == "boolean"


async def test_get_filters_describes_the_form(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/filters")
    assert r.status_code == 200
    found = r.json()
    assert [f["name"] for f in found] == NAMES
    by = {f["name"]: f for f in found}
    assert by["camera_id"]["choices"] == {"url": "/api/cameras", "field": "camera_id"}
    assert by["person_name"]["choices"] == {"url": "/api/persons", "field": "name"}
    assert by["label"]["choices"]["url"].startswith("/api/histogram?")
    assert by["label"]["repeats"] is True and by["person_name"]["repeats"] is False
    assert by["since"]["type"] == "time" and by["unlock_granted"]["type"] == "flag"
    assert by["min_confidence"]["minimum"] == 0 and by["min_confidence"]["maximum"] == 1
    assert all(f["label"] and f["help"] for f in found)


async def test_get_filters_needs_the_read_token(make_client: object) -> None:
    client = make_client(token="s3cret-token")  # type: ignore[operator]
    assert (await client.get("/api/filters")).status_code == 401


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"door_action": "denied"}, {"e2"}),
        ({"door_action": ["denied", "unlock"]}, {"e1", "e2"}),
        ({"unlock_granted": "true"}, {"e1"}),
        ({"unlock_granted": "false"}, {"e2"}),
        ({"min_confidence": "0.8"}, {"e1"}),
        ({"label": "car", "min_confidence": "0.5"}, {"e3"}),
        ({"person_name": "bob"}, {"e2"}),
        ({"has_thumbnail": "false"}, {"e1", "e2", "e3"}),
        ({"text": "van"}, {"e3"}),
        ({"zone": "porch"}, {"e1", "e2"}),
        ({"zone": ["door", "drive"]}, {"e1", "e3"}),
        ({"license_plate": "AB123CD"}, {"e3"}),
        ({"license_plate": "AB1*"}, {"e3"}),
        ({"license_plate": "AB123C"}, set()),
        ({"source": ["frigate", "mqtt"]}, {"e1", "e3"}),
        ({"in_progress": "true"}, {"e2", "e3"}),
        ({"in_progress": "false"}, {"e1"}),
    ],
)
async def test_every_filter_parameter_reaches_the_store(
    client: httpx.AsyncClient, astore: AsyncEventStore, params: dict[str, Any], expected: set[str]
) -> None:
    t = datetime(2026, 11, 20, 12, tzinfo=UTC)
    await astore.insert_events(lock_events(t))
    page = (await client.get("/api/events", params=params)).json()
    assert {e["event_id"] for e in page["events"]} == expected
    count = (await client.get("/api/count", params=params)).json()
    assert count == {"count": len(expected)}
