"""EventStore behaviour on a real temporary SQLite file."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw
import pytest

from camvault import (
    BatchResult,
    DatabaseError,
    Event,
    EventStore,
    InvalidEventError,
    InvalidPersonError,
    InvalidQueryError,
    Person,
    StoreClosedError,
)
from camvault.backends import SQLiteOptions
from camvault.migrations import load_migrations
from camvault.sample import sample_events, sample_frame
from tests.conftest import raw_connection

MakeEvent = Callable[..., Event]


def test_insert_then_get_round_trips(api_store: Any, make_event: MakeEvent) -> None:
    ev = make_event(metadata={"zone": "door", "tags": ["a", 1, None]}, unlock_granted=False)
    assert api_store.insert_event(ev) is True
    assert api_store.get_event(ev.event_id) == ev
    assert api_store.get_event("no-such-id") is None


def test_duplicate_returns_false_and_warns_naming_the_id(
    api_store: Any, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    ev = make_event()
    assert api_store.insert_event(ev)
    changed = ev.model_copy(update={"camera_id": "other"})
    with caplog.at_level(logging.WARNING, logger="camvault"):
        assert api_store.insert_event(changed) is False
    assert ev.event_id in caplog.text and "duplicate" in caplog.text
    assert api_store.get_event(ev.event_id) == ev  # the first write wins, nothing replaced


def test_insert_accepts_a_mapping_and_refuses_other_types(api_store: Any) -> None:
    assert api_store.insert_event({"camera_id": "cam", "event_id": "m-1"})
    assert api_store.get_event("m-1") is not None
    with pytest.raises(InvalidEventError) as exc:
        api_store.insert_event("not an event")  # type: ignore[arg-type]
    assert exc.value.fields == ["event"]
    with pytest.raises(InvalidEventError) as exc:
        api_store.insert_event({"camera_id": "cam", "event_id": "m-2", "motion_confidence": 3})
    assert exc.value.fields == ["motion_confidence"]
    assert api_store.get_event("m-2") is None


def test_slow_insert_is_logged_with_its_duration(
    store_url: str, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    with EventStore(store_url, slow_insert_ms=0) as store, caplog.at_level(logging.WARNING):
        ev = make_event()
        store.insert_event(ev)
    assert f"slow insert: event {ev.event_id} took" in caplog.text
    assert "ms (threshold 0.0 ms)" in caplog.text


def test_fast_insert_is_not_logged(
    store_url: str, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    with EventStore(store_url, slow_insert_ms=10_000) as store, caplog.at_level(logging.WARNING):
        store.insert_event(make_event())
    assert "slow insert" not in caplog.text


def test_batch_counts_inserted_duplicates_and_failed(
    api_store: Any, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    existing = make_event()
    api_store.insert_event(existing)
    new = [make_event() for _ in range(5)]
    items = [*new, existing, new[0], {"camera_id": "", "event_id": "bad-1"}, 42]
    with caplog.at_level(logging.WARNING):
        result = api_store.insert_events(items)  # type: ignore[arg-type]
    assert (result.inserted, result.duplicates, result.failed) == (5, 2, 2)
    assert result.total == len(items)
    assert [(f.index, f.event_id) for f in result.errors] == [(7, "bad-1"), (8, None)]
    assert "camera_id" in result.errors[0].error
    assert all(api_store.get_event(e.event_id) == e for e in new)
    assert api_store.get_event("bad-1") is None
    assert "2 duplicate" in caplog.text and "2 invalid" in caplog.text


def test_batch_streams_a_generator(api_store: Any) -> None:
    result = api_store.insert_events(sample_events(3000, seed=3))
    assert result == BatchResult(inserted=3000)
    assert api_store.info()["events"] == 3000


def test_recent_events_newest_first_per_camera(api_store: Any, make_event: MakeEvent) -> None:
    events = [make_event(camera_id=("a" if i % 2 else "b")) for i in range(10)]
    api_store.insert_events(reversed(events))
    recent = api_store.get_recent_events(limit=3, camera_id="a")
    assert [e.event_id for e in recent] == [e.event_id for e in events[::-1] if e.camera_id == "a"][
        :3
    ]
    assert len(api_store.get_recent_events()) == 10


def test_query_filters_combine(api_store: Any, make_event: MakeEvent) -> None:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    car = {"label": "car", "confidence": 0.4}
    person = {"label": "person", "confidence": 0.9}
    evs = [
        make_event(camera_id="a", timestamp=t0, detected_objects=[car]),
        make_event(camera_id="a", timestamp=t0 + timedelta(hours=1), detected_objects=[person]),
        make_event(
            camera_id="b",
            timestamp=t0 + timedelta(hours=2),
            detected_objects=[car, person],
            person_name="alice",
        ),
        make_event(camera_id="b", timestamp=t0 + timedelta(hours=3), detected_objects=[]),
    ]
    api_store.insert_events(evs)

    def ids(**kw: object) -> list[str]:
        return [e.event_id for e in api_store.query(**kw).events]  # type: ignore[arg-type]

    assert ids(label="car") == [evs[2].event_id, evs[0].event_id]
    assert ids(label="car", min_confidence=0.5) == []
    assert ids(label=["car", "person"], min_confidence=0.5) == [evs[2].event_id, evs[1].event_id]
    assert ids(min_confidence=0.95) == []
    assert ids(camera_id="b") == [evs[3].event_id, evs[2].event_id]
    assert ids(camera_id=["a", "b"], label="person") == [evs[2].event_id, evs[1].event_id]
    assert ids(since=t0 + timedelta(hours=1), until=t0 + timedelta(hours=3)) == [
        evs[2].event_id,
        evs[1].event_id,
    ]
    assert ids(person_name="alice") == [evs[2].event_id]
    assert ids(person_name="alice", camera_id="a") == []


def test_cursor_pages_through_everything_once(api_store: Any, make_event: MakeEvent) -> None:
    same_time = datetime(2026, 11, 2, tzinfo=UTC)
    events = [make_event(timestamp=same_time) for _ in range(7)] + [make_event() for _ in range(6)]
    api_store.insert_events(events)
    seen: list[str] = []
    cursor = None
    while True:
        page = api_store.query(limit=4, cursor=cursor)
        seen += [e.event_id for e in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(e.event_id for e in events)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "AAAA"}, "cursor"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"camera_id": ""}, "camera_id"),
        ({"label": [""]}, "label"),
        ({"person_name": 5}, "person_name"),
    ],
)
def test_bad_query_arguments_name_the_argument(
    api_store: Any, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidQueryError) as exc:
        api_store.query(**kwargs)  # type: ignore[arg-type]
    assert exc.value.fields == [field]


def test_since_after_until_is_refused(api_store: Any) -> None:
    now = datetime.now(UTC)
    with pytest.raises(InvalidQueryError) as exc:
        api_store.query(since=now, until=now - timedelta(hours=1))
    assert exc.value.fields == ["until"]


def test_cameras_are_registered_on_first_use(api_store: Any, make_event: MakeEvent) -> None:
    api_store.insert_event(make_event(camera_id="driveway"))
    api_store.insert_events([make_event(camera_id="garage"), make_event(camera_id="driveway")])
    assert [c.camera_id for c in api_store.list_cameras()] == ["driveway", "garage"]
    assert all(c.created_at is not None for c in api_store.list_cameras())


def test_camera_registration_rolls_back_with_its_transaction(
    store_url: str, make_event: MakeEvent
) -> None:
    with EventStore(store_url) as store:
        ev = make_event(camera_id="fresh-cam")

        def batch() -> Iterator[Event]:
            yield ev
            raise RuntimeError("the source broke mid-batch")

        with pytest.raises(RuntimeError, match="mid-batch"):
            store.insert_events(batch())
        assert store.get_event(ev.event_id) is None
        assert store.list_cameras() == []
        assert store.insert_event(ev)  # the camera is registered again, not assumed
        assert [c.camera_id for c in store.list_cameras()] == ["fresh-cam"]


def test_persons_upsert_get_list(api_store: Any) -> None:
    alice = api_store.upsert_person(Person(name="alice", authorized=True, notes="owner"))
    assert alice.created_at is not None and alice.created_at == alice.updated_at
    again = api_store.upsert_person({"name": "alice", "authorized": False})
    assert again.authorized is False and again.notes is None
    assert again.created_at == alice.created_at
    assert again.updated_at is not None and again.updated_at >= alice.updated_at  # type: ignore[operator]
    api_store.upsert_person(Person(name="bob"))
    assert [p.name for p in api_store.list_persons()] == ["alice", "bob"]
    assert api_store.get_person("bob") == api_store.list_persons()[1]
    assert api_store.get_person("nobody") is None
    with pytest.raises(InvalidPersonError):
        api_store.upsert_person({"name": ""})
    with pytest.raises(InvalidPersonError):
        api_store.upsert_person(["alice"])  # type: ignore[arg-type]


def test_purge_removes_old_events_detections_and_thumbnails(
    api_store: Any, make_event: MakeEvent
) -> None:
    now = datetime.now(UTC)
    old = [make_event(timestamp=now - timedelta(days=40), camera_id=c) for c in ("a", "b")]
    new = make_event(timestamp=now - timedelta(days=1), camera_id="a")
    api_store.insert_events([*old, new])
    paths = [api_store.save_thumbnail(e.event_id, sample_frame(e)) for e in (*old, new)]
    assert all(p is not None and p.exists() for p in paths)
    conn = raw_connection(api_store)  # plain SQL beside the store

    def stored() -> list[tuple[Any, ...]]:
        sql = "SELECT e.event_id, count(d.label) FROM events e LEFT JOIN detections d"
        sql += " ON d.event_rowid = e.id GROUP BY e.event_id ORDER BY e.event_id"
        return [tuple(row) for row in conn.execute(sql).fetchall()]

    assert api_store.purge(timedelta(days=30), camera_id="a") == 1
    assert stored() == sorted([(old[1].event_id, 1), (new.event_id, 1)])
    assert [p.exists() for p in paths] == [False, True, True]  # type: ignore[union-attr]
    assert api_store.purge(timedelta(days=30)) == 1
    assert stored() == [(new.event_id, 1)]
    assert [p.exists() for p in paths] == [False, False, True]  # type: ignore[union-attr]
    assert api_store.get_event(new.event_id) == new.model_copy(
        update={"thumbnail_path": str(paths[2])}
    )
    conn.close()


def test_purge_never_deletes_files_it_did_not_make(
    api_store: Any, make_event: MakeEvent, tmp_path: Path
) -> None:
    user_file = tmp_path / "frigate-snapshot.jpg"
    user_file.write_bytes(b"user data")
    ev = make_event(timestamp=datetime.now(UTC) - timedelta(days=9), thumbnail_path=str(user_file))
    api_store.insert_event(ev)
    assert api_store.purge(timedelta(days=1)) == 1
    assert user_file.read_bytes() == b"user data"


def test_purge_in_many_batches(api_store: Any) -> None:
    now = datetime.now(UTC)
    api_store.insert_events(sample_events(1234, seed=5, end=now - timedelta(days=10)))
    kept = list(sample_events(7, seed=6, end=now, span=timedelta(hours=6)))  # these stay
    api_store.insert_events(kept)
    assert api_store.purge(timedelta(days=2)) == 1234
    conn = raw_connection(api_store)  # plain SQL beside the store
    try:
        ids = sorted(row[0] for row in conn.execute("SELECT event_id FROM events").fetchall())
        orphans = conn.execute(
            "SELECT count(*) FROM detections d WHERE NOT EXISTS "
            "(SELECT 1 FROM events e WHERE e.id = d.event_rowid)"
        ).fetchall()[0][0]
    finally:
        conn.close()
    assert ids == sorted(e.event_id for e in kept)
    assert orphans == 0


def test_purge_arguments_are_checked(api_store: Any) -> None:
    for bad in (timedelta(0), timedelta(days=-1), 30):
        with pytest.raises(InvalidQueryError) as exc:
            api_store.purge(bad)  # type: ignore[arg-type]
        assert exc.value.fields == ["older_than"]
    with pytest.raises(InvalidQueryError):
        api_store.purge(timedelta(days=1), camera_id="")


def test_info_describes_the_store(
    api_store: Any, make_event: MakeEvent, db_path: Path, engine: str, store_url: str
) -> None:
    api_store.insert_event(make_event())
    info = api_store.info()
    assert info["engine"] == engine
    assert info["schema_version"] == len(load_migrations(engine))
    assert (info["events"], info["detections"], info["cameras"]) == (1, 1, 1)
    if engine == "sqlite":
        assert tuple(int(p) for p in info["engine_version"].split(".")) >= (3, 42)
        assert info["path"] == str(db_path)
        assert info["journal_mode"] == "wal"
    else:
        assert int(info["engine_version"].split(".")[0]) >= 13
        assert f"schema={info['schema']}" in store_url and info["database"] in store_url
        assert info["size_bytes"] > 0


def test_closed_store_is_a_clear_error(store_url: str, make_event: MakeEvent) -> None:
    store = EventStore(store_url)
    store.close()
    store.close()  # twice is fine
    assert store.closed
    for call in (
        lambda: store.insert_event(make_event()),
        lambda: store.get_event("x"),
        store.query,
        store.list_persons,
        store.info,
    ):
        with pytest.raises(StoreClosedError):
            call()


def test_context_manager_closes(db_path: Path, make_event: MakeEvent) -> None:
    with EventStore(db_path) as store:
        ev = make_event()
        store.insert_event(ev)
    assert store.closed
    with EventStore(f"sqlite:///{db_path}") as again:
        assert again.get_event(ev.event_id) == ev


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mysql://user@host/db", "unsupported database URL scheme"),
        (":memory:", "needs a database file"),
        ("sqlite://", "needs a database file"),
    ],
)
def test_unsupported_targets(target: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message):
        EventStore(target)


def test_create_false_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database at"):
        EventStore(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_constructor_arguments_are_checked(store_url: str) -> None:
    with pytest.raises(ValueError, match="slow_insert_ms"):
        EventStore(store_url, slow_insert_ms=-1)


def test_full_durability_sets_synchronous_full(db_path: Path) -> None:
    with EventStore(db_path, options=SQLiteOptions(durability="full")) as store:
        assert store.info()["synchronous"] == "FULL"


def test_bad_pragma_names_are_refused(db_path: Path) -> None:
    bad = SQLiteOptions(pragmas={"cache_size; DROP TABLE events": 1})
    with pytest.raises(DatabaseError, match="not a SQLite pragma"):
        EventStore(db_path, options=bad)
    with pytest.raises(DatabaseError, match="not a SQLite pragma"):
        EventStore(f"sqlite:///{db_path}?pragma.cache_size;DROP=1")


def test_a_pragma_that_writes_the_file_is_set_once_and_reads_still_work(db_path: Path) -> None:
    tagged = SQLiteOptions(pragmas={"user_version": 7, "application_id": 4242})
    with EventStore(db_path, options=tagged) as store:
        store.insert_event(Event(camera_id="porch", event_id="tagged"))
        assert [e.event_id for e in store.query().events] == ["tagged"]
        assert store.get_event("tagged") is not None
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        header = [conn.execute(f"PRAGMA {name}").fetchall()[0][0] for name in tagged.pragmas]
    finally:
        conn.close()
    assert header == [7, 4242]


def test_wal_is_checkpointed_in_the_background(db_path: Path) -> None:
    with EventStore(db_path, options=SQLiteOptions(checkpoint_pages=10)) as store:
        for ev in sample_events(200, seed=9):
            store.insert_event(ev)
        deadline = time.monotonic() + 10
        while store.info()["wal_checkpoints"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.info()["wal_checkpoints"] > 0
    wal = Path(f"{db_path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # close() checkpoints and truncates
    conn = apsw.Connection(str(db_path))
    assert conn.execute("SELECT count(*) FROM events").fetchall()[0][0] == 200


def test_past_the_threshold_a_checkpoint_is_called_per_half_threshold_not_per_commit(
    db_path: Path,
) -> None:
    """Each passive checkpoint syncs both files: commits past the threshold must not each
    call one. Pages in the log after each commit, as SQLite reports them to camvault."""

    class Wakes(threading.Event):
        """The background thread's wake-up, counting the calls for a checkpoint."""

        count = 0

        def set(self) -> None:
            self.count += 1
            super().set()

    with EventStore(db_path, options=SQLiteOptions(checkpoint_pages=100)) as store:
        backend: Any = store._backend
        wakes = backend._wake = Wakes()
        called: list[int] = []
        for pages in (40, 99, 100, 110, 149, 150, 160, 199, 200, 260, 20, 99, 100, 120):
            before = wakes.count
            backend._need_checkpoint = False  # the last one ran
            backend._on_wal(backend._writer, "main", pages)
            if wakes.count > before:
                called.append(pages)
    # 100, then every 50 more pages (half of 100); the log restarting (20) starts over at 100
    assert called == [100, 150, 200, 260, 100]


