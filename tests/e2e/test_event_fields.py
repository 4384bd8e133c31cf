"""The event page shows what live ingest records: when it ended, its zones, plate and source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from camvault import Event
from tests.e2e.conftest import SIZES, Server, fill, serve

T0 = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("fields") / "events.db"
    fill(
        db,
        [
            Event(
                event_id="car-1",
                camera_id="driveway",
                timestamp=T0,
                end_time=T0 + timedelta(seconds=42),
                zones=["street", "drive"],
                license_plate="AB12CDE",
                source="frigate",
            ),
            Event(event_id="live-1", camera_id="driveway", timestamp=T0, source="frigate"),
            Event(event_id="plain-1", camera_id="garage", timestamp=T0 - timedelta(hours=1)),
            Event(
                event_id="car-2",
                camera_id="garage",
                timestamp=T0 - timedelta(hours=2),
                zones=["drive"],
                license_plate="XY99ZZZ",
            ),
        ],
        thumbnails=False,
    )
    with serve(db) as running:
        yield running


def fields(page: Any) -> dict[str, str]:
    """The event page's field table as {heading: text}."""
    rows = page.eval_on_selector_all(
        ".fields table tr", "rows => rows.map(r => [r.cells[0].innerText, r.cells[1].innerText])"
    )
    return {k: v for k, v in rows}


@SIZES
def test_an_ended_event_shows_its_zones_plate_and_source(events: Server, page: Any) -> None:
    page.goto(f"{events.url}/#/event/car-1")
    page.wait_for_selector(".fields table")
    shown = fields(page)
    assert shown["zones"] == "street, drive"
    assert shown["licence plate"] == "AB12CDE"
    assert shown["source"] == "frigate"
    assert "ended" in shown and "in progress" not in shown["ended"]


def test_a_live_event_is_in_progress_and_a_plain_one_shows_no_end(
    events: Server, page: Any
) -> None:
    page.goto(f"{events.url}/#/event/live-1")
    page.wait_for_selector(".fields table")
    assert fields(page)["ended"] == "in progress"
    page.goto(f"{events.url}/#/event/plain-1")
    page.wait_for_function("() => /plain-1/.test(document.querySelector('.fields')?.innerText)")
    assert not {"ended", "zones", "licence plate", "source"} & fields(page).keys()


def test_a_zone_links_to_the_events_in_that_zone(events: Server, page: Any) -> None:
    page.goto(f"{events.url}/#/event/car-1")
    page.click(".fields table a:text-is('drive')")
    page.wait_for_selector('[data-event-id="car-2"]')
    listed = page.eval_on_selector_all("[data-event-id]", "els => els.map(e => e.dataset.eventId)")
    assert sorted(listed) == ["car-1", "car-2"]  # the two events stored with the zone "drive"
    assert "zone=drive" in page.url
