"""A server with a token: the dashboard asks for it, then lists and follows events live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from camvault.sample import sample_events
from tests.e2e.conftest import Server, fill, serve

TOKEN = "e2e-token-5f2c"


STORED = 20
"""Sample events each test's server starts with."""


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    """A server with a token, of the test's own (a test posts to it)."""
    db = tmp_path / "events.db"
    fill(db, list(sample_events(STORED, seed=4)), thumbnails=False)
    with serve(db, token=TOKEN) as running:
        yield running


def enter_token(page: Any, value: str) -> None:
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", value)
    page.press("#token-input", "Enter")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_after_the_token_events_list_and_arrive_live(
    guarded: Server, new_page: Any, size: str
) -> None:
    page = new_page(size)
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(guarded.url)
    enter_token(page, TOKEN)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{STORED} events'"
    )
    # the first page is shown (a live event prepends to it) and the stream is open
    page.wait_for_function(f"() => document.querySelectorAll('.event').length === {STORED}")
    page.wait_for_selector("#live.on")
    # the live stream rides on the session cookie: no token in any URL (logs, history)
    assert any("/api/stream" in u for u in urls)
    assert not [u for u in urls if TOKEN in u or "access_token" in u]
    event_id = f"live-token-{size}"
    posted = {"event_id": event_id, "camera_id": "front-door", "llm_description": "A fox."}
    r = httpx.post(
        f"{guarded.url}/api/events",
        json=posted,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert r.json()["inserted"] == 1
    page.wait_for_selector(f'[data-event-id="{event_id}"]')
    assert page.eval_on_selector(".grid .event", "e => e.dataset.eventId") == event_id
    assert page.is_hidden("#token-dialog")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_wrong_token_is_refused_with_a_clear_styled_message(
    guarded: Server, new_page: Any, size: str
) -> None:
    page = new_page(size)
    page.goto(guarded.url)
    enter_token(page, "not-the-token")
    error = page.wait_for_selector("#token-dialog[open] #token-error:not([hidden])")
    assert "refused" in error.inner_text()
    style = page.evaluate(
        """() => {
          const s = getComputedStyle(document.querySelector('#token-error'));
          const d = getComputedStyle(document.querySelector('#token-dialog'));
          return {color: s.color, radius: d.borderRadius, dialogColor: d.color};
        }"""
    )
    assert style["color"] == "rgb(248, 113, 113)"  # the dashboard's --bad red
    assert style["radius"] != "0px"
    box = page.locator("#token-dialog").bounding_box()
    width = {"desktop": 1280, "phone": 390}[size]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    enter_token(page, TOKEN)
    page.wait_for_selector(".event")
    page.wait_for_selector("#live.on")
    assert page.is_hidden("#token-dialog")


def test_cancelling_asks_no_more_until_the_token_button(guarded: Server, new_page: Any) -> None:
    page = new_page("desktop")
    page.goto(guarded.url)
    page.wait_for_selector("#token-dialog[open]")
    page.click("#token-cancel")
    error = page.wait_for_selector("#filter-error:not([hidden])")
    assert "token" in error.inner_text()
    assert page.is_hidden("#token-dialog")
    page.click("#token-button")
    enter_token(page, TOKEN)
    page.wait_for_selector(".event")
    page.wait_for_selector("#live.on")
    assert page.is_hidden("#token-button")
