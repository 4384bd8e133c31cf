"""Sample data that looks like a real home's: coherent sentences, persons, drawn scenes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from PIL import ImageStat
from typer.testing import CliRunner

from camvault import DetectedObject, Event, EventStore
from camvault.cli import app
from camvault.sample import sample_events, sample_frame

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
PART_HOURS = {  # the hours (local) each word may describe
    "night": {22, 23, 0, 1, 2, 3, 4},
    "morning": set(range(5, 12)),
    "afternoon": set(range(12, 17)),
    "evening": set(range(17, 22)),
}
SINGULAR = {"walks", "rings", "looks", "stands", "crosses", "waits", "pulls", "parks", "backs",
            "drives", "sniffs", "runs", "sits", "leans", "is"}  # fmt: skip
PLURAL = {"walk", "ring", "look", "stand", "cross", "wait", "pull", "park", "back", "drive",
          "sniff", "run", "sit", "lean", "are"}  # fmt: skip


def described(tz: ZoneInfo, seed: int) -> list[Event]:
    events = sample_events(1500, seed=seed, end=END, span=timedelta(days=3), tz=tz)
    return [e for e in events if e.llm_description]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"])
def test_the_time_of_day_said_matches_the_local_hour(zone: str) -> None:
    tz = ZoneInfo(zone)
    seen = set()
    for event in described(tz, seed=len(zone)):
        hour = event.timestamp.astimezone(tz).hour
        words = set(re.findall(r"[a-z]+", event.llm_description.lower()))  # type: ignore[union-attr]
        for part, hours in PART_HOURS.items():
            if part in words:
                seen.add(part)
                assert hour in hours, (hour, event.llm_description)
        assert not ({"dusk", "dawn", "daylight"} & words) or 6 <= hour <= 20
    assert seen == set(PART_HOURS)


def test_subjects_and_verbs_agree_in_number() -> None:
    checked = 0
    for event in described(ZoneInfo("UTC"), seed=7):
        for sentence in event.llm_description.rstrip(".").split(". "):  # type: ignore[union-attr]
            words = sentence.replace(",", "").split()
            first = words[0].lower()
            if first in NUMBERS:
                assert not SINGULAR & set(words), sentence
                assert PLURAL & set(words), sentence
                checked += 1
            elif first in ("a", "an"):
                assert SINGULAR & set(words), sentence
                assert not PLURAL & set(words), sentence
    assert checked > 100


def test_counts_said_match_the_detections() -> None:
    for event in described(ZoneInfo("UTC"), seed=8):
        text = event.llm_description.lower()  # type: ignore[union-attr]
        labels = event.labels
        people = len([o for o in event.detected_objects if o.label == "person"])
        said = re.search(r"\b(two|three|four|five|six) (people|adults|visitors)\b", text)
        assert (NUMBERS[said.group(1)] if said else min(people, 1)) == people, text
        for label in ("car", "truck", "package", "dog", "cat", "bicycle"):
            count = len([o for o in event.detected_objects if o.label == label])
            plural = re.search(rf"\b(two|three|four|five|six) {label}s\b", text)
            if count >= 2:
                assert plural and NUMBERS[plural.group(1)] == count, text
            else:
                assert plural is None, text
        if not labels:
            assert text.startswith("motion with nothing identified")


def test_lock_sentences_agree_with_the_lock() -> None:
    for event in described(ZoneInfo("UTC"), seed=9):
        text = event.llm_description or ""
        if event.person_name:
            assert f"{event.person_name.capitalize()} is recognised" in text
        if event.unlock_granted is True:
            assert "the door unlocks" in text
        if event.unlock_granted is False:
            assert "door stays locked" in text and "unlocks" not in text


def test_demo_creates_the_persons_it_mentions(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner_invoke(["demo", "--db", str(db), "--events", "60", "--no-thumbnails"])
    assert result.exit_code == 0, result.output
    with EventStore(db) as store:
        persons = {p.name: p for p in store.list_persons()}
        mentioned = {e.person_name for e in store.query(limit=100).events if e.person_name}
    assert set(persons) == {"alice", "bob", "carol"}
    assert mentioned and mentioned <= set(persons)  # some events name a known face
    assert persons["alice"].authorized and persons["bob"].authorized
    assert not persons["carol"].authorized
    assert all(p.notes for p in persons.values())


def runner_invoke(args: list[str]) -> object:
    return CliRunner().invoke(app, args)


def frame_of(hour: int, objects: list[DetectedObject], camera: str = "driveway") -> Event:
    return Event(
        camera_id=camera,
        timestamp=datetime(2026, 6, 1, hour, 30, tzinfo=UTC),
        detected_objects=objects,
    )


@pytest.mark.parametrize("camera", ["front-door", "driveway", "backyard", "garage"])
def test_frames_have_a_sky_that_fades(camera: str) -> None:
    img = np.asarray(sample_frame(frame_of(13, [], camera), (640, 360)), dtype=int)
    column = img[:25, 5]  # the sky at the left edge, from the top down
    assert len({tuple(px) for px in column}) > 5  # a gradient, not one flat colour
    assert column[0].sum() < column[-1].sum()  # darker at the top, lighter to the horizon


def test_night_frames_are_darker() -> None:
    day = sample_frame(frame_of(13, []), (640, 360))
    night = sample_frame(frame_of(2, []), (640, 360))
    day_light = sum(ImageStat.Stat(day.convert("L")).mean)
    night_light = sum(ImageStat.Stat(night.convert("L")).mean)
    assert night_light < 0.6 * day_light


@pytest.mark.parametrize("label", ["person", "car", "truck", "package", "dog", "cat", "bicycle"])
def test_each_detection_is_drawn_at_its_box(label: str) -> None:
    box = (0.3, 0.45, 0.6, 0.95)
    empty = sample_frame(frame_of(13, []), (640, 360))
    drawn = sample_frame(
        frame_of(13, [DetectedObject(label=label, confidence=0.9, bbox=box)]), (640, 360)
    )
    before, after = np.asarray(empty, dtype=int), np.asarray(drawn, dtype=int)
    inside = (before != after).any(axis=2)[int(0.5 * 360) : int(0.93 * 360), 205:371]
    assert inside.mean() > 0.1  # a shape fills part of the box
    assert (before[: int(0.4 * 360)] == after[: int(0.4 * 360)]).all()  # nothing drawn above it