def test_tail_follows_new_events_from_any_writer(api_store: Any, store_url: str) -> None:
    events, position = api_store.tail()
    assert events == []
    first = list(sample_events(3, seed=1))
    api_store.insert_events(first)
    with EventStore(store_url) as other_writer:  # another connection, as another process would
        late = Event(camera_id="late", timestamp=datetime(2020, 1, 1, tzinfo=UTC))
        other_writer.insert_event(late)
    seen, position = api_store.tail(position, limit=2)
    more, position = api_store.tail(position)
    assert [e.event_id for e in seen + more] == [e.event_id for e in [*first, late]]
    assert api_store.tail(position) == ([], position)
    with pytest.raises(InvalidQueryError):
        api_store.tail("x")
    with pytest.raises(InvalidQueryError):
        api_store.tail(position, limit=0)


def test_a_slow_group_is_one_warning_not_one_per_event(
    store_url: str, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    with EventStore(store_url, slow_insert_ms=5) as store, caplog.at_level(logging.WARNING):
        events = [make_event() for _ in range(20)]
        long_ago = time.perf_counter_ns() - 2_000_000_000  # every caller waited 2 s
        outcomes = store.insert_group(events, started_ns=[long_ago] * 20)
    assert outcomes == [True] * 20
    slow = [r.getMessage() for r in caplog.records if r.getMessage().startswith("slow")]
    assert len(slow) == 1
    assert slow[0].startswith("slow group: 20 of 20 writes took longer than 5.0 ms (slowest ")
