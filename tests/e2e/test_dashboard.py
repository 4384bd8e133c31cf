"""The dashboard in a real headless Chromium: list, filters, race, URL state, event page."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from camvault import Event
from camvault.filters import FILTERS
from camvault.sample import sample_events
from tests.e2e.conftest import ARTIFACTS, SIZES, Server, fill, open_filters, serve


def about_packages(events: list[Event]) -> int:
    """How many events a text search for "package" finds (stemmed: "packages" too)."""
    word = re.compile(r"\bpackages?\b", re.IGNORECASE)
    return sum(bool(word.search(e.llm_description or "")) for e in events)


def test_list_renders_thumbnails_newest_first(
    server: Server, sample: list[Event], page: Any
) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.event img')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    times = page.eval_on_selector_all(".event time", "els => els.map(e => e.dateTime)")
    assert len(times) >= 24
    assert times == sorted(times, reverse=True)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(len(sample))}'"
    )
    page.wait_for_selector("#chart canvas")


def test_a_slow_link_shows_loading_until_the_app_arrives(server: Server, page: Any) -> None:
    held: list[Any] = []  # the app's module, held back as a slow link would

    def hold(route: Any) -> None:  # a function: Playwright cannot wrap a bound builtin
        held.append(route)

    page.route("**/static/app.js", hold)
    page.goto(server.url, wait_until="commit")
    for _ in range(500):
        if held:
            break
        page.wait_for_timeout(10)
    assert held, "the page never asked for its app"
    assert page.locator("#view").inner_text() == "loading…"  # not a blank page meanwhile
    held[0].continue_()
    page.wait_for_selector(".event")
    assert "loading…" not in page.locator("#view > p.empty").all_inner_texts()


def test_endless_scroll_loads_the_next_page(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    first = page.locator(".event").count()
    page.mouse.wheel(0, 20000)
    page.wait_for_function(f"() => document.querySelectorAll('.event').length > {first}")
    ids = page.eval_on_selector_all(".event", "els => els.map(e => e.dataset.eventId)")
    assert len(ids) == len(set(ids))


def test_a_filter_narrows_the_list(server: Server, sample: list[Event], page: Any) -> None:
    expected = sum(e.camera_id == "garage" for e in sample)
    assert 0 < expected < len(sample)
    page.goto(server.url)
    page.wait_for_selector(".event")
    open_filters(page)
    page.wait_for_selector("select[name=camera_id] option[value=garage]", state="attached")
    page.select_option("select[name=camera_id]", "garage")
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent.startsWith('{expected} ')"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.event .cam')].every(c => c.textContent === 'garage')"
    )
    cams = page.eval_on_selector_all(".event .cam", "els => els.map(e => e.textContent)")
    assert cams and set(cams) == {"garage"}
    assert len(cams) == min(expected, 48)


def test_text_search_finds_descriptions(server: Server, sample: list[Event], page: Any) -> None:
    expected = about_packages(sample)
    assert 0 < expected < len(sample)
    page.goto(server.url)
    page.wait_for_selector(".event")
    open_filters(page)
    page.fill("input[name=text]", "package")
    page.press("input[name=text]", "Enter")
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent.startsWith('{expected} ')"
    )
    # the count and the list come from two requests: wait for the list to show the matches too
    page.wait_for_function(
        "() => { const d = [...document.querySelectorAll('.event .desc')];"
        " return d.length > 0 && d.every(e => e.textContent.includes('ackage')); }"
    )
    descriptions = page.eval_on_selector_all(".event .desc", "els => els.map(e => e.textContent)")
    assert len(descriptions) == min(expected, 48)
    assert all("ackage" in d for d in descriptions)


def test_event_page_draws_the_detection_boxes(
    server: Server, sample: list[Event], page: Any
) -> None:
    event = next(e for e in reversed(sample) if len(e.detected_objects) >= 2)
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


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, for a test that writes."""
    db = tmp_path / "events.db"
    fill(db, list(sample_events(10, seed=13)), thumbnails=False)
    with serve(db) as running:
        yield running


def test_a_posted_event_appears_live(own_server: Server, page: Any) -> None:
    server = own_server
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


def events(n: int) -> str:
    """How the page says a number of events."""
    return f"{n:,} event" + ("" if n == 1 else "s")


def _camera_and_label(sample: list[Event]) -> tuple[str, str, int]:
    """A camera and a label that leaves out most of that camera's events."""
    cameras = sorted({e.camera_id for e in sample})

    def shown(camera: str, label: str | None) -> int:
        return sum(
            e.camera_id == camera
            and (label is None or any(o.label == label for o in e.detected_objects))
            for e in sample
        )

    pairs = [(shown(c, label), c, label) for c in cameras for label in ("car", "package", "dog")]
    n, camera, label = min(p for p in pairs if p[0] >= 3)
    assert shown(camera, None) > 2 * n
    return camera, label, n


