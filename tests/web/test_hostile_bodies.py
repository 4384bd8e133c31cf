"""Bodies an adversarial probe sent: each is a 4xx naming what is wrong, or a result per item."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('[{"camera_id": "a", "metadata": ' + "[" * 10_000 + "]" * 10_000 + "}]", "depth"),
        ("[" * 10_000 + "]" * 10_000, "depth"),
        ('{"camera_id": "a", "motion_confidence": ' + "9" * 5000 + "}", "number"),
        (
            '[{"camera_id": "a", "event_id": "ok1"}, {"camera_id": "a", "event_id": "\\ud800"}]',
            "surrogate",
        ),
    ],
    ids=["metadata-nested-10000", "bare-nesting", "5000-digit-number", "lone-surrogate"],
)
async def test_unreadable_json_is_a_422_on_the_body_and_nothing_is_stored(
    make_client: Callable[..., httpx.AsyncClient], body: str, words: str
) -> None:
    client = make_client()
    for method, path in (("POST", "/api/events"), ("PATCH", "/api/events/ok1")):
        r = await client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422, (method, r.text)
        (problem,) = r.json()["detail"]
        assert problem["field"] == "body" and words in problem["message"]
    listed = await client.get("/api/events")
    assert listed.json()["events"] == []


async def test_items_that_are_not_objects_each_get_their_own_error(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client()
    r = await client.post("/api/events", json=[1, "x", None, {"camera_id": "a", "event_id": "y"}])
    assert r.status_code == 200
    answer = r.json()
    assert (answer["inserted"], answer["failed"]) == (1, 3)
    errors = [item["error"] for item in answer["results"][:3]]
    assert errors == [
        "invalid Event: event: must be a JSON object, not int",
        "invalid Event: event: must be a JSON object, not str",
        "invalid Event: event: must be a JSON object, not null",
    ]
    fine = answer["results"][3]
    assert (fine["event_id"], fine["status"]) == ("y", "inserted")
