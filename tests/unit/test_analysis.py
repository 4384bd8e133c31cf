"""query(), count() and histogram() against a pure-Python oracle over the same events."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camvault import Bucket, DetectedObject, Event, EventStore, InvalidQueryError
from tests.conftest import ENGINE_URLS, raw_connection, settle
from tests.sqlite_file import connect, pending_texts, used_bytes

START = datetime(2026, 9, 28, tzinfo=UTC)  # spans Lord Howe's DST start and Berlin's DST end
SPAN = timedelta(days=32)
CAMERAS = ("front-door", "driveway", "porch-lock")
LABELS = ("person", "car", "dog", "package", "bicycle")
PERSONS = ("alice", "bob")
DOORS = ("unlock", "denied", "lock")
WORDS = ("red", "blue", "van", "dog", "cat", "gate", "door", "box", "man", "tree")
ZONES = ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe")
AREAS = ("drive", "porch", "garden", "street")
PLATES = ("AB123CD", "AB129XY", "AC555", "ZZ1")
SOURCES = ("frigate", "mqtt", "api")


def build_events(n: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    stamps = sorted(rng.sample(range(int(SPAN.total_seconds() * 1000)), n))
    events = []
    for i, ms in enumerate(stamps):
        objects = [
            DetectedObject(label=rng.choice(LABELS), confidence=round(rng.random(), 2))
            for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))
        ]
        words = rng.sample(WORDS, rng.randint(0, 4))
        events.append(
            Event(
                event_id=f"ev-{seed}-{i:05d}",
                timestamp=START + timedelta(milliseconds=ms, microseconds=rng.randrange(1000)),
                camera_id=rng.choice(CAMERAS),
                detected_objects=objects,
                llm_description=" ".join(words) if words else None,
                person_name=rng.choice((None, None, *PERSONS)),
                door_action=rng.choice((None, None, *DOORS)),
                unlock_granted=rng.choice((None, True, False)),
                thumbnail_path=f"/elsewhere/{i}.jpg" if rng.random() < 0.3 else None,
                retain=rng.random() < 0.1,
                **evolving_fields(rng, START + timedelta(milliseconds=ms + 1)),
            )
        )
    return events


def evolving_fields(rng: random.Random, start: datetime) -> dict[str, Any]:
    """Random end_time (or in progress), zones, plate and source for an event from ``start``."""
    return {
        "end_time": rng.choice((None, start + timedelta(seconds=rng.randint(0, 600)))),
        "zones": rng.sample(AREAS, rng.choice((0, 1, 1, 2, 3))),
        "license_plate": rng.choice((None, None, *PLATES)),
        "source": rng.choice((None, *SOURCES)),
    }


# -- events that evolve: random upserts and updates, applied to a model in plain Python --


def oracle_upsert(state: dict[str, Event], ev: Event) -> str:
    """The upsert rules on a dict: every field of ``ev``; a None thumbnail keeps the stored
    one and retain stays True once True. Returns the status upsert_event must return."""
    old = state.get(ev.event_id)
    if old is None:
        state[ev.event_id] = ev
        return "inserted"
    thumbnail = old.thumbnail_path if ev.thumbnail_path is None else ev.thumbnail_path
    new = ev.model_copy(update={"thumbnail_path": thumbnail, "retain": ev.retain or old.retain})
    if new == old:
        return "unchanged"
    state[ev.event_id] = new
    return "updated"


def evolutions(events: list[Event], seed: int, n: int) -> list[tuple[str, Any, Any]]:
    """Return ``n`` random operations on ``events``: ("upsert", event, status) or
    ("update", (event_id, changes), None); timestamps stay distinct (pages have no ties)."""
    rng = random.Random(seed)
    state = {e.event_id: e for e in events}
    taken = {e.timestamp for e in events}

    def fresh_time() -> datetime:
        while True:
            ts = START + timedelta(microseconds=rng.randrange(int(SPAN.total_seconds() * 1e6)))
            if ts not in taken:
                taken.add(ts)
                return ts

    ops: list[tuple[str, Any, Any]] = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.1:  # a new event
            ev = build_events(1, seed=seed * 1000 + i)[0]
            ev = ev.model_copy(update={"event_id": f"new-{seed}-{i}", "timestamp": fresh_time()})
            ev = Event.model_validate({**ev.model_dump(), "end_time": None})
        elif kind < 0.2:  # the stored event again, unchanged (a thumbnail of None keeps it)
            old = state[rng.choice(sorted(state))]
            ev = old.model_copy(update={"thumbnail_path": None, "retain": False})
        elif kind < 0.75:  # a new version
            old = state[rng.choice(sorted(state))]
            values = old.model_dump()
            if rng.random() < 0.4:
                values["timestamp"] = fresh_time()
            values.update(evolving_fields(rng, values["timestamp"]))
            if rng.random() < 0.4:
                values["camera_id"] = rng.choice(CAMERAS)
            if rng.random() < 0.5:
                values["detected_objects"] = [
                    {"label": rng.choice(LABELS), "confidence": round(rng.random(), 2)}
                    for _ in range(rng.choice((0, 1, 2, 4)))
                ]
            if rng.random() < 0.4:
                words = rng.sample(WORDS, rng.randint(0, 3))
                values["llm_description"] = " ".join(words) if words else None
            if rng.random() < 0.3:
                values["person_name"] = rng.choice((None, *PERSONS))
            values["thumbnail_path"] = rng.choice((None, values["thumbnail_path"], f"/t/{i}.jpg"))
            values["retain"] = rng.random() < 0.1
            ev = Event.model_validate(values)
        else:  # update_event with a few fields
            old = state[rng.choice(sorted(state))]
            changes: dict[str, Any] = {}
            if rng.random() < 0.5:
                changes["timestamp"] = fresh_time()
                changes["end_time"] = None
            if rng.random() < 0.5:
                changes["camera_id"] = rng.choice(CAMERAS)
            if rng.random() < 0.5:
                changes["detected_objects"] = [
                    DetectedObject(label=rng.choice(LABELS), confidence=0.5)
                ] * rng.randint(0, 2)
            if rng.random() < 0.5:
                changes["llm_description"] = rng.choice((None, "red gate", "blue van dog"))
            if rng.random() < 0.5 or not changes:
                changes["zones"] = rng.sample(AREAS, rng.randint(0, 2))
                changes["retain"] = rng.random() < 0.2
            state[old.event_id] = Event.model_validate({**old.model_dump(), **changes})
            ops.append(("update", (old.event_id, changes), None))
            continue
        ops.append(("upsert", ev, oracle_upsert(state, ev)))
    return ops


def evolve(store: EventStore, ops: list[tuple[str, Any, Any]]) -> None:
    """Apply the operations to a store, checking each upsert's status."""
    for kind, subject, status in ops:
        if kind == "upsert":
            assert store.upsert_event(subject) == status, subject.event_id
        else:
            event_id, changes = subject
            assert store.update_event(event_id, **changes) is not None


