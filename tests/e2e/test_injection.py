"""Every string a camera pipeline can set is shown as text: injected markup never runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from camvault import Event, EventStore, Person
from tests.e2e.conftest import SIZES, Server, fill, serve

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# each payload sets window.__pwned when the browser runs it as markup or script
PAYLOADS = [
    "<img src=x onerror=window.__pwned=1>",
    "<script>window.__pwned=2</script>",
    '"><svg onload=window.__pwned=3>',
    '\'><iframe srcdoc="<script>parent.__pwned=4</script>">',
    "javascript:window.__pwned=5",
    "<a href=javascript:window.__pwned=6>x</a>",
]
CAMERA = PAYLOADS[0]
LABEL = PAYLOADS[2][:64]


def hostile_events() -> list[Event]:
    """Events whose every text field is an injection payload (within each field's limits)."""
    events = []
    for i, payload in enumerate(PAYLOADS):
        events.append(
            Event(
                event_id=f"x{i}-{payload}"[:128],
                camera_id=CAMERA if i % 2 == 0 else payload[:64],
                timestamp=T0 + timedelta(minutes=i),
                detected_objects=[
                    {"label": LABEL, "confidence": 0.9},
                    {"label": "person", "confidence": 0.8},
                ],
                llm_description=f"{payload} seen at the door",
                image_path=payload,
                json_log_path=payload,
                person_name=payload[:128],
                door_action=payload[:32],
                recording_id=payload,
                metadata={payload: payload, "note": [payload]},
            )
        )
    return events


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("inject") / "events.db"
    fill(db, hostile_events(), thumbnails=False)
    with EventStore(db) as store:
        for payload in PAYLOADS:
            store.upsert_person(Person(name=payload[:128], authorized=True, notes=payload))
    with serve(db) as running:
        yield running


def assert_nothing_ran(page: Any) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert (
        page.evaluate("() => document.querySelectorAll('iframe, svg[onload], img[onerror]').length")
        == 0
    )


@SIZES
def test_the_list_shows_injected_fields_as_text(hostile: Server, page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(hostile.url)
    page.wait_for_function(
        f"() => document.querySelector('#count')?.textContent === '{len(PAYLOADS)} events'"
    )
    body = page.inner_text("body")
    assert CAMERA in body  # the camera id is shown literally
    assert "seen at the door" in body
    assert_nothing_ran(page)
    assert dialogs == []


@SIZES
def test_the_event_page_shows_every_injected_field_as_text(hostile: Server, page: Any) -> None:
    for i, event in enumerate(hostile_events()):
        page.goto(f"{hostile.url}/#/event/{quote(event.event_id, safe='')}")
        page.wait_for_selector(".fields table")
        text = page.inner_text(".fields table")
        payload = PAYLOADS[i]
        assert payload[:32] in text, (i, text)  # door action (the shortest field)
        assert event.person_name in text and event.image_path in text
        assert_nothing_ran(page)


def test_the_persons_page_shows_injected_names_as_text(hostile: Server, page: Any) -> None:
    page.goto(f"{hostile.url}/#/persons")
    page.wait_for_function(f"() => document.body.innerText.includes({PAYLOADS[1]!r})")
    text = page.inner_text("body")
    for payload in PAYLOADS:
        assert payload[:128] in text
    assert_nothing_ran(page)


def test_the_policy_stops_inline_script_even_if_markup_got_in(
    hostile: Server, browser: Any
) -> None:
    # its own tab: the policy's refusal is logged as a console error, which this test expects
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(hostile.url)
        page.wait_for_selector("#count")
        blocked = page.evaluate(
            """() => new Promise((resolve) => {
              document.addEventListener('securitypolicyviolation',
                (e) => resolve(e.violatedDirective), {once: true});
              const box = document.createElement('div');
              box.innerHTML = '<img src="/nothing.png" onerror="window.__pwned=9">';
              document.body.append(box);
            })"""
        )
        assert blocked.startswith("script-src")
        assert page.evaluate("() => window.__pwned") is None  # the Content-Security-Policy held
    finally:
        context.close()
