"""The live stream follows the dashboard's filters: only matching events appear as they come.

Each test sets a filter the browser cannot check by itself (full text, confidence), posts an
event that does not match and then one that does: the stream is in commit order, so once the
second is shown the first would have been too, had the stream sent it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from camvault import Event
from camvault.sample import sample_events
from tests.e2e.conftest import SIZES, Server, fill, open_filters, serve

CASES = {  # filter, value, then an event that does not match it and one that does
    "text": (
        "text",
        "heron",
        {"llm_description": "A fox crosses the lawn.", "detected_objects": []},
        {"llm_description": "A grey heron lands by the pond.", "detected_objects": []},
    ),
    "confidence": (
        "min_confidence",
        "0.9",
        {"detected_objects": [{"label": "person", "confidence": 0.6}]},
        {"detected_objects": [{"label": "person", "confidence": 0.95}]},
    ),
}
MATCHES: dict[str, Callable[[Event], bool]] = {  # each case's filter, worked out by hand
    "text": lambda e: "heron" in (e.llm_description or "").lower().split(),
    "confidence": lambda e: any(o.confidence >= 0.9 for o in e.detected_objects),
}


@pytest.fixture
def sample() -> list[Event]:
    """The events the live server starts with."""
    return list(sample_events(30, seed=5))


@pytest.fixture
def live_server(tmp_path: Path, sample: list[Event]) -> Iterator[Server]:
    """A server of the test's own: each test posts events to it."""
    db = tmp_path / "events.db"
    fill(db, sample, thumbnails=False)
    with serve(db) as running:
        yield running


def wait_for_the_list(page: Any, n: int) -> None:
    """Wait until the list shows its ``n`` cards (or says it is empty).

    A live event goes on top of the list that is shown: post only once it is.
    """
    page.wait_for_function(
        f"() => document.querySelectorAll('#grid .event').length === {n}"
        f" && ({n} > 0 || document.querySelector('#grid .empty') !== null)"
    )


def shown_count(page: Any) -> int:
    return int(page.inner_text("#count").split()[0].replace(",", ""))


@SIZES
@pytest.mark.parametrize("case", sorted(CASES))
def test_only_events_matching_the_filters_appear_live(
    live_server: Server, sample: list[Event], page: Any, case: str, request: pytest.FixtureRequest
) -> None:
    name, value, miss, hit = CASES[case]
    tag = request.node.callspec.id.replace("-", "_")
    miss_id, hit_id = f"miss_{tag}", f"hit_{tag}"
    page.goto(live_server.url)
    page.wait_for_selector("#live.on")
    open_filters(page)
    page.fill(f"input[name={name}]", value)
    page.press(f"input[name={name}]", "Enter")
    # the stream reopens for the filter
    page.wait_for_selector(f"#live.on[data-filters='{name}={value}']")
    expected = sum(MATCHES[case](e) for e in sample)
    assert expected < len(sample)
    page.wait_for_function(
        f"() => /^[0-9,]+ events?$/.test(document.querySelector('#count').textContent)"
        f" && document.querySelector('#count').textContent.startsWith('{expected} ')"
    )
    wait_for_the_list(page, expected)
    for event_id, body in ((miss_id, miss), (hit_id, hit)):
        posted = {"event_id": event_id, "camera_id": "garden", **body}
        assert httpx.post(f"{live_server.url}/api/events", json=posted).json()["inserted"] == 1
    page.wait_for_selector(f'[data-event-id="{hit_id}"]')
    assert page.locator(f'[data-event-id="{miss_id}"]').count() == 0
    assert page.eval_on_selector(".grid .event", "e => e.dataset.eventId") == hit_id
    assert shown_count(page) == expected + 1


@SIZES
def test_clearing_the_filters_follows_every_event_again(
    live_server: Server, sample: list[Event], page: Any
) -> None:
    page.goto(f"{live_server.url}/#/?text=heron")
    page.wait_for_selector("#live.on[data-filters='text=heron']")
    open_filters(page)
    page.click("#clear")
    page.wait_for_selector("#live.on[data-filters='']")
    wait_for_the_list(page, len(sample))
    event_id = f"any_{page.viewport_size['width']}"
    posted = {"event_id": event_id, "camera_id": "garden", "llm_description": "A cat naps."}
    assert httpx.post(f"{live_server.url}/api/events", json=posted).json()["inserted"] == 1
    page.wait_for_selector(f'[data-event-id="{event_id}"]')
    assert page.eval_on_selector(".grid .event", "e => e.dataset.eventId") == event_id
