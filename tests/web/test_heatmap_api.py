"""GET /api/heatmap: events by weekday and hour in a time zone, counted by hand, filters, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.web.conftest import AUTH, TOKEN

# (UTC time, camera, description) and, worked out by hand, the New York weekday (0: Monday)
# and hour: EST (UTC-5) until 2024-03-10 07:00 UTC, EDT (UTC-4) after it.
EVENTS = [
    ("2024-03-04T13:05:00Z", "driveway", "a red van stops", (0, 8)),  # Mon 08:05
    ("2024-03-04T13:40:00Z", "driveway", "a courier with a package", (0, 8)),  # Mon 08:40
    ("2024-03-05T04:30:00Z", "garage", "a fox crosses", (0, 23)),  # Mon 23:30 (UTC: Tuesday)
    ("2024-03-10T06:30:00Z", "garage", "a package on the step", (6, 1)),  # Sun 01:30 EST
    ("2024-03-10T07:30:00Z", "driveway", "a red van leaves", (6, 3)),  # Sun 03:30 EDT
]


def cells(which: list[tuple[int, int]]) -> list[list[int]]:
    out = [[0] * 24 for _ in range(7)]
    for day, hour in which:
        out[day][hour] += 1
    return out


async def post_history(client: httpx.AsyncClient) -> None:
    body = [
        {"event_id": f"h{i}", "timestamp": t, "camera_id": cam, "llm_description": text}
        for i, (t, cam, text, _) in enumerate(EVENTS)
    ]
    assert (await client.post("/api/events", json=body)).json()["inserted"] == len(EVENTS)


async def test_heatmap_counts_by_local_weekday_and_hour(client: httpx.AsyncClient) -> None:
    await post_history(client)
    r = await client.get("/api/heatmap", params={"tz": "America/New_York"})
    assert r.status_code == 200
    assert r.json() == {"tz": "America/New_York", "counts": cells([c for *_, c in EVENTS])}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"camera_id": "garage"}, [(0, 23), (6, 1)]),
        ({"camera_id": ["garage", "driveway"]}, [c for *_, c in EVENTS]),
        ({"text": "package"}, [(0, 8), (6, 1)]),
        ({"text": "red van", "since": "2024-03-06T00:00:00Z"}, [(6, 3)]),
        ({"until": "2024-03-04T13:40:00Z"}, [(0, 8)]),
        ({"has_thumbnail": True}, []),
    ],
)
async def test_heatmap_takes_the_filters(
    client: httpx.AsyncClient, params: dict[str, Any], expected: list[tuple[int, int]]
) -> None:
    await post_history(client)
    r = await client.get("/api/heatmap", params={"tz": "America/New_York", **params})
    assert r.json()["counts"] == cells(expected)


async def test_heatmap_defaults_to_utc(client: httpx.AsyncClient) -> None:
    await post_history(client)
    utc = [(0, 13), (0, 13), (1, 4), (6, 6), (6, 7)]  # the UTC weekday and hour of each
    assert (await client.get("/api/heatmap")).json() == {"tz": "UTC", "counts": cells(utc)}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tz": "Nowhere/City"}, "tz"),
        ({"min_confidence": 2}, "min_confidence"),
        ({"since": "yesterday"}, "since"),
        ({"text": "AND"}, "text"),
    ],
)
async def test_bad_heatmap_arguments_are_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    r = await client.get("/api/heatmap", params=params)
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["detail"]] == [field]


async def test_heatmap_needs_the_token_to_read(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(token=TOKEN)
    assert (await client.get("/api/heatmap")).status_code == 401
    assert (await client.get("/api/heatmap", headers=AUTH)).status_code == 200
