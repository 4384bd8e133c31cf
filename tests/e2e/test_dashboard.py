"""The dashboard in a real headless Chromium: thumbnails, filters, boxes, live events."""

from __future__ import annotations

from typing import Any

import httpx

from camvault import EventStore
from tests.e2e.conftest import ARTIFACTS, Server


def test_list_renders_thumbnails_newest_first(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.event img')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    times = page.eval_on_selector_all(".event time", "els => els.map(e => e.dateTime)")
    assert len(times) >= 24
    assert times == sorted(times, reverse=True)
    assert "120 events" in page.inner_text("#count")
    assert page.locator("#chart svg rect").count() > 0


def test_endless_scroll_loads_the_next_page(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    first = page.locator(".event").count()
    page.mouse.wheel(0, 20000)
    page.wait_for_function(f"() => document.querySelectorAll('.event').length > {first}")
    ids = page.eval_on_selector_all(".event", "els => els.map(e => e.dataset.eventId)")
    assert len(ids) == len(set(ids))


def test_a_filter_narrows_the_list(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    page.wait_for_selector("select[name=camera_id] option[value=garage]", state="attached")
    page.select_option("select[name=camera_id]", "garage")
    with EventStore(server.db) as store:
        expected = store.count(camera_id="garage")
    page.wait_for_function(
        f"() => document.querySelector('#count').textContent.startsWith('{expected} ')"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.event .cam')].every(c => c.textContent === 'garage')"
    )
    cams = page.eval_on_selector_all(".event .cam", "els => els.map(e => e.textContent)")
    assert cams and set(cams) == {"garage"}
    assert len(cams) == min(expected, 48)


def test_text_search_finds_descriptions(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    page.fill("input[name=text]", "package")
    page.press("input[name=text]", "Enter")
    with EventStore(server.db) as store:
        expected = store.count(text="package")
    page.wait_for_function(
        f"() => document.querySelector('#count').textContent.startsWith('{expected} ')"
    )
    descriptions = page.eval_on_selector_all(".event .desc", "els => els.map(e => e.textContent)")
    assert descriptions and all("ackage" in d for d in descriptions)


def test_event_page_draws_the_detection_boxes(server: Server, page: Any) -> None:
    with EventStore(server.db) as store:
        event = next(e for e in store.query(limit=100).events if len(e.detected_objects) >= 2)
    page.goto(f"{server.url}/#/event/{event.event_id}")
    page.wait_for_selector(".frame img")
    page.wait_for_function(
        f"() => document.querySelectorAll('.box').length === {len(event.detected_objects)}"
    )
    labels = page.eval_on_selector_all(".box span", "els => els.map(e => e.textContent)")
    assert sorted(label.split()[0] for label in labels) == sorted(
        o.label for o in event.detected_objects
    )
    box = page.locator(".box").first.bounding_box()
    frame = page.locator(".frame img").bounding_box()
    x1, y1, _, _ = event.detected_objects[0].bbox  # type: ignore[misc]
    assert abs(box["x"] - (frame["x"] + x1 * frame["width"])) < 4
    assert abs(box["y"] - (frame["y"] + y1 * frame["height"])) < 4
    assert event.camera_id in page.inner_text(".fields")


def test_a_posted_event_appears_live(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    page.wait_for_selector("#live.on")
    posted = {
        "event_id": "live-e2e-1",
        "camera_id": "front-door",
        "detected_objects": [{"label": "person", "confidence": 0.97}],
        "llm_description": "A visitor waves at the camera.",
    }
    r = httpx.post(f"{server.url}/api/events", json=posted, timeout=10)
    assert r.json()["inserted"] == 1
    page.wait_for_selector('[data-event-id="live-e2e-1"]', timeout=10_000)
    assert page.eval_on_selector(".grid .event", "e => e.dataset.eventId") == "live-e2e-1"


def test_persons_page_lists_and_updates(server: Server, page: Any) -> None:
    httpx.put(f"{server.url}/api/persons/alice", json={"authorized": False, "notes": "owner"})
    page.goto(f"{server.url}/#/persons")
    page.wait_for_selector("text=alice")
    page.check('input[aria-label="alice may unlock"]')
    page.wait_for_function(
        f"() => fetch('{server.url}/api/persons/alice').then(r => r.json()).then(p => p.authorized)"
    )
    with EventStore(server.db) as store:
        assert store.get_person("alice").authorized  # type: ignore[union-attr]


def test_it_reads_well_on_a_phone(server: Server, browser: Any) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_selector(".event img")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"))
    context.close()
