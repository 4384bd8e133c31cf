"""Events that evolve: upsert_event and update_event, sync and async, on every engine.

Expected values are written by hand or read back with plain SQL; the random upserts and
updates against a pure-Python oracle are in test_analysis.py.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from camvault import (
    AsyncEventStore,
    Bucket,
    Event,
    EventStore,
    InvalidEventError,
    InvalidQueryError,
)
from camvault.backends import postgresql, sqlite
from camvault.backends.sqlite_rows import INSERT_COLUMNS, event_to_row
from tests.conftest import POSTGRES_URL, T0, postgres_url, raw_connection
from tests.lock_events import lock_events

MakeEvent = Callable[..., Event]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def version(ev: Event, **changes: Any) -> Event:
    """Return ``ev`` with ``changes``, validated like any new event."""
    return Event.model_validate({**ev.model_dump(), **changes})


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


# -- upsert_event ---------------------------------------------------------------------


def test_upsert_inserts_then_updates_and_a_repeat_is_unchanged(
    api_store: Any, make_event: MakeEvent
) -> None:
    ev = make_event(event_id="obj-1", zones=["drive"], source="frigate")
    assert api_store.upsert_event(ev) == "inserted"
    assert api_store.upsert_event(ev) == "unchanged"
    assert api_store.upsert_event(ev.model_dump(mode="json")) == "unchanged"  # a mapping
    ended = version(
        ev,
        end_time=ev.timestamp + timedelta(seconds=30),
        zones=["drive", "porch", "drive"],
        license_plate="AB123CD",
        detected_objects=[{"label": "car", "confidence": 0.7, "bbox": [0.1, 0.1, 0.5, 0.5]}],
    )
    assert ended.zones == ["drive", "porch"]
    assert api_store.upsert_event(ended) == "updated"
    assert api_store.get_event("obj-1") == ended
    assert api_store.insert_event(ended) is False  # insert_event's duplicate rule is unchanged
    assert api_store.get_event("obj-1") == ended
    assert api_store.count() == 1


def test_upsert_keeps_the_stored_thumbnail_and_retain(
    api_store: Any, make_event: MakeEvent
) -> None:
    ev = make_event(event_id="obj-2")
    api_store.insert_event(ev)
    path = api_store.save_thumbnail("obj-2", jpeg())
    assert path is not None
    assert api_store.update_event("obj-2", retain=True).retain is True
    later = version(ev, llm_description="A courier leaves a box.")  # no thumbnail, retain False
    assert api_store.upsert_event(later) == "updated"
    got = api_store.get_event("obj-2")
    assert got == version(later, thumbnail_path=str(path), retain=True)
    assert api_store.read_thumbnail("obj-2") is not None  # the image stayed with the event
    assert api_store.count(text="courier") == 1
    elsewhere = version(later, thumbnail_path="/media/frigate/obj-2.jpg")
    assert api_store.upsert_event(elsewhere) == "updated"
    assert api_store.get_event("obj-2").thumbnail_path == "/media/frigate/obj-2.jpg"
    assert api_store.read_thumbnail("obj-2") is None  # camvault's own went
    assert not path.exists()


def test_a_thumbnail_moves_with_its_event_to_another_camera_or_day(
    api_store: Any, make_event: MakeEvent
) -> None:
    ev = make_event(event_id="obj-9", camera_id="porch", timestamp=T0)
    api_store.insert_event(ev)
    old = api_store.save_thumbnail("obj-9", jpeg())
    assert old is not None and old.exists()
    later = datetime(2026, 12, 24, 18, tzinfo=UTC)
    moved = api_store.update_event("obj-9", camera_id="drive", timestamp=later)
    root = Path(api_store.thumbnails_dir)
    assert moved.thumbnail_path == str(root / "drive" / "2026-12-24" / "obj-9.jpg")
    assert api_store.get_event("obj-9") == moved
    assert not old.exists() and Path(moved.thumbnail_path).exists()
    assert api_store.read_thumbnail("obj-9") is not None
    again = version(moved, camera_id="garage", thumbnail_path=None)  # None keeps it
    assert api_store.upsert_event(again) == "updated"
    stored = api_store.get_event("obj-9")
    assert stored.thumbnail_path == str(root / "garage" / "2026-12-24" / "obj-9.jpg")
    assert api_store.read_thumbnail("obj-9") is not None
    assert api_store.delete_event("obj-9") is True
    assert not Path(stored.thumbnail_path).exists()  # still camvault's own: removed with it


@pytest.mark.skipif(POSTGRES_URL is None, reason="CAMVAULT_TEST_POSTGRES_URL is not set")
def test_a_thumbnail_stored_in_postgresql_stays_through_an_upsert(
    tmp_path: Path, make_event: MakeEvent
) -> None:
    url = postgres_url(tmp_path).replace("thumbnails=files", "thumbnails=database")
    with EventStore(url) as store:
        ev = make_event(event_id="obj-3")
        store.insert_event(ev)
        assert store.save_thumbnail("obj-3", jpeg()) is not None
        assert store.upsert_event(version(ev, llm_description="later")) == "updated"
        assert store.read_thumbnail("obj-3") is not None
        moved = store.update_event("obj-3", timestamp=datetime(2020, 3, 1, tzinfo=UTC))
        assert moved is not None
        conn = raw_connection(store)
        rows = conn.execute("SELECT event_id, ts FROM thumbnails").fetchall()
        assert [tuple(r) for r in rows] == [("obj-3", 1_583_020_800_000_000)]  # 2020-03-01
        assert store.update_event("obj-3", thumbnail_path=None) is not None
        assert conn.execute("SELECT count(*) FROM thumbnails").fetchall()[0][0] == 0


# -- update_event ---------------------------------------------------------------------


def test_update_changes_any_field_and_returns_the_stored_event(
    api_store: Any, make_event: MakeEvent
) -> None:
    ev = make_event(event_id="obj-4", camera_id="porch")
    api_store.insert_event(ev)
    end = ev.timestamp + timedelta(minutes=2)
    updated = api_store.update_event(
        "obj-4",
        end_time=end,
        zones=["porch", "door"],
        license_plate="XY9",
        source="api",
        llm_description="A van leaves.",
        detected_objects=[],
        metadata={"severity": "alert"},
    )
    expected = version(
        ev,
        end_time=end,
        zones=["porch", "door"],
        license_plate="XY9",
        source="api",
        llm_description="A van leaves.",
        detected_objects=[],
        metadata={"severity": "alert"},
    )
    assert updated == expected
    assert api_store.get_event("obj-4") == expected
    assert api_store.count(text="van") == 1 and api_store.count(text="person") == 0
    assert api_store.count(label="person") == 0
    assert api_store.update_event("missing", zones=["x"]) is None


def test_an_update_may_move_an_event_to_another_month_and_camera(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    ev = make_event(event_id="obj-5", camera_id="a")
    fresh_store.insert_event(ev)
    moved = fresh_store.update_event(
        "obj-5", timestamp=datetime(2020, 1, 15, 8, 30, tzinfo=UTC), camera_id="b"
    )
    assert moved == version(ev, timestamp=datetime(2020, 1, 15, 8, 30, tzinfo=UTC), camera_id="b")
    assert fresh_store.query(camera_id="a").events == []
    january = {"since": datetime(2020, 1, 1, tzinfo=UTC), "until": datetime(2020, 2, 1, tzinfo=UTC)}
    assert [e.event_id for e in fresh_store.query(camera_id="b", **january)] == ["obj-5"]
    assert fresh_store.histogram("day", by="camera_id") == [
        Bucket(datetime(2020, 1, 15, tzinfo=UTC), "b", 1)
    ]
    assert fresh_store.histogram("hour", by="label", **january) == [
        Bucket(datetime(2020, 1, 15, 8, tzinfo=UTC), "person", 1)
    ]
    assert "b" in {c.camera_id for c in fresh_store.list_cameras()}


NAIVE = datetime(2026, 11, 1, 12, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"zones": ["drive", ""]}, "zones[1]"),
        ({"zones": [f"z{i}" for i in range(65)]}, "zones"),
        ({"zones": ["in\nside"]}, "zones[0]"),
        ({"license_plate": "X" * 33}, "license_plate"),
        ({"license_plate": " AB1"}, "license_plate"),
        ({"source": ""}, "source"),
        ({"source": "s" * 33}, "source"),
        ({"end_time": T0 - timedelta(days=1)}, "end_time"),
        ({"end_time": NAIVE}, "end_time"),
        ({"end_time": datetime(2300, 1, 1, tzinfo=UTC)}, "end_time"),
        ({"timestamp": T0 + timedelta(days=1)}, "end_time"),  # now after the stored end
        ({"camera_id": ""}, "camera_id"),
    ],
)
def test_bad_changes_name_the_field_and_write_nothing(
    api_store: Any, make_event: MakeEvent, changes: dict[str, Any], field: str
) -> None:
    ev = make_event(timestamp=T0, end_time=T0 + timedelta(hours=1))
    api_store.insert_event(ev)
    _, position = api_store.tail()
    with pytest.raises(InvalidEventError) as info:
        api_store.update_event(ev.event_id, **changes)
    assert field in info.value.fields, str(info.value)
    assert api_store.get_event(ev.event_id) == ev
    assert api_store.tail(position) == ([], position)  # nothing written, nothing published


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"zones": ["ok", " bad"]}, "zones[1]"),
        ({"license_plate": ""}, "license_plate"),
        ({"source": "a\tb"}, "source"),
        ({"end_time": "2026-10-01T00:00:00Z"}, "end_time"),
    ],
)
def test_a_bad_upsert_names_the_field_and_writes_nothing(
    api_store: Any, make_event: MakeEvent, changes: dict[str, Any], field: str
) -> None:
    ev = make_event(event_id="obj-6", timestamp=T0)
    api_store.insert_event(ev)
    with pytest.raises(InvalidEventError) as info:
        api_store.upsert_event({**ev.model_dump(mode="json"), **changes})
    assert field in info.value.fields, str(info.value)
    assert api_store.get_event("obj-6") == ev
    with pytest.raises(InvalidEventError):
        api_store.upsert_event({"camera_id": "c", "zones": [""], "event_id": "obj-7"})
    assert api_store.get_event("obj-7") is None


# -- the new filters, by hand (lock_events: e1 porch+door/mqtt/ended, e2 porch/api, e3 drive/
# AB123CD/frigate) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"zone": "porch"}, {"e1", "e2"}),
        ({"zone": ["door", "drive"]}, {"e1", "e3"}),
        ({"zone": "garden"}, set()),
        ({"license_plate": "AB123CD"}, {"e3"}),
        ({"license_plate": "AB1*"}, {"e3"}),
        ({"license_plate": "AB123C"}, set()),
        ({"license_plate": "AC*"}, set()),
        ({"source": "frigate"}, {"e3"}),
        ({"source": ["api", "mqtt"]}, {"e1", "e2"}),
        ({"in_progress": True}, {"e2", "e3"}),
        ({"in_progress": False}, {"e1"}),
        ({"zone": "porch", "in_progress": True, "source": "api"}, {"e2"}),
    ],
)
def test_the_new_filters_select_by_hand(
    api_store: Any, filters: dict[str, Any], expected: set[str]
) -> None:
    api_store.insert_events(lock_events(T0))
    assert {e.event_id for e in api_store.query(**filters)} == expected
    assert api_store.count(**filters) == len(expected)
    day = api_store.histogram("day", **filters)
    assert sum(b.count for b in day) == len(expected)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"zone": ""}, "zone"),
        ({"license_plate": "*"}, "license_plate"),
        ({"license_plate": "A*1"}, "license_plate"),
        ({"source": [""]}, "source"),
        ({"in_progress": "yes"}, "in_progress"),
    ],
)
def test_a_bad_new_filter_is_named(api_store: Any, filters: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidQueryError) as info:
        api_store.query(**filters)
    assert info.value.fields == [field]


# -- the commit bus -------------------------------------------------------------------


def test_each_new_version_is_published_and_tailed_at_a_new_position(
    fresh_store: EventStore, make_event: MakeEvent
) -> None:
    published: list[Event] = []
    fresh_store.subscribe(published.extend)
    _, start = fresh_store.tail()
    ev = make_event(event_id="obj-8")
    assert fresh_store.upsert_event(ev) == "inserted"
    events, first = fresh_store.tail(start)
    assert events == [ev]
    second_version = version(ev, zones=["porch"])
    assert fresh_store.upsert_event(second_version) == "updated"
    events, second = fresh_store.tail(first)
    assert events == [second_version] and second > first
    assert fresh_store.upsert_event(second_version) == "unchanged"
    assert fresh_store.tail(second) == ([], second)
    third_version = fresh_store.update_event("obj-8", license_plate="AB1")
    events, third = fresh_store.tail(second)
    assert events == [third_version] and third > second
    assert published == [ev, second_version, third_version]
    assert fresh_store.tail(start)[0] == [third_version]  # one event, at its newest position


async def test_async_upserts_share_commits_and_reach_watchers(store_url: str) -> None:
    async with AsyncEventStore(store_url) as astore:
        seen: list[Event] = []
        astore.subscribe(seen.extend)
        watch = astore.watch(zone="drive")
        async with watch:
            before = (await astore.info())["write_transactions"]
            stamps = [T0 + timedelta(seconds=i) for i in range(8)]
            statuses = await asyncio.gather(
                *(
                    astore.upsert_event(
                        Event(
                            event_id=f"o{i % 8}",
                            camera_id="drive",
                            timestamp=stamps[i % 8],
                            zones=["drive"],
                            llm_description=f"version {i // 8}",
                        )
                    )
                    for i in range(64)
                )
            )
            assert statuses == ["inserted"] * 8 + ["updated"] * 56
            commits = (await astore.info())["write_transactions"] - before
            assert 1 <= commits < 64  # grouped, not one transaction per upsert
            repeat = await astore.upsert_event(
                Event(
                    event_id="o3",
                    camera_id="drive",
                    timestamp=stamps[3],
                    zones=["drive"],
                    llm_description="version 7",
                )
            )
            assert repeat == "unchanged"
            for k in range(8):
                stored = await astore.get_event(f"o{k}")
                assert stored is not None and stored.llm_description == "version 7"
            watched: list[Event] = []
            async with asyncio.timeout(10):
                async for ev in watch:
                    watched.append(ev)
                    if ev.event_id == "o7" and ev.llm_description == "version 7":
                        break
            assert [e.llm_description for e in watched if e.event_id == "o7"][-1] == "version 7"
        deadline = time.monotonic() + 10
        while len(seen) < 64:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert len(seen) == 64  # every write published once, the unchanged repeat not at all


# -- a store of the previous schema ---------------------------------------------------

PREVIOUS = {"sqlite": 4, "postgresql": 2}
OLD_COLUMNS = 17
"""Event columns of the previous schemas (INSERT_COLUMNS up to retain)."""


def write_the_old_way(store: EventStore, engine: str, events: list[Event]) -> None:
    """Store events as the previous schema did, with its own columns only."""
    conn = raw_connection(store)
    columns = ", ".join(INSERT_COLUMNS[:OLD_COLUMNS])
    for ev in events:
        row = event_to_row(ev)[:OLD_COLUMNS]
        if engine == "sqlite":
            conn.execute("INSERT OR IGNORE INTO cameras VALUES (?, NULL, 0)", (ev.camera_id,))
            marks = ", ".join("?" * len(row))
            conn.execute(f"INSERT INTO events ({columns}) VALUES ({marks})", row)
        else:
            types = ["text", "bigint", "text", "float8", *["text"] * 6, "float8", "float8"]
            types += ["int", "text", "text", "text", "int"]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            conn.execute(
                f"SELECT * FROM store_events(%s, {arrays})", [1, *([value] for value in row)]
            )
    conn.close()


def test_a_store_of_the_previous_schema_opens_and_gains_the_new_fields(
    store_url: str, engine: str, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    module: Any = sqlite if engine == "sqlite" else postgresql
    shipped = module.load_migrations
    monkeypatch.setattr(module, "load_migrations", lambda *a: shipped(*a)[: PREVIOUS[engine]])
    old = [make_event(event_id=f"old-{i}") for i in range(3)]
    with EventStore(store_url) as store:
        assert store.info()["schema_version"] == PREVIOUS[engine]
        write_the_old_way(store, engine, old)
    monkeypatch.undo()
    with EventStore(store_url) as store:
        # every migration since applies (the evolving-events one and any later ones)
        assert store.info()["schema_version"] == len(shipped(engine))
        assert [store.get_event(e.event_id) for e in old] == old  # new fields at their defaults
        assert store.count(in_progress=True) == 3
        assert store.count(zone="porch") == 0
        assert store.upsert_event(version(old[1], zones=["porch"], source="import")) == "updated"
        assert store.update_event("old-2", license_plate="AB123", end_time=T0 + timedelta(days=1))
        assert [e.event_id for e in store.query(zone="porch")] == ["old-1"]
        assert [e.event_id for e in store.query(license_plate="AB1*")] == ["old-2"]
        assert [e.event_id for e in store.query(source="import")] == ["old-1"]
        assert store.count(in_progress=False) == 1
        assert store.insert_event(make_event(event_id="new", zones=["porch"])) is True
        assert store.count(zone="porch") == 2


def test_a_v4_sqlite_file_is_backed_up_before_it_gains_the_new_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = sqlite.load_migrations
    monkeypatch.setattr(sqlite, "load_migrations", lambda *a: shipped(*a)[:4])
    db = tmp_path / "events.db"
    EventStore(db).close()
    monkeypatch.undo()
    with EventStore(db) as store:
        assert store.info()["schema_version"] == len(shipped("sqlite"))
    assert len(list(tmp_path.glob("events.db.v4-*.bak"))) == 1
