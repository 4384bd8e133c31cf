"""One event in the browser: keep forever, delete, previous/next within the list's filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from camvault import Event, EventStore
from tests.e2e.conftest import SIZES, Server, fill, serve

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SLASHED = "frigate/1700000000.123-abc"


@pytest.fixture
def events(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own (tests keep and delete events)."""
    db = tmp_path / "events.db"
    fill(
        db,
        [
            Event(
                event_id=f"e{i}",
                camera_id="garage" if i % 2 else "driveway",
                timestamp=T0 + timedelta(minutes=i),
                llm_description=f"event number {i}",
            )
            for i in range(12)
        ]
        + [Event(event_id=SLASHED, camera_id="frigate-cam", timestamp=T0 - timedelta(days=1))],
        thumbnails=False,
    )
    with serve(db) as running:
        yield running


def stored(server: Server, event_id: str) -> Event | None:
    with EventStore(server.db) as store:
        return store.get_event(event_id)


def shown_id(page: Any) -> str:
    return str(
        page.eval_on_selector(".fields table", "t => t.innerText.match(/event id\\s+(\\S+)/)[1]")
    )


def wait_for_links(page: Any, *, newer: str | None, older: str) -> None:
    """Wait until the event page shows these newer/older links (the page has re-rendered)."""

    def links_to(link: str, event_id: str) -> str:
        return f"/event\\/{event_id}([?]|$)/.test(document.querySelector('{link}')?.href)"

    newer_ok = (
        "document.querySelector('#prev')?.getAttribute('aria-disabled') === 'true'"
        if newer is None
        else links_to("#prev", newer)
    )
    older_ok = links_to("#next", older)
    page.wait_for_function(f"() => {newer_ok} && {older_ok}")


@SIZES
def test_previous_and_next_stay_within_the_filters(events: Server, page: Any) -> None:
    with EventStore(events.db) as store:
        garage = [e.event_id for e in store.query(camera_id="garage", limit=100).events]
    assert garage == ["e11", "e9", "e7", "e5", "e3", "e1"]  # newest first, every other one
    page.goto(f"{events.url}/#/?camera_id=garage")
    page.click('[data-event-id="e9"]')
    wait_for_links(page, newer="e11", older="e7")  # the links of e9's page, not a stale one
    assert shown_id(page) == "e9"
    page.keyboard.press("ArrowRight")  # next = older, in the list's order
    wait_for_links(page, newer="e9", older="e5")
    assert shown_id(page) == "e7"
    page.click("#prev")
    wait_for_links(page, newer="e11", older="e7")
    page.keyboard.press("ArrowLeft")
    wait_for_links(page, newer=None, older="e9")
    assert shown_id(page) == "e11"
    assert page.get_attribute("#prev", "aria-disabled") == "true"  # nothing newer in garage
    page.click(".event-bar .back")
    page.wait_for_selector('[data-event-id="e11"]')
    assert "camera_id=garage" in page.url


@SIZES
def test_keep_forever_and_delete(events: Server, page: Any) -> None:
    target = "e4" if page.viewport_size["width"] > 500 else "e6"
    page.goto(f"{events.url}/#/event/{target}")
    page.wait_for_selector("#keep[aria-pressed=false]")
    page.click("#keep")
    page.wait_for_selector("#keep[aria-pressed=true]")
    assert stored(events, target).retain is True  # type: ignore[union-attr]
    page.click("#keep")
    page.wait_for_selector("#keep[aria-pressed=false]")
    assert stored(events, target).retain is False  # type: ignore[union-attr]
    page.wait_for_function("() => document.querySelector('#next')?.getAttribute('href')")
    dismissed: list[str] = []
    page.once("dialog", lambda d: (dismissed.append(d.message), d.dismiss()))
    page.click("#delete")
    assert dismissed and "cannot be undone" in dismissed[0]
    assert stored(events, target) is not None
    page.once("dialog", lambda d: d.accept())
    page.click("#delete")
    page.wait_for_function(f"() => !location.hash.startsWith('#/event/{target}')")
    assert stored(events, target) is None
    page.wait_for_selector(".fields")  # it moved on to the next event


def test_an_id_with_a_slash_opens_keeps_and_deletes(events: Server, page: Any) -> None:
    page.goto(f"{events.url}/#/?camera_id=frigate-cam")
    page.click(f'[data-event-id="{SLASHED}"]')
    assert f"#/event/{quote(SLASHED, safe='')}" in page.url
    page.wait_for_selector("#keep[aria-pressed=false]")
    assert shown_id(page) == SLASHED
    page.click("#keep")
    page.wait_for_selector("#keep[aria-pressed=true]")
    assert stored(events, SLASHED).retain is True  # type: ignore[union-attr]
    page.once("dialog", lambda d: d.accept())
    page.click("#delete")
    page.wait_for_selector(".event-bar", state="detached")
    assert stored(events, SLASHED) is None