@SIZES
def test_filter_race_shows_only_the_latest_filters(
    server: Server, sample: list[Event], page: Any
) -> None:
    camera, label, expected = _camera_and_label(sample)
    held: list[Any] = []
    page.route(
        "**/api/events?*",
        lambda route: (
            held.append(route) if "camera_id=" in route.request.url else route.continue_()
        ),
    )
    page.goto(server.url)
    page.wait_for_selector(".event")
    open_filters(page)
    page.wait_for_selector(f"select[name=label] option[value={label}]", state="attached")
    with page.expect_request(lambda r: "/api/events?" in r.url and "camera_id=" in r.url):
        page.select_option("select[name=camera_id]", camera)
    # the camera's list is still loading when the label is chosen
    with page.expect_request(lambda r: "/api/events?" in r.url and "label=" in r.url):
        page.select_option("select[name=label]", label)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
    stale, latest = held
    with contextlib.suppress(Exception):  # the page may have cancelled it already
        stale.continue_()
    latest.continue_()
    page.wait_for_function(
        "() => document.querySelector('#sentinel')?.textContent === 'that is all'"
    )
    cards = page.eval_on_selector_all(
        ".event", "els => els.map(e => [e.querySelector('.cam').textContent, e.innerText])"
    )
    assert len(cards) == expected
    assert all(cam == camera and label in text.split() for cam, text in cards)


@SIZES
def test_state_lives_in_the_url_and_a_reload_restores_it(
    server: Server, sample: list[Event], page: Any
) -> None:
    camera, label, expected = _camera_and_label(sample)
    page.goto(server.url)
    page.wait_for_selector(".event")
    open_filters(page)
    page.wait_for_selector(f"select[name=label] option[value={label}]", state="attached")
    page.select_option("select[name=camera_id]", camera)
    page.select_option("select[name=label]", label)
    page.click("[data-bucket=hour]")
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
    url = page.url
    assert f"camera_id={camera}" in url and f"label={label}" in url and "bucket=hour" in url
    page.goto("about:blank")
    page.goto(url)  # a bookmark or a shared link
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
    page.wait_for_function(
        f"() => document.querySelector('select[name=label]')?.value === '{label}'"
    )
    assert page.input_value("select[name=camera_id]") == camera
    assert page.get_attribute("[data-bucket=hour]", "aria-pressed") == "true"
    assert "per hour" in page.inner_text("#period")
    cams = page.eval_on_selector_all(".event .cam", "els => els.map(e => e.textContent)")
    assert cams == [camera] * expected


@SIZES
def test_an_invalid_search_says_why_and_greys_the_figures(
    server: Server, sample: list[Event], page: Any
) -> None:
    sent: list[str] = []
    for path in ("count", "histogram", "heatmap"):
        page.route(
            f"**/api/{path}?*", lambda route: (sent.append(route.request.url), route.continue_())
        )
    page.goto(server.url)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(len(sample))}'"
    )
    sent.clear()
    open_filters(page)
    page.fill("input[name=text]", "AND")
    page.press("input[name=text]", "Enter")
    error = page.wait_for_selector("#filter-error:not([hidden])")
    assert "text" in error.inner_text()
    page.wait_for_selector("#summary.stale")
    assert page.inner_text("#count") == "\u2013"
    assert "unavailable" in page.inner_text("#period")
    assert page.get_attribute("input[name=text]", "aria-invalid") == "true"
    assert sorted(u.split("/api/")[1].split("?")[0] for u in sent) == [
        "count",
        "heatmap",
        "histogram",
    ]
    sent.clear()
    page.fill("input[name=text]", "package")
    page.press("input[name=text]", "Enter")
    expected = about_packages(sample)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
    assert page.is_hidden("#filter-error")
    assert page.locator("#summary.stale").count() == 0
    asked = [u.split("/api/")[1].split("?")[0] for u in sent]
    assert asked.count("count") == asked.count("heatmap") == 1
    assert set(asked) == {"count", "heatmap", "histogram"}  # the chart: days, maybe then hours


def test_on_a_phone_the_filters_fold_away_and_nothing_scrolls_sideways(
    server: Server, new_page: Any
) -> None:
    page = new_page("phone")
    page.goto(server.url)
    page.wait_for_selector(".event")
    assert page.is_hidden("select[name=camera_id]")
    page.click("#filters-toggle")
    assert page.get_attribute("#filters-toggle", "aria-expanded") == "true"
    filters = page.locator("#filters").bounding_box()
    assert filters["height"] < 844, "the filters do not fit one phone screen"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"))


def test_docs_render_with_no_internet(server: Server, page: Any) -> None:
    outside: list[str] = []

    def local_only(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", local_only)
    page.goto(f"{server.url}/api/docs")
    page.wait_for_selector(".opblock-summary", timeout=15_000)
    assert page.locator(".opblock").count() >= 10
    assert outside == []


@SIZES
def test_the_form_shows_every_filter_and_keeps_them_in_the_url(
    server: Server, sample: list[Event], page: Any
) -> None:
    page.goto(server.url)
    page.wait_for_selector(".event")
    open_filters(page)
    shown = page.eval_on_selector_all(
        "#filters [name]",
        "els => els.map(e => [e.name, e.closest('label').textContent.trim(), e.title])",
    )
    assert [name for name, _, _ in shown] == [f.name for f in FILTERS]
    for (_, label, title), f in zip(shown, FILTERS, strict=True):
        assert label.startswith(f.label) and title == f.help
    expected = sum(e.door_action == "denied" and e.unlock_granted is False for e in sample)
    assert expected > 0
    page.select_option("select[name=unlock_granted]", "false")
    page.fill("input[name=door_action]", "denied")
    page.press("input[name=door_action]", "Enter")
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
    url = page.url
    assert "door_action=denied" in url and "unlock_granted=false" in url
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_function(
        "() => document.querySelector('select[name=unlock_granted]')?.value === 'false'"
    )
    assert page.input_value("input[name=door_action]") == "denied"
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{events(expected)}'"
    )
