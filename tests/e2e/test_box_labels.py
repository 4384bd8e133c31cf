"""Every detection label on the event page stays readable inside the frame, at its box."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from camvault import DetectedObject, Event
from tests.e2e.conftest import SIZES, Server, fill, serve

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
LONG = "parcel-van-with-a-ladder-on-its-roof"
EDGES = Event(
    event_id="edges",
    camera_id="driveway",
    timestamp=T0,
    detected_objects=[
        DetectedObject(label="person", confidence=0.87, bbox=(0.78, 0.40, 1.0, 0.90)),
        DetectedObject(label="car", confidence=0.912, bbox=(0.30, 0.0, 0.55, 0.35)),
        DetectedObject(label="bicycle", confidence=0.5, bbox=(0.88, 0.0, 1.0, 0.25)),
        DetectedObject(label="dog", confidence=0.666, bbox=(0.02, 0.03, 0.20, 0.30)),
        DetectedObject(label=LONG, confidence=0.71, bbox=(0.62, 0.55, 0.98, 0.98)),
    ],
)
"""Boxes on the right edge, on the top edge, in the top-right corner, just below the top."""
EDGES_SHOWN = ["person 87%", "car 91%", "bicycle 50%", "dog 67%", f"{LONG} 71%"]
PIXELS = Event(
    event_id="pixels",
    camera_id="garage",
    timestamp=T0,
    detected_objects=[
        # in pixels of the 320x180 thumbnail: the top-right corner
        DetectedObject(label="cat", confidence=0.33, bbox=(280, 0, 320, 40)),
    ],
)
PIXELS_SHOWN = ["cat 33%"]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("labels") / "events.db"
    fill(db, [EDGES, PIXELS])  # thumbnails of 320x180
    with serve(db) as running:
        yield running


def placed(page: Any) -> dict[str, Any]:
    """The frame's, the viewport's and each box's and label's rectangle on the page."""
    return dict(
        page.evaluate(
            """() => {
              const rect = (e) => { const r = e.getBoundingClientRect();
                return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
              return {
                frame: rect(document.querySelector('.frame')),
                image: rect(document.querySelector('.frame img')),
                viewport: { left: 0, top: 0, right: innerWidth, bottom: innerHeight },
                boxes: [...document.querySelectorAll('.box')].map((b) => ({
                  text: b.querySelector('span').textContent,
                  box: rect(b),
                  label: rect(b.querySelector('span')),
                })),
              };
            }"""
        )
    )


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    slack = 0.5  # sub-pixel rounding of the layout
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


@SIZES
@pytest.mark.parametrize(("event", "shown"), [(EDGES, EDGES_SHOWN), (PIXELS, PIXELS_SHOWN)])
def test_labels_at_the_edges_stay_inside_the_frame(
    events: Server, page: Any, event: Event, shown: list[str]
) -> None:
    page.goto(f"{events.url}/#/event/{event.event_id}")
    page.wait_for_function(f"() => document.querySelectorAll('.box').length === {len(shown)}")
    seen = placed(page)
    assert [b["text"] for b in seen["boxes"]] == shown
    assert inside(seen["image"], seen["frame"])
    assert inside(seen["frame"], seen["viewport"])
    for b in seen["boxes"]:
        label, box = b["label"], b["box"]
        assert inside(label, seen["image"]), f"{b['text']!r} leaves the frame: {label} {seen}"
        # it sits at its own box: over its width, on its top edge (above, or inside at the top)
        assert label["right"] > box["left"] and label["left"] < box["right"], b
        assert label["bottom"] >= box["top"] - 2 and label["top"] <= box["top"] + 0.5, b
