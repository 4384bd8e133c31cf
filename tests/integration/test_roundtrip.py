"""What goes in comes out: every field, every event, in batches, pages and edge values."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import apsw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camvault import DatabaseWriteError, DetectedObject, Event, EventStore
from camvault.backends import SQLiteOptions
from camvault.sample import sample_events

from .conftest import FIXED_END, assert_same_event, full_events, size_limit

# -- 1a: a thousand realistic events ----------------------------------------------------


def test_every_event_reads_back_field_by_field(store_url: str) -> None:
    full = full_events()
    for name, field in Event.model_fields.items():  # the hand-built events leave nothing unset
        if not field.is_required() and name != "event_id":
            default = field.get_default(call_default_factory=True)
            assert any(getattr(e, name) != default for e in full), f"{name} never set"
    events = list(sample_events(1000, seed=11, end=FIXED_END)) + full
    assert len({e.event_id for e in events}) == len(events)
    singles, batched = events[:300] + events[-3:], events[300:-3]
    with EventStore(store_url) as store:
        for ev in singles:
            assert store.insert_event(ev) is True
        sizes = itertools.cycle((1, 7, 64, 250, 2))
        rest = iter(batched)
        while chunk := list(itertools.islice(rest, next(sizes))):
            result = store.insert_events(chunk)
            assert (result.inserted, result.duplicates, result.failed) == (len(chunk), 0, 0)
    # reopened, so the events come from the file rather than from anything kept in memory
    with EventStore(store_url, create=False) as store:
        for ev in events:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.info()["events"] == len(events)


# -- 1b: any valid event ----------------------------------------------------------------

_NOT_PRINTABLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
_printable = st.characters(exclude_categories=_NOT_PRINTABLE, include_characters=" ")
_unicode = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")  # NUL: refused


def _names(max_size: int) -> st.SearchStrategy[str]:
    """Identifiers as camvault accepts them: printable, no surrounding whitespace."""
    return st.text(_printable, min_size=1, max_size=max_size).filter(
        lambda s: s.isprintable() and s == s.strip()
    )


_text = st.text(_unicode, max_size=80)
_confidence = st.floats(min_value=0.0, max_value=1.0)
_finite = st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | _finite
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59, seconds=59),
    max_value=timedelta(hours=23, minutes=59, seconds=59),
)
# the whole storable range, [1970-01-01, 2200-01-01) UTC, seen from any UTC offset
_instants = st.one_of(
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2199, 12, 31, 23, 59, 59, 999999),
    ),
    # its edges, where an off-by-one in storage or conversion would show
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(1970, 1, 2)),
    st.datetimes(
        min_value=datetime(2199, 12, 31), max_value=datetime(2199, 12, 31, 23, 59, 59, 999999)
    ),
)
_timestamps = st.builds(
    lambda instant, offset: instant.replace(tzinfo=UTC).astimezone(timezone(offset)),
    _instants,
    _offsets,
)


@st.composite
def _bboxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    xs, ys = sorted(draw(st.tuples(_finite, _finite))), sorted(draw(st.tuples(_finite, _finite)))
    return (xs[0], ys[0], xs[1], ys[1])


_detections = st.builds(
    DetectedObject,
    label=_names(64),
    confidence=_confidence,
    bbox=st.none() | _bboxes(),
)


_DRAWN = itertools.count()
"""Numbers the drawn events: unique ids without the random module (Hypothesis replays)."""


@st.composite
def valid_events(draw: st.DrawFn) -> Event:
    """Arbitrary valid events; the event id is unique per draw (a counter + drawn suffix)."""
    fields: dict[str, Any] = {
        "event_id": f"ev{next(_DRAWN):06d}:{draw(_names(64))}",
        "timestamp": draw(_timestamps),
        "camera_id": draw(_names(64)),
        "detected_objects": draw(st.lists(_detections, max_size=6)),
        "metadata": draw(st.dictionaries(_text, _json, max_size=5)),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "motion_confidence": _confidence,
        "llm_description": st.text(_unicode, max_size=300),
        "image_path": _text,
        "json_log_path": _text,
        "thumbnail_path": _text,
        "person_name": _names(128),
        "face_confidence": _confidence,
        "face_distance": st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
        "unlock_granted": st.booleans(),
        "door_action": _names(32),
        "recording_id": _text,
        "retain": st.booleans(),
        "zones": st.lists(_names(64), max_size=5),
        "license_plate": _names(32),
        "source": _names(32),
    }
    for name, strategy in optional.items():
        value = draw(st.none() | strategy)
        if value is not None:
            fields[name] = value
    lasted = draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)))
    if lasted is not None and fields["timestamp"] + lasted < datetime(2200, 1, 1, tzinfo=UTC):
        fields["end_time"] = fields["timestamp"] + lasted
    return Event(**fields)


def _camera_event_ids(store: EventStore, camera_id: str) -> Iterator[str]:
    cursor = None
    while True:
        page = store.query(camera_id=camera_id, limit=1000, cursor=cursor)
        yield from (e.event_id for e in page.events)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# psycopg's pool opens connections on a thread of its own with a random lifetime jitter; when
# that happens during a draw, Hypothesis takes it for the strategy using `random`
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_any_valid_event_round_trips(store_url: str) -> None:
    with EventStore(store_url) as store:

        @settings(max_examples=200, deadline=None, derandomize=True)
        @given(ev=valid_events())
        def round_trip(ev: Event) -> None:
            assert store.insert_event(ev) is True
            got = store.get_event(ev.event_id)
            assert got == ev
            assert_same_event(got, ev)
            found = list(_camera_event_ids(store, ev.camera_id))
            assert found.count(ev.event_id) == 1, f"query(camera_id={ev.camera_id!r}) missed it"

        round_trip()


# -- 1c: a batch is all or nothing --------------------------------------------------------


def test_batch_that_fills_the_database_leaves_nothing_of_itself(db_path: Path) -> None:
    store = EventStore(db_path, options=SQLiteOptions(pragmas=size_limit(40)))
    try:
        before = list(sample_events(20, seed=3, end=FIXED_END))
        assert store.insert_events(before).inserted == 20
        batch = [
            ev.model_copy(update={"camera_id": "batch-only-camera", "llm_description": "x" * 2000})
            for ev in sample_events(400, seed=4, end=FIXED_END)
        ]
        consumed = 0

        def feed() -> Iterator[Event]:
            nonlocal consumed
            for ev in batch:
                consumed += 1
                yield ev

        with pytest.raises(DatabaseWriteError) as caught:
            store.insert_events(feed())
        assert isinstance(caught.value.__cause__, apsw.FullError)
        assert "size limit" in str(caught.value)
        assert 1 < consumed < len(batch), "the batch should fail part-way through"

        for ev in batch:
            assert store.get_event(ev.event_id) is None, f"{ev.event_id} of the failed batch"
        assert store.query(camera_id="batch-only-camera").events == []
        assert "batch-only-camera" not in {c.camera_id for c in store.list_cameras()}
        assert store.info()["events"] == len(before)
        for ev in before:
            assert_same_event(store.get_event(ev.event_id), ev)

        # the failed batch took no space: a batch that fits goes in whole
        after = list(sample_events(30, seed=5, end=FIXED_END))
        assert store.insert_events(after).inserted == 30
        for ev in before + after:
            assert_same_event(store.get_event(ev.event_id), ev)
    finally:
        store.close()


# -- 1d: keyset paging while events arrive ------------------------------------------------


def test_cursor_paging_is_exact_while_events_arrive(store_url: str) -> None:
    t0 = FIXED_END - timedelta(days=1)
    cam = "pager"

    def event(tag: str, ts: datetime, camera: str = cam) -> Event:
        return Event(event_id=f"{tag}", camera_id=camera, timestamp=ts, motion_confidence=0.5)

    # groups of three share a timestamp, so page boundaries fall inside ties
    existing = [event(f"e-{i:03d}", t0 + timedelta(seconds=i // 3)) for i in range(250)]
    others = [event(f"o-{i:03d}", t0 + timedelta(seconds=i), "elsewhere") for i in range(50)]
    lo, hi = existing[0].timestamp, existing[-1].timestamp
    with EventStore(store_url) as store:
        for ev in existing[::2]:
            store.insert_event(ev)
        store.insert_events(existing[1::2] + others)

        seen: list[Event] = []
        newer: list[str] = []
        cursor, n = None, 0
        while True:
            page = store.query(camera_id=cam, limit=40, cursor=cursor)
            assert len(page) <= 40
            seen.extend(page.events)
            n += 1
            # between pages: newer, older, and a tie with the page's last event
            newer.append(f"new-{n}")
            store.insert_event(event(f"new-{n}", hi + timedelta(minutes=n)))
            store.insert_event(event(f"old-{n}", lo - timedelta(minutes=n)))
            if page.events:
                store.insert_event(event(f"tie-{n}", page.events[-1].timestamp))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
            assert n < 100, "paging does not end"

    ids = [e.event_id for e in seen]
    duplicates = [i for i, c in Counter(ids).items() if c > 1]
    assert not duplicates, f"returned more than once: {duplicates}"
    missing = {e.event_id for e in existing} - set(ids)
    assert not missing, f"never returned: {sorted(missing)}"
    assert not set(newer) & set(ids), "events newer than the first page leaked into later pages"
    assert all(e.camera_id == cam for e in seen)
    stamps = [e.timestamp for e in seen]
    assert stamps == sorted(stamps, reverse=True), "pages are not newest first"
    by_id = {e.event_id: e for e in existing}
    for ev in seen:
        if ev.event_id in by_id:
            assert_same_event(ev, by_id[ev.event_id])