def evolved(events: list[Event], ops: list[tuple[str, Any, Any]]) -> list[Event]:
    """The events once the operations are applied, computed without a store."""
    state = {e.event_id: e for e in events}
    for kind, subject, _ in ops:
        if kind == "upsert":
            oracle_upsert(state, subject)
        else:
            event_id, changes = subject
            state[event_id] = Event.model_validate({**state[event_id].model_dump(), **changes})
    return list(state.values())


STARTING = build_events(700, seed=11)
OPERATIONS = evolutions(STARTING, seed=12, n=400)
EVENTS = sorted(evolved(STARTING, OPERATIONS), key=lambda e: e.timestamp)


@pytest.fixture(scope="module")
def loaded(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    store = EventStore(ENGINE_URLS[engine](tmp_path_factory.mktemp("analysis")))
    half = len(STARTING) // 2
    store.insert_events(STARTING[:half])
    for ev in STARTING[half:]:
        store.insert_event(ev)
    evolve(store, OPERATIONS)
    yield store
    store.close()


# -- the oracle ---------------------------------------------------------------------------


def text_matches(query: str | None, description: str | None) -> bool:
    if query is None:
        return True
    words = set((description or "").split())
    if " OR " in query:
        return any(text_matches(part, description) for part in query.split(" OR "))
    return all(
        any(w.startswith(t[:-1]) for w in words) if t.endswith("*") else t in words
        for t in query.split()
    )


def matches(ev: Event, f: dict[str, Any], *, labels: bool = True) -> bool:
    cams = f.get("camera_id")
    if cams is not None and ev.camera_id not in ([cams] if isinstance(cams, str) else cams):
        return False
    if f.get("since") is not None and ev.timestamp < f["since"]:
        return False
    if f.get("until") is not None and ev.timestamp >= f["until"]:
        return False
    for field in ("person_name", "unlock_granted"):
        if f.get(field) is not None and getattr(ev, field) != f[field]:
            return False
    if f.get("door_action") is not None and ev.door_action not in f["door_action"]:
        return False
    if f.get("has_thumbnail") is not None and (ev.thumbnail_path is not None) != f["has_thumbnail"]:
        return False
    if f.get("zone") is not None and not set(f["zone"]) & set(ev.zones):
        return False
    plate = f.get("license_plate")
    if plate is not None and not (
        ev.license_plate is not None
        and (
            ev.license_plate.startswith(plate[:-1])
            if plate.endswith("*")
            else ev.license_plate == plate
        )
    ):
        return False
    if f.get("source") is not None and ev.source not in f["source"]:
        return False
    if f.get("in_progress") is not None and (ev.end_time is None) != f["in_progress"]:
        return False
    if not text_matches(f.get("text"), ev.llm_description):
        return False
    if labels and (f.get("label") is not None or f.get("min_confidence") is not None):
        return bool(hit_labels(ev, f))
    return True


def hit_labels(ev: Event, f: dict[str, Any]) -> set[str]:
    wanted, floor = f.get("label"), f.get("min_confidence")
    return {
        d.label
        for d in ev.detected_objects
        if (wanted is None or d.label in wanted) and (floor is None or d.confidence >= floor)
    }


def oracle_histogram(
    f: dict[str, Any], bucket: str, by: str | None, tz: str
) -> list[tuple[datetime, str | None, int]]:
    zone = ZoneInfo(tz)
    cells: Counter[tuple[datetime, str | None]] = Counter()
    for ev in EVENTS:
        if not matches(ev, f, labels=by != "label"):
            continue
        if bucket == "hour":
            start = ev.timestamp.replace(minute=0, second=0, microsecond=0)
        else:
            start = datetime.combine(ev.timestamp.astimezone(zone).date(), time(0), zone)
        if by == "label":
            keys: list[str | None] = sorted(hit_labels(ev, f))
        elif by == "camera_id":
            keys = [ev.camera_id]
        elif by == "person_name":
            keys = [ev.person_name] if ev.person_name else []
        else:
            keys = [None]
        for key in keys:
            cells[start, key] += 1
    return sorted(
        ((s, k, n) for (s, k), n in cells.items()), key=lambda c: (c[0].timestamp(), c[1] or "")
    )


# -- random filters -----------------------------------------------------------------------

instants = st.integers(0, int(SPAN.total_seconds() * 1e6)).map(
    lambda us: START + timedelta(microseconds=us)
)
hours = st.integers(0, int(SPAN.total_seconds() // 3600)).map(lambda h: START + timedelta(hours=h))
texts = st.one_of(
    st.sampled_from(WORDS),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(" ".join),
    st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(" OR ".join),
    st.sampled_from(("ga*", "d*", "bo*")),
)


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if draw(st.booleans()):
        f["camera_id"] = draw(
            st.one_of(st.sampled_from(CAMERAS), st.lists(st.sampled_from(CAMERAS), min_size=1))
        )
    if draw(st.booleans()):
        f["label"] = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        f["min_confidence"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        lo, hi = sorted(draw(st.lists(st.one_of(instants, hours), min_size=2, max_size=2)))
        f["since"], f["until"] = (lo, hi) if draw(st.booleans()) else (lo, None)
    if draw(st.integers(0, 3)) == 0:
        f["person_name"] = draw(st.sampled_from(PERSONS))
    if draw(st.integers(0, 4)) == 0:
        f["door_action"] = draw(st.lists(st.sampled_from(DOORS), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        f["unlock_granted"] = draw(st.booleans())
    if draw(st.integers(0, 4)) == 0:
        f["has_thumbnail"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        f["zone"] = draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        f["license_plate"] = draw(st.sampled_from((*PLATES, "AB12*", "A*", "AB123C", "Z*")))
    if draw(st.integers(0, 4)) == 0:
        f["source"] = draw(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        f["in_progress"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        f["text"] = draw(texts)
    return f


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(f=filters(), limit=st.integers(1, 60), order=st.sampled_from(("newest", "oldest")))
def test_query_pages_equal_the_oracle(
    loaded: EventStore, f: dict[str, Any], limit: int, order: str
) -> None:
    expected = sorted(
        (e for e in EVENTS if matches(e, f)),
        key=lambda e: e.timestamp,
        reverse=order == "newest",
    )
    got: list[Event] = []
    cursor = None
    for _ in range(len(EVENTS) // limit + 2):
        page = loaded.query(limit=limit, cursor=cursor, order=order, **f)  # type: ignore[arg-type]
        got += page.events
        if (cursor := page.next_cursor) is None:
            break
    assert [e.event_id for e in got] == [e.event_id for e in expected]
    assert got == expected


@SETTINGS
@given(f=filters(), few=st.sampled_from((0, 10, 10_000)))
def test_zone_pages_equal_the_oracle_whether_zones_are_walked_or_listed(
    loaded: EventStore, f: dict[str, Any], few: int
) -> None:
    """SQLite walks events for a common zone and lists a rare zone's events first."""
    f = {**f, "zone": f.get("zone", ["garden"])}
    expected = [e.event_id for e in sorted(EVENTS, key=lambda e: e.timestamp) if matches(e, f)]
    with mock.patch("camvault.backends.sqlite._FEW_IN_ZONES", few):
        got = [e.event_id for e in loaded.query(limit=1000, order="oldest", **f)]
    assert got == expected


@SETTINGS
@given(f=filters())
def test_count_equals_the_oracle(loaded: EventStore, f: dict[str, Any]) -> None:
    assert loaded.count(**f) == sum(matches(e, f) for e in EVENTS)


@SETTINGS
@given(
    f=filters(),
    bucket=st.sampled_from(("hour", "day")),
    by=st.sampled_from((None, "label", "camera_id", "person_name")),
    tz=st.sampled_from(ZONES),
)
def test_histogram_equals_the_oracle(
    loaded: EventStore, f: dict[str, Any], bucket: str, by: str | None, tz: str
) -> None:
    buckets = loaded.histogram(bucket, by=by, tz=tz, **f)
    # compare instants: Python never equates an ambiguous wall time with another zone's
    got = [(b.start.timestamp(), b.key, b.count) for b in buckets]
    assert got == [(s.timestamp(), k, n) for s, k, n in oracle_histogram(f, bucket, by, tz)]
    assert all(b.start.utcoffset() == b.start.astimezone(ZoneInfo(tz)).utcoffset() for b in buckets)


def test_day_buckets_follow_local_midnight_through_dst(loaded: EventStore) -> None:
    days = loaded.histogram("day", tz="Europe/Berlin")
    starts = [b.start for b in days]
    assert all(s.hour == 0 and s.minute == 0 for s in starts)
    change = [s for s in starts if s.date() == datetime(2026, 10, 26).date()]
    assert change and change[0].utcoffset() == timedelta(hours=1)  # CET after the change
    assert sum(b.count for b in days) == len(EVENTS)


def test_histogram_arguments_are_checked(loaded: EventStore) -> None:
    for kwargs, field in (
        ({"bucket": "week"}, "bucket"),
        ({"by": "colour"}, "by"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": 5}, "tz"),
    ):
        with pytest.raises(InvalidQueryError) as exc:
            loaded.histogram(**kwargs)  # type: ignore[arg-type]
        assert exc.value.fields == [field]


def test_empty_store_has_an_empty_histogram(fresh_store: EventStore) -> None:
    assert fresh_store.histogram("day", by="label") == []
    with pytest.raises(InvalidQueryError):
        fresh_store.histogram("fortnight")


@pytest.mark.parametrize(
    "text",
    ['"unclosed phrase', "door AND", "(red", "front-door", "NOT", "col:red", "*"],
)
def test_malformed_text_is_a_clear_error(loaded: EventStore, text: str) -> None:
    for call in (lambda: loaded.query(text=text), lambda: loaded.count(text=text)):
        with pytest.raises(InvalidQueryError) as exc:
            call()
        assert exc.value.fields == ["text"]
        assert "full-text" in str(exc.value)


def test_quoted_phrase_with_punctuation_works(fresh_store: EventStore) -> None:
    fresh_store.insert_event(Event(camera_id="c", llm_description="A man in a t-shirt waves"))
    assert fresh_store.count(text='"t-shirt"') == 1
    assert fresh_store.count(text="shirt NOT dog") == 1


# -- rollups stay exact through purge and delete -----------------------------------------


def recomputed_rollups(store: EventStore) -> list[tuple[Any, ...]]:
    h = 3_600_000_000
    sql = f"""
        SELECT 'event', ts - ts % {h}, camera_id, '', count(*) FROM events GROUP BY 2, 3
        UNION ALL
        SELECT 'label', e.ts - e.ts % {h}, e.camera_id, d.label, count(DISTINCT e.id)
        FROM events e JOIN detections d ON d.event_rowid = e.id AND d.ts = e.ts
        GROUP BY 2, 3, 4
        UNION ALL
        SELECT 'person', ts - ts % {h}, camera_id, person_name, count(*)
        FROM events WHERE person_name IS NOT NULL GROUP BY 2, 3, 4
    """
    with contextlib.closing(raw_connection(store)) as conn:
        return sorted(tuple(row) for row in conn.execute(sql).fetchall())


def stored_rollups(store: EventStore) -> list[tuple[Any, ...]]:
    settle(store)  # a batch of fewer than 1024 events leaves its counts to the background
    sql = "SELECT dim, hour, camera_id, key, n FROM rollup_hourly"
    with contextlib.closing(raw_connection(store)) as conn:
        return sorted(tuple(row) for row in conn.execute(sql).fetchall())


def test_rollups_stay_exact_through_inserts_duplicates_purges_and_deletes(store_url: str) -> None:
    now = datetime.now(UTC)
    events = build_events(400, seed=3)
    shift = now - (START + SPAN)  # make the data end now, so ages mean something
    events = [e.model_copy(update={"timestamp": e.timestamp + shift}) for e in events]
    with EventStore(store_url) as store:
        store.insert_events(events[:300])
        store.insert_events(events[250:])  # 50 duplicates
        assert stored_rollups(store) == recomputed_rollups(store)
        retained = sum(e.retain for e in events if e.timestamp < now - timedelta(days=20))
        removed = store.purge(timedelta(days=20), label=["car", "dog"])
        assert removed > 0
        assert stored_rollups(store) == recomputed_rollups(store)
        removed += store.purge(timedelta(days=20))
        old = [e for e in events if e.timestamp < now - timedelta(days=20)]
        assert removed == len(old) - retained
        assert stored_rollups(store) == recomputed_rollups(store)
        assert store.delete_event(events[-1].event_id) is True
        assert store.delete_event(events[-1].event_id) is False
        assert stored_rollups(store) == recomputed_rollups(store)
        remaining = [e for e in events[:-1] if e.retain or e.timestamp >= now - timedelta(days=20)]
        assert store.count() == len(remaining)


def test_counts_detections_zones_and_cameras_stay_exact_through_upserts_and_updates(
    loaded: EventStore, request: pytest.FixtureRequest
) -> None:
    """After the random upserts and updates, plain SQL finds exactly the oracle's events."""
    conn = raw_connection(loaded)
    request.addfinalizer(conn.close)
    assert stored_rollups(loaded) == recomputed_rollups(loaded)
    rows = conn.execute("SELECT event_id, count(*) FROM events GROUP BY event_id").fetchall()
    assert sorted(tuple(r) for r in rows) == sorted((e.event_id, 1) for e in EVENTS)
    detections = conn.execute(
        "SELECT e.event_id, d.idx, d.label, d.confidence, d.ts = e.ts FROM detections d "
        "JOIN events e ON e.id = d.event_rowid AND e.ts = d.ts"
    ).fetchall()
    assert conn.execute("SELECT count(*) FROM detections").fetchall()[0][0] == len(detections)
    assert sorted(tuple(r) for r in detections) == sorted(
        (e.event_id, i, d.label, d.confidence, True)
        for e in EVENTS
        for i, d in enumerate(e.detected_objects)
    )
    expected_zones = sorted((e.event_id, z) for e in EVENTS for z in e.zones)
    if loaded.info()["engine"] == "sqlite":
        zones = conn.execute(
            "SELECT e.event_id, z.zone FROM event_zones z JOIN events e "
            "ON e.id = z.event_rowid AND e.ts = z.ts"
        ).fetchall()
        assert conn.execute("SELECT count(*) FROM event_zones").fetchall()[0][0] == len(zones)
    else:
        zones = conn.execute("SELECT event_id, unnest(zones) FROM events").fetchall()
    assert sorted(tuple(r) for r in zones) == expected_zones
    cameras = {c.camera_id for c in loaded.list_cameras()}
    assert {e.camera_id for e in EVENTS} <= cameras <= set(CAMERAS)


def test_purge_by_label_keeps_events_that_show_anything_else(fresh_store: EventStore) -> None:
    old = datetime.now(UTC) - timedelta(days=10)
    only_cars = Event(
        camera_id="c", timestamp=old, detected_objects=[{"label": "car", "confidence": 0.9}]
    )
    car_and_person = Event(
        camera_id="c",
        timestamp=old,
        detected_objects=[
            {"label": "car", "confidence": 0.9},
            {"label": "person", "confidence": 0.8},
        ],
    )
    nothing = Event(camera_id="c", timestamp=old)
    fresh_store.insert_events([only_cars, car_and_person, nothing])
    assert fresh_store.purge(timedelta(days=7), label="car") == 1
    assert fresh_store.get_event(only_cars.event_id) is None
    assert fresh_store.get_event(car_and_person.event_id) is not None
    assert fresh_store.get_event(nothing.event_id) is not None


def test_retained_events_survive_every_purge(fresh_store: EventStore) -> None:
    old = datetime.now(UTC) - timedelta(days=100)
    keep = Event(camera_id="c", timestamp=old, retain=True)
    fresh_store.insert_events([keep, Event(camera_id="c", timestamp=old)])
    assert fresh_store.purge(timedelta(days=1)) == 1
    assert fresh_store.purge(max_bytes=0) == 0
    assert fresh_store.get_event(keep.event_id) == keep


def test_size_cap_removes_the_oldest_first(db_path: Path) -> None:
    """SQLite: the file's used pages end up under the cap (PostgreSQL: test_postgresql)."""
    fresh_store = EventStore(db_path)
    now = datetime.now(UTC)
    events = build_events(1500, seed=4)
    shift = now - (START + SPAN)
    events = [
        e.model_copy(update={"timestamp": e.timestamp + shift, "retain": False}) for e in events
    ]
    fresh_store.insert_events(events)
    path = Path(fresh_store.info()["path"])
    before = used_bytes(path)
    cap = before // 2
    result = fresh_store.purge(max_bytes=cap)
    assert result.events > 0
    assert used_bytes(path) <= cap
    fresh_store.close()
    conn = apsw.Connection(str(path))  # plain SQL on the closed file
    left = {row[0] for row in conn.execute("SELECT event_id FROM events").fetchall()}
    conn.close()
    by_age = sorted(events, key=lambda e: e.timestamp)
    assert 0 < len(left) < len(events)
    assert len(left) == len(events) - result.events
    assert left == {e.event_id for e in by_age[-len(left) :]}  # exactly the newest ones


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "older_than"),
        ({"older_than": timedelta(0)}, "older_than"),
        ({"camera_id": "c"}, "older_than"),
        ({"older_than": timedelta(days=1), "label": [""]}, "label"),
        ({"max_bytes": -5}, "max_bytes"),
        ({"max_bytes": True}, "max_bytes"),
    ],
)
def test_purge_arguments(fresh_store: EventStore, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidQueryError) as exc:
        fresh_store.purge(**kwargs)
    assert field in exc.value.fields


def test_buckets_are_sorted_by_start_then_key(loaded: EventStore) -> None:
    buckets = loaded.histogram("day", by="label", tz="Asia/Kolkata")
    assert buckets == sorted(buckets, key=lambda b: (b.start.timestamp(), b.key or ""))
    assert all(isinstance(b, Bucket) and b.count > 0 for b in buckets)


def test_text_query_sees_an_event_inserted_a_moment_ago(fresh_store: EventStore) -> None:
    first = Event(camera_id="c", llm_description="a heron lands on the fence")
    fresh_store.insert_event(first)  # a single insert leaves its text pending
    assert [e.event_id for e in fresh_store.query(text="heron").events] == [first.event_id]
    second = Event(camera_id="c", llm_description="the heron leaves")
    fresh_store.insert_event(second)
    assert fresh_store.delete_event(second.event_id)  # deleting a pending row is fine
    assert fresh_store.count(text="heron") == 1
    assert fresh_store.delete_event(first.event_id)  # and so is deleting an indexed one
    assert fresh_store.count(text="heron") == 0
    if fresh_store.info()["engine"] == "sqlite":  # FTS5's own consistency check
        conn = connect(fresh_store)
        check = "INSERT INTO events_text(events_text) VALUES('integrity-check')"
        assert conn.execute(check) is not None


def test_far_away_bounds_only_walk_the_data_range(loaded: EventStore) -> None:
    from camvault.histogram import make_spec
    from camvault.query import build_query
    from camvault.rows import to_micros

    # the whole storable range: 230 years of daylight-saving changes
    far = {"since": datetime(1970, 1, 1, tzinfo=UTC), "until": datetime(2199, 12, 31, tzinfo=UTC)}
    data = (to_micros(EVENTS[0].timestamp), to_micros(EVENTS[-1].timestamp))
    spec = make_spec(build_query(**far), "day", None, "Europe/Berlin", data)
    assert len(spec.periods) == 2  # one DST change inside the data, not 230 years of them
    assert spec.periods[0][0] == data[0]
    buckets = loaded.histogram("day", tz="Europe/Berlin", **far)
    assert sum(b.count for b in buckets) == len(EVENTS)


def test_pending_descriptions_are_indexed_in_the_background(db_path: Path) -> None:
    """SQLite's background indexer (PostgreSQL indexes in the inserting transaction)."""
    import threading
    import time as clock

    fresh_store = EventStore(db_path)
    backend = fresh_store._backend
    start_transaction = backend.write_transaction
    indexer_may_run = threading.Event()

    def hold_the_indexer(action: str) -> Any:
        """The maintenance thread waits here before indexing, until the test lets it go."""
        if threading.current_thread().name == "camvault-maintenance":
            indexer_may_run.wait(timeout=60)
        return start_transaction(action)

    backend.write_transaction = hold_the_indexer
    for i in range(5):
        fresh_store.insert_event(Event(camera_id="c", llm_description=f"a fox number {i}"))
    conn = connect(fresh_store)

    def pending() -> int:
        return pending_texts(conn)

    assert pending() == 5  # single inserts leave their text for the indexer
    indexer_may_run.set()
    deadline = clock.monotonic() + 30
    while pending() and clock.monotonic() < deadline:
        clock.sleep(0.05)
    assert pending() == 0  # indexed in the background, with no text query asking
    fts = "SELECT count(*) FROM events_text WHERE events_text MATCH 'fox'"
    assert conn.execute(fts).fetchall()[0][0] == 5
    conn.close()
    fresh_store.close()


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_text_pages_stay_exact_when_old_events_arrive_late(store_url: str, order: str) -> None:
    events = build_events(2500, seed=8)
    shuffled = events[:]
    random.Random(1).shuffle(shuffled)  # rowid order no longer follows time
    with EventStore(store_url) as store:
        store.insert_events(shuffled[:1200])
        for ev in shuffled[1200:1300]:
            store.insert_event(ev)
        store.insert_events(shuffled[1300:])
        for text, f in (("red", {}), ("red OR blue", {"camera_id": "driveway"}), ("ga*", {})):
            expected = sorted(
                (e for e in events if text_matches(text, e.llm_description) and matches(e, f)),
                key=lambda e: e.timestamp,
                reverse=order == "newest",
            )
            assert len(expected) > 300  # more matches than one batch of the index walk
            got: list[str] = []
            cursor = None
            while True:
                page = store.query(text=text, limit=37, cursor=cursor, order=order, **f)
                got += [e.event_id for e in page.events]
                if (cursor := page.next_cursor) is None:
                    break
            assert got == [e.event_id for e in expected]


def history_import(url: str, events: list[Event]) -> EventStore:
    """A live store that then imports an older history: the newest fifth arrive one by one
    first, the older rest follow in bulk, newest chunk first, as an import of a history does."""
    store = EventStore(url)
    cut = len(events) * 4 // 5
    for ev in events[cut:]:
        store.insert_event(ev)
    store.query(text="red")  # the live events are indexed before the history arrives
    chunks = [events[i : min(i + 250, cut)] for i in range(0, cut, 250)]
    for chunk in reversed(chunks):
        store.insert_events(chunk)
    return store


def same_instant(events: list[Event], first: int, n: int) -> list[Event]:
    """Give ``n`` events from index ``first`` on the timestamp of the one before them."""
    at = events[first - 1].timestamp
    out = events[:]
    out[first : first + n] = [e.model_copy(update={"timestamp": at}) for e in out[first:][:n]]
    return out


def insertion_rank(events: list[Event]) -> dict[str, int]:
    """Each event's place in history_import's insertion order (live part, then history)."""
    cut = len(events) * 4 // 5
    chunks = [events[i : min(i + 250, cut)] for i in range(0, cut, 250)]
    inserted = [*events[cut:], *(e for chunk in reversed(chunks) for e in chunk)]
    return {e.event_id: i for i, e in enumerate(inserted)}


def text_pages(store: EventStore, text: str, limit: int, order: str, **f: Any) -> list[str]:
    got: list[str] = []
    cursor = None
    while True:
        page = store.query(text=text, limit=limit, cursor=cursor, order=order, **f)
        got += [e.event_id for e in page.events]
        if (cursor := page.next_cursor) is None:
            return got


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_text_pages_stay_exact_after_importing_an_older_history(store_url: str, order: str) -> None:
    events = same_instant(build_events(3000, seed=12), 2390, 9)  # ties across a page edge
    rank = insertion_rank(events)  # events of one instant sort by insertion
    with history_import(store_url, events) as store:
        cases: list[tuple[str, dict[str, Any]]] = [
            ("red", {}),
            ("gate OR door", {"camera_id": "driveway"}),
            ("b*", {"since": events[500].timestamp, "until": events[2700].timestamp}),
        ]
        for text, f in cases:
            expected = sorted(
                (e for e in events if text_matches(text, e.llm_description) and matches(e, f)),
                key=lambda e: (e.timestamp, rank[e.event_id]),
                reverse=order == "newest",
            )
            assert len(expected) > 150
            assert text_pages(store, text, 23, order, **f) == [e.event_id for e in expected]


def test_more_events_in_one_microsecond_than_it_has_keys_still_page_exactly(
    store_url: str,
) -> None:
    events = same_instant(build_events(1200, seed=13), 40, 1100)  # 1101 share one instant
    events = [e.model_copy(update={"llm_description": "red van"}) for e in events]
    rank = insertion_rank(events)
    with history_import(store_url, events) as store:
        for order in ("newest", "oldest"):
            expected = sorted(
                events, key=lambda e: (e.timestamp, rank[e.event_id]), reverse=order == "newest"
            )
            got = text_pages(store, "red", 97, order)
            assert got == [e.event_id for e in expected]
        assert store.count(text="van") == len(events)
        assert store.delete_event(events[500].event_id)
        assert store.count(text="van") == len(events) - 1


@pytest.mark.parametrize("order", ["newest", "oldest"])
def test_a_text_page_reads_about_a_page_of_matches_whatever_the_insertion_order(
    store_url: str, order: str
) -> None:
    import threading

    import apsw

    me = threading.get_ident()
    rows = [0]

    def count_rows(_cursor: apsw.Cursor, row: Any) -> Any:
        if threading.get_ident() == me:
            rows[0] += 1
        return row

    def hook(conn: apsw.Connection) -> None:
        conn.row_trace = count_rows

    apsw.connection_hooks.append(hook)
    try:
        with history_import(store_url, build_events(3000, seed=14)) as store:
            assert store.count(text="red") > 500
            cursor = None
            for _ in range(2):  # the second page too, through its cursor
                rows[0] = 0
                page = store.query(text="red", limit=20, order=order, cursor=cursor)
                cursor = page.next_cursor
                assert len(page.events) == 20
                # a key and a row per event of the page, and a few more around its edge;
                # walking the index in insertion order read every match imported since
                assert rows[0] <= 6 * 20
    finally:
        apsw.connection_hooks.remove(hook)


def test_inserting_never_scans_the_stored_events(db_path: Path) -> None:
    import re

    import apsw

    seen: dict[str, Any] = {}

    def trace(_cursor: apsw.Cursor, sql: str, bindings: Any) -> bool:
        seen[sql] = bindings
        return True

    def hook(conn: apsw.Connection) -> None:
        conn.exec_trace = trace

    with EventStore(db_path) as store:
        store.insert_events(build_events(300, seed=15))
        apsw.connection_hooks.append(hook)
        try:  # a new connection sees the hook: the writer of a second store on the file
            with EventStore(db_path) as again:
                again.insert_events(build_events(300, seed=16))
                again.insert_event(build_events(1, seed=17)[0])
                again.query(text="red")  # indexes the pending description
        finally:
            apsw.connection_hooks.remove(hook)
    statements = {
        s: b for s, b in seen.items() if s.lstrip().upper().startswith(("SELECT", "INSERT"))
    }
    assert any("fts_pending" in s for s in statements)  # the indexing statements were seen
    conn = apsw.Connection(str(db_path))
    scans = {
        s: detail
        for s, b in statements.items()
        for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {s}", b)
        if re.fullmatch(r"SCAN (e|events)( USING .*)?", detail)
    }
    assert scans == {}  # each statement's work follows what it writes, not the store's size
