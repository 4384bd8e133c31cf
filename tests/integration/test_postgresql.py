"""The PostgreSQL engine under several processes, lost connections, partitions and copies.

Every test owns a schema of the shared test server (dropped at the end). The oracle is raw
SQL through psycopg and the data the test generated itself, never another store method.
"""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PIL import Image
from typer.testing import CliRunner

from camvault import AsyncEventStore, DetectedObject, Event, EventStore
from camvault.backends import postgresql
from camvault.cli import app
from camvault.errors import (
    DatabaseBusyError,
    DatabaseError,
    DatabaseWriteError,
    InvalidInputError,
)
from camvault.migrations import load_migrations
from camvault.sample import SAMPLE_PERSONS, sample_events
from tests import pg_children
from tests.conftest import POSTGRES_URL, SyncOverAsync, drop_schema, postgres_url
from tests.unit.test_cli_errors import one_line_error

pytestmark = pytest.mark.skipif(
    not POSTGRES_URL, reason="CAMVAULT_TEST_POSTGRES_URL is not set (no PostgreSQL server)"
)

HOUR = 3_600_000_000
"""An hour in microseconds, as the schema stores timestamps."""
DEADLINE = 30.0
"""Upper bound for any wait on another process or session; reaching it is a hang."""
SPAWN = multiprocessing.get_context("spawn")
runner = CliRunner()


# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a schema of its own on the test server, dropped after the test."""
    url = postgres_url(tmp_path)
    yield url
    drop_schema(url)


def thumbnails_in(url: str, kept_in: str) -> str:
    """A test URL with its store's thumbnails kept in ``files`` or in the ``database``."""
    return url.replace("thumbnails=files", f"thumbnails={kept_in}")


def schema_of(url: str) -> str:
    """The schema name a test URL names."""
    return url.rsplit("schema=", 1)[1]


def raw(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the test's schema with plain psycopg and return its rows."""
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema_of(url)}"')
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def micros(moment: datetime) -> int:
    """A datetime as the schema's bigint microseconds since the epoch."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def expected_rollups(events: list[Event]) -> Counter[tuple[str, int, str, str]]:
    """Hourly counts by hand: each event once, once per distinct label, once per person."""
    cells: Counter[tuple[str, int, str, str]] = Counter()
    for event in events:
        ts = micros(event.timestamp)
        hour = ts - ts % HOUR
        cells["event", hour, event.camera_id, ""] += 1
        for label in {o.label for o in event.detected_objects}:
            cells["label", hour, event.camera_id, label] += 1
        if event.person_name is not None:
            cells["person", hour, event.camera_id, event.person_name] += 1
    return cells


_GROUP_BY = f"""
SELECT 'event', ts - mod(ts, {HOUR}), camera_id, '', count(*) FROM events GROUP BY 2, 3
UNION ALL
SELECT 'label', e.ts - mod(e.ts, {HOUR}), e.camera_id, d.label, count(DISTINCT e.id)
FROM events e JOIN detections d ON d.event_rowid = e.id AND d.ts = e.ts GROUP BY 2, 3, 4
UNION ALL
SELECT 'person', ts - mod(ts, {HOUR}), camera_id, person_name, count(*) FROM events
WHERE person_name IS NOT NULL GROUP BY 2, 3, 4"""


def assert_rollups(url: str, events: list[Event]) -> None:
    """rollup_hourly holds exactly the hand-computed counts, as does a GROUP BY over events."""
    want = expected_rollups(events)
    cells = raw(url, "SELECT dim, hour, camera_id, key, n FROM rollup_hourly")
    stored = {(d, int(h), c, k): int(n) for d, h, c, k, n in cells}
    counted = {(d, int(h), c, k): int(n) for d, h, c, k, n in raw(url, _GROUP_BY)}
    assert counted == dict(want)
    assert stored == dict(want)
    over_all: Counter[tuple[str, int, str]] = Counter()
    for (dim, hour, _, key), n in want.items():
        over_all[dim, hour, key] += n
    cells = raw(url, "SELECT dim, hour, key, n FROM rollup_all WHERE n <> 0")
    assert {(d, int(h), k): int(n) for d, h, k, n in cells} == dict(over_all)


def results(queue: Any, n: int) -> list[Any]:
    """The payloads of ``n`` child results; a child's error fails the test with its traceback."""
    out = []
    for _ in range(n):
        status, payload = queue.get(timeout=DEADLINE * 2)
        assert status == "ok", payload
        out.append(payload)
    return out


def join_all(processes: list[Any]) -> None:
    """Wait for child processes to end cleanly."""
    for process in processes:
        process.join(DEADLINE)
        assert process.exitcode == 0, f"{process.name} ended with {process.exitcode}"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


# -- 1. several processes insert overlapping ids at once ---------------------------------

WORKERS = 4
PER_WORKER = 1500
STRIDE = 500
"""Worker w inserts ids w*STRIDE .. w*STRIDE+PER_WORKER-1: neighbours share 1,000 ids."""


def test_four_processes_inserting_overlapping_ids_store_each_exactly_once(pg_url: str) -> None:
    EventStore(pg_url).close()  # the schema exists before the race (migrations race below)
    plans = [pg_children.race_plan(w, PER_WORKER, STRIDE) for w in range(WORKERS)]
    barrier, queue = SPAWN.Barrier(WORKERS), SPAWN.Queue()
    apis = ["sync", "async"] * (WORKERS // 2)  # half of them through AsyncEventStore
    processes = [
        SPAWN.Process(target=pg_children.insert_race, args=(pg_url, plan, api, barrier, queue))
        for plan, api in zip(plans, apis, strict=True)
    ]
    for process in processes:
        process.start()
    reports = results(queue, WORKERS)
    join_all(processes)

    universe = range((WORKERS - 1) * STRIDE + PER_WORKER)
    events = [pg_children.race_event(n) for n in universe]
    assert all(r["failed"] == 0 and not r["errors"] for r in reports), reports
    assert sum(r["inserted"] for r in reports) == len(universe)  # 3,000 distinct ids
    assert sum(r["duplicates"] for r in reports) == WORKERS * PER_WORKER - len(universe)

    rows = raw(pg_url, "SELECT event_id, id, ts, camera_id, person_name FROM events")
    assert sorted(r[0] for r in rows) == sorted(e.event_id for e in events)  # each once
    assert len({r[1] for r in rows}) == len(rows)  # positions unique
    want = {e.event_id: (micros(e.timestamp), e.camera_id, e.person_name) for e in events}
    assert {r[0]: (r[2], r[3], r[4]) for r in rows} == want
    registry = raw(pg_url, "SELECT event_id, id, ts FROM event_ids")
    assert sorted(registry) == sorted((r[0], r[1], r[2]) for r in rows)
    assert raw(pg_url, "SELECT high_water FROM positions") == [(max(r[1] for r in rows),)]

    detections = raw(
        pg_url,
        "SELECT e.event_id, d.idx, d.label, d.confidence, d.x1, d.y1, d.x2, d.y2 "
        "FROM detections d JOIN events e ON e.id = d.event_rowid AND e.ts = d.ts",
    )
    want_detections = [
        (e.event_id, k, o.label, o.confidence, *(o.bbox or ()))
        for e in events
        for k, o in enumerate(e.detected_objects)
    ]
    assert sorted(detections) == sorted(want_detections)
    assert_rollups(pg_url, events)
    cameras = raw(pg_url, "SELECT camera_id FROM cameras ORDER BY 1")
    assert cameras == [("cam-0",), ("cam-1",), ("cam-2",)]


@pytest.mark.parametrize("api", ["sync", "async"])
def test_an_insert_waiting_for_the_commit_lock_holds_no_table_lock(pg_url: str, api: str) -> None:
    """Whoever holds the commit lock can take the tables exclusively (a partition made or
    dropped) while inserts queue behind it: no insert waits for it holding a table lock."""
    name = f"cvorder_{api}_" + schema_of(pg_url)
    url = f"{pg_url}&application_name={name}"
    store: Any = EventStore(url) if api == "sync" else SyncOverAsync(url)
    at = datetime(2026, 11, 4, 6, tzinfo=UTC)
    try:
        assert store.insert_event(Event(event_id="first", camera_id="porch", timestamp=at))
        outcome: dict[str, Any] = {}

        def write() -> None:
            try:
                late = Event(event_id="late", camera_id="porch", timestamp=at)
                outcome["result"] = store.insert_event(late)
            except Exception as exc:  # the test looks at it below
                outcome["error"] = exc

        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as holder:
            holder.execute(f'SET search_path TO "{schema_of(pg_url)}"')
            holder.execute("SET lock_timeout = '5s'")
            holder.execute("SELECT pg_advisory_lock(%s)", (_commit_key(store),))
            writer = threading.Thread(target=write)
            writer.start()
            wait_until(
                lambda: _sessions(name, "wait_event = 'advisory'") == 1,
                "the insert waits for the commit lock",
            )
            held = holder.execute(
                "SELECT l.relation::regclass::text FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = %s "
                "AND l.locktype = 'relation' AND l.relation = ANY(%s::regclass[])",
                (name, ["events", "detections", "event_ids"]),
            ).fetchall()
            assert held == []  # else a session holding the commit lock waits on it: deadlock
            with holder.transaction():  # what creating or dropping a partition needs
                holder.execute("LOCK TABLE events, detections, event_ids IN ACCESS EXCLUSIVE MODE")
            holder.execute("SELECT pg_advisory_unlock_all()")
            writer.join(DEADLINE)
        assert outcome == {"result": True}
    finally:
        store.close()
    assert raw(pg_url, "SELECT event_id FROM events ORDER BY id") == [("first",), ("late",)]


def _commit_key(store: Any) -> int:
    """The advisory lock key a store's write transactions take (sync or async face)."""
    inner = store if isinstance(store, EventStore) else store.astore.store
    return int(inner._backend.commit_key)  # type: ignore[union-attr]


# -- 2. two processes migrate a brand-new schema at the same instant ---------------------


def test_two_processes_opening_a_new_schema_at_once_both_migrate_it_once(tmp_path: Path) -> None:
    for attempt in range(3):  # a few fresh schemas: more chances for the race to bite
        url = postgres_url(tmp_path / str(attempt))
        try:
            barrier, queue = SPAWN.Barrier(2), SPAWN.Queue()
            processes = [
                SPAWN.Process(target=pg_children.open_at_once, args=(url, barrier, queue))
                for _ in range(2)
            ]
            for process in processes:
                process.start()
            versions = results(queue, 2)
            join_all(processes)
            applied = raw(
                url, "SELECT version, count(*) FROM schema_migrations GROUP BY 1 ORDER BY 1"
            )
            latest = len(load_migrations("postgresql"))
            assert versions == [latest, latest]
            assert applied == [(version, 1) for version in range(1, latest + 1)]
            assert raw(url, "SELECT count(*) FROM positions") == [(1,)]
        finally:
            drop_schema(url)


# -- 3. LISTEN/NOTIFY: a watch in one process follows another process's commits -----------


async def test_a_watch_follows_in_order_what_another_process_stores(pg_url: str) -> None:
    EventStore(pg_url).close()
    go, queue = SPAWN.Event(), SPAWN.Queue()
    child = SPAWN.Process(target=pg_children.watched_writer, args=(pg_url, go, queue))
    child.start()
    try:
        async with AsyncEventStore(pg_url) as astore, astore.watch() as live:
            start = live.position
            seen: list[tuple[int, str]] = []

            async def follow() -> None:
                async for event in live:
                    assert live.position is not None
                    seen.append((live.position, event.event_id))
                    if len(seen) == 81:
                        return

            go.set()  # the child opened its store already; it writes from now on
            await asyncio.wait_for(follow(), DEADLINE)  # woken by NOTIFY: nothing polls
            report = (await asyncio.to_thread(results, queue, 1))[0]
            behind, position = await astore.tail(after=start, limit=1000)
    finally:
        go.set()
        await asyncio.to_thread(join_all, [child])
    stored = raw(pg_url, "SELECT id, event_id FROM events ORDER BY id")
    assert [name for _, name in seen] == report["written"]  # each once, in commit order
    assert seen == [(int(p), name) for p, name in stored]  # positions are events.id
    assert [e.event_id for e in behind] == report["tail"] == report["written"]
    assert position == report["position"] == seen[-1][0]


async def test_a_watch_survives_the_loss_of_its_listening_session(pg_url: str) -> None:
    name = "cvlisten_" + schema_of(pg_url)
    at = datetime(2026, 11, 3, 9, tzinfo=UTC)
    made = [
        Event(event_id=f"n{n}", camera_id="porch", timestamp=at + timedelta(seconds=n))
        for n in range(3)
    ]
    writer = EventStore(pg_url)  # its commits reach the watch only through NOTIFY
    astore = AsyncEventStore(f"{pg_url}&application_name={name}")
    with writer:
        async with astore, astore.watch() as live:
            seen: list[str] = []

            async def next_event() -> None:
                async for event in live:
                    seen.append(event.event_id)
                    return

            await asyncio.to_thread(writer.insert_event, made[0])
            await asyncio.wait_for(next_event(), 10)
            listens = "query LIKE 'LISTEN%%'"
            await asyncio.to_thread(
                wait_until, lambda: _sessions(name, listens) == 1, "the store listens"
            )
            await asyncio.to_thread(_kill_sessions, name)
            await asyncio.to_thread(writer.insert_event, made[1])  # while nobody listens
            await asyncio.wait_for(next_event(), 10)
            await asyncio.to_thread(writer.insert_event, made[2])
            await asyncio.wait_for(next_event(), 10)
    assert seen == ["n0", "n1", "n2"]


def _kill_sessions(name: str) -> None:
    """Terminate every server session with application_name ``name`` (a server restart)."""
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as killer:
        killer.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        )


# -- 4. faults: a killed session, an unreachable server, timeouts --------------------------


def _sessions(name: str, condition: str = "true") -> int:
    """How many server sessions carry application_name ``name`` (and match ``condition``)."""
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        query = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND {condition}"
        return int(conn.execute(query, (name,)).fetchall()[0][0])


@pytest.mark.parametrize("api", ["sync", "async"])
def test_a_write_whose_session_is_killed_keeps_nothing_it_did_not_report_and_the_store_recovers(
    pg_url: str, api: str
) -> None:
    """Sync: the insert raises DatabaseWriteError and nothing of it is kept. Async: its
    group may be retried on the sync path; whatever the answer, the database agrees."""
    name = f"cvkill_{api}_" + schema_of(pg_url)
    url = f"{pg_url}&application_name={name}&pool_size=4"
    names = ["before", "lost", "after-0", "after-1", "after-2", "after-3"]
    at = datetime(2026, 11, 2, 8, tzinfo=UTC)
    made = {
        n: Event(event_id=n, camera_id="porch", timestamp=at + timedelta(minutes=17 * i))
        for i, n in enumerate(names)
    }
    store: Any = EventStore(url) if api == "sync" else SyncOverAsync(url)
    try:
        assert store.insert_event(made["before"])
        _grow_pool(store, name)
        outcome: dict[str, Any] = {}

        def write() -> None:
            try:
                outcome["result"] = store.insert_event(made["lost"])
            except Exception as exc:  # the test looks at it below
                outcome["error"] = exc

        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (_commit_key(store),))
            writer = threading.Thread(target=write)
            writer.start()
            wait_until(
                lambda: _sessions(name, "wait_event = 'advisory'") == 1,
                "the insert waits for the commit lock",
            )
            _kill_sessions(name)  # the blocked writer and the idle pooled connections
            holder.execute("SELECT pg_advisory_unlock_all()")
            writer.join(DEADLINE)
        assert not writer.is_alive()
        lost = raw(pg_url, "SELECT event_id FROM events WHERE event_id = 'lost'")
        if api == "sync" or "error" in outcome:
            assert isinstance(outcome.get("error"), DatabaseWriteError), outcome
            assert "connection" in str(outcome["error"])
            assert lost == []
            assert raw(pg_url, "SELECT event_id FROM event_ids") == [("before",)]
        else:
            assert outcome == {"result": True} and lost == [("lost",)]
        kept = [made["before"], *([made["lost"]] if lost else [])]
        # the very next calls work: dead pooled connections are replaced
        assert store.insert_event(made["after-0"])
        assert store.get_event("before") is not None
        assert store.insert_events([made[f"after-{n}"] for n in range(1, 4)]).inserted == 3
    finally:
        store.close()
    kept += [made[f"after-{n}"] for n in range(4)]
    stored = raw(pg_url, "SELECT event_id FROM events ORDER BY id")
    assert stored == [(e.event_id,) for e in kept]
    assert_rollups(pg_url, kept)


@pytest.mark.parametrize("api", ["sync", "async"])
def test_reads_and_writes_work_at_once_after_every_session_of_the_store_was_killed(
    pg_url: str, api: str
) -> None:
    name = f"cvidle_{api}_" + schema_of(pg_url)
    url = f"{pg_url}&application_name={name}&pool_size=4"
    store: Any = EventStore(url) if api == "sync" else SyncOverAsync(url)
    try:
        assert store.insert_event(Event(event_id="before", camera_id="porch"))
        _grow_pool(store, name)
        _kill_sessions(name)  # as a server restart does
        wait_until(lambda: _sessions(name) == 0, "the sessions are gone")
        assert [e.event_id for e in store.get_recent_events()] == ["before"]
        assert store.insert_event(Event(event_id="after", camera_id="porch"))
    finally:
        store.close()
    assert raw(pg_url, "SELECT event_id FROM events ORDER BY id") == [("before",), ("after",)]


def _grow_pool(store: Any, name: str) -> None:
    """Read from several threads at once until the store's pool holds several connections."""
    enough = threading.Event()

    def read() -> None:
        while not enough.is_set():
            store.get_recent_events(limit=5)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        wait_until(lambda: _sessions(name) >= 3, "the pool holds several connections")
    finally:
        enough.set()
        for reader in readers:
            reader.join(DEADLINE)


@pytest.mark.parametrize("password", ["", ":s3cret"])
def test_an_unreachable_server_is_a_clear_error_without_the_password(password: str) -> None:
    url = f"postgresql://postgres{password}@127.0.0.1:1/test?schema=nowhere&connect_timeout=2"
    with pytest.raises(DatabaseError) as caught:
        EventStore(url)
    message = str(caught.value)
    assert "127.0.0.1:1" in message and "'test'" in message
    assert "s3cret" not in message
    assert "s3cret" not in "".join(traceback.format_exception(caught.value))


def test_a_statement_past_statement_timeout_names_the_option(pg_url: str) -> None:
    with EventStore(f"{pg_url}&statement_timeout=0.2&lock_timeout=0") as store:
        assert store.insert_event(Event(event_id="one", camera_id="porch"))
        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL) as holder:  # a transaction: the lock stays held
            holder.execute(f'LOCK TABLE "{schema_of(pg_url)}".events IN ACCESS EXCLUSIVE MODE')
            with pytest.raises(DatabaseError) as caught:
                store.get_recent_events()
            holder.rollback()
        assert "statement_timeout" in str(caught.value)
        assert [e.event_id for e in store.get_recent_events()] == ["one"]


def test_a_write_past_lock_timeout_is_busy_and_names_the_option(pg_url: str) -> None:
    with EventStore(f"{pg_url}&lock_timeout=0.2") as store:
        assert POSTGRES_URL is not None
        with psycopg.connect(POSTGRES_URL, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (_commit_key(store),))
            with pytest.raises(DatabaseBusyError) as caught:
                store.insert_event(Event(event_id="late", camera_id="porch"))
            holder.execute("SELECT pg_advisory_unlock_all()")
        assert "lock_timeout" in str(caught.value)
        assert raw(pg_url, "SELECT count(*) FROM event_ids") == [(0,)]
        assert store.insert_event(Event(event_id="late", camera_id="porch"))


# -- 5. monthly partitions: purge drops whole old months, re-insert re-creates them ---------


def _month_events() -> list[Event]:
    """Four events in each month of 2025-01..2025-06 (days 2, 9, 16, 23); one retained."""
    events = []
    for month in range(1, 7):
        for k, day in enumerate((2, 9, 16, 23)):
            n = month * 10 + k
            events.append(
                Event(
                    event_id=f"m{month:02d}-d{day:02d}",
                    camera_id=("porch", "garage")[k % 2],
                    timestamp=datetime(2025, month, day, 10, n % 60, tzinfo=UTC),
                    detected_objects=[
                        DetectedObject(label=("person", "car")[n % 2], confidence=0.8)
                        for _ in range(k % 3)
                    ],
                    person_name="bob" if k == 1 else None,
                    retain=(month, day) == (3, 9),
                )
            )
    return events


def _partitions(url: str) -> set[str]:
    """The 2025 partitions of events and detections, as the catalog lists them."""
    rows = raw(
        url,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace s ON s.oid = p.relnamespace "
        "WHERE s.nspname = %s AND c.relkind = 'r' AND c.relname LIKE '%%2025%%'",
        (schema_of(url),),
    )
    return {r[0] for r in rows}


@pytest.mark.parametrize("kept_in", ["files", "database"])
def test_purge_drops_old_months_keeps_retained_and_edge_rows_and_months_come_back(
    pg_url: str, kept_in: str
) -> None:
    events = _month_events()
    cutoff = datetime(2025, 4, 12, tzinfo=UTC)
    survivors = [e for e in events if e.timestamp >= cutoff or e.retain]
    removed = [e for e in events if e not in survivors]
    url = thumbnails_in(pg_url, kept_in)
    with EventStore(url) as store:
        assert store.insert_events(events).inserted == len(events)
        other = EventStore(url)  # another process's store: it has seen the 2025 months
        files = {}
        for event in events:
            path = store.save_thumbnail(event.event_id, _image())
            assert path is not None and path.is_file() == (kept_in == "files")
            files[event.event_id] = path
        stored = raw(pg_url, "SELECT count(*) FROM thumbnails")
        assert stored == [(len(events) if kept_in == "database" else 0,)]
        months = {f"{t}_p2025_{m:02d}" for t in ("events", "detections") for m in range(1, 7)}
        assert _partitions(pg_url) == months

        result = store.purge(older_than=datetime.now(UTC) - cutoff)

        assert (int(result), result.thumbnails) == (len(removed), len(removed))
        gone = {f"{t}_p2025_{m:02d}" for t in ("events", "detections") for m in (1, 2)}
        assert _partitions(pg_url) == months - gone  # March keeps its retained event
        schema = schema_of(pg_url)
        assert raw(pg_url, "SELECT to_regclass(%s)", (f"{schema}.events_p2025_01",)) == [(None,)]
        ids = sorted(e.event_id for e in survivors)
        assert sorted(r[0] for r in raw(pg_url, "SELECT event_id FROM events")) == ids
        assert sorted(r[0] for r in raw(pg_url, "SELECT event_id FROM event_ids")) == ids
        detections = raw(pg_url, "SELECT count(*) FROM detections")
        assert detections == [(sum(len(e.detected_objects) for e in survivors),)]
        assert_rollups(pg_url, survivors)
        if kept_in == "files":
            assert {e for e, p in files.items() if p.exists()} == {e.event_id for e in survivors}
        else:
            assert sorted(r[0] for r in raw(pg_url, "SELECT event_id FROM thumbnails")) == ids
        assert {e.event_id for e in survivors} == {
            e.event_id for e in events if store.read_thumbnail(e.event_id) is not None
        }

        # an old event into a dropped month: its partition comes back, from either store
        again = [
            Event(
                event_id="back-jan", camera_id="porch", timestamp=datetime(2025, 1, 5, tzinfo=UTC)
            ),
            Event(
                event_id="back-feb", camera_id="porch", timestamp=datetime(2025, 2, 5, tzinfo=UTC)
            ),
        ]
        assert store.insert_event(again[0])
        assert other.insert_event(again[1])  # opened before the purge: it knew February
        other.close()
        assert _partitions(pg_url) == months
        # an event_id already stored, with a timestamp in another month: a duplicate
        assert (
            store.insert_event(survivors[-1].model_copy(update={"timestamp": again[0].timestamp}))
            is False
        )
        assert raw(
            pg_url, "SELECT ts FROM events WHERE event_id = %s", (survivors[-1].event_id,)
        ) == [(micros(survivors[-1].timestamp),)]
        assert_rollups(pg_url, [*survivors, *again])


def test_purging_old_months_while_another_process_inserts_into_them_loses_no_count(
    pg_url: str,
) -> None:
    """Partitions dropped and re-created under a writer: every insert is either still
    stored or counted by a purge, and ids, detections and rollups agree with the rows."""
    sizes = [1, 70, 20, 1, 1, 70, 20, 1] * 6  # singles, COPY batches, array batches
    with EventStore(pg_url) as store:
        barrier, queue = SPAWN.Barrier(2), SPAWN.Queue()
        child = SPAWN.Process(target=pg_children.old_inserter, args=(pg_url, sizes, barrier, queue))
        child.start()
        barrier.wait(DEADLINE)
        purged = purges = 0
        while queue.empty() or purges == 0:  # until the writer is done, at least once
            purged += store.purge(older_than=timedelta(days=30))
            purges += 1
        (inserted,) = results(queue, 1)
        join_all([child])
    assert inserted == sum(sizes)  # each id new: every insert reported stored
    rows = raw(pg_url, "SELECT event_id FROM events")
    assert len(rows) == inserted - purged
    assert sorted(raw(pg_url, "SELECT event_id FROM event_ids")) == sorted(rows)
    survivors = [pg_children.old_event(int(r[0].removeprefix("old-"))) for r in rows]
    detections = raw(pg_url, "SELECT count(*) FROM detections")
    assert detections == [(sum(len(e.detected_objects) for e in survivors),)]
    assert_rollups(pg_url, survivors)


def _image() -> Image.Image:
    """A small image to make thumbnails from."""
    return Image.new("RGB", (32, 24), (200, 80, 40))


# -- 6. camvault copy: SQLite -> PostgreSQL -> SQLite ----------------------------------------

COPIED = 300
THUMB_EVERY = 5


def _copy(src: str, dst: str) -> dict[str, Any]:
    """Run ``camvault copy SRC DST --json`` in-process and return its summary."""
    done = runner.invoke(app, ["copy", src, dst, "--json"])
    assert done.exit_code == 0, done.output
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["complete"] is True
    return summary


@pytest.mark.parametrize("kept_in", ["files", "database"])
def test_copy_to_postgresql_and_back_keeps_every_event_person_and_thumbnail(
    pg_url: str, tmp_path: Path, kept_in: str
) -> None:
    middle = thumbnails_in(pg_url, kept_in)
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    events = list(sample_events(COPIED, seed=11, end=datetime(2026, 10, 30, tzinfo=UTC)))
    events[0].retain = True
    sizes: dict[str, tuple[int, int]] = {}
    with EventStore(source) as store:
        assert store.insert_events(events).inserted == COPIED
        for person in SAMPLE_PERSONS:
            store.upsert_person(person)
        for index in range(0, COPIED, THUMB_EVERY):
            image = Image.new("RGB", (40 + index % 50, 30), (index % 256, 80, 160))
            assert store.save_thumbnail(events[index].event_id, image) is not None
            sizes[events[index].event_id] = image.size

    there = _copy(str(source), middle)
    home = _copy(middle, str(back))
    wanted = {"events_copied": COPIED, "thumbnails": len(sizes), "failed": 0, "persons": 3}
    for summary in (there, home):
        assert {k: summary[k] for k in wanted} == wanted
        assert summary["missing_thumbnails"] == 0

    with EventStore(source, create=False) as src:
        originals = {e.event_id: src.get_event(e.event_id) for e in events}
    with EventStore(middle) as mid, EventStore(back, create=False) as dst:
        for store in (mid, dst):
            _assert_copied(store, originals, sizes)
    assert raw(pg_url, "SELECT count(*), count(*) FILTER (WHERE retain) FROM events") == [
        (COPIED, 1)
    ]
    in_rows = raw(pg_url, "SELECT count(*) FROM thumbnails")
    assert in_rows == [(len(sizes) if kept_in == "database" else 0,)]

    # a rerun finds everything there and copies nothing
    for src_url, dst_url in ((str(source), middle), (middle, str(back))):
        again = _copy(src_url, dst_url)
        assert (again["events_copied"], again["already_there"]) == (0, COPIED)
        assert (again["thumbnails"], again["thumbnails_already_there"]) == (0, len(sizes))
    assert raw(pg_url, "SELECT count(*) FROM events") == [(COPIED,)]


def _assert_copied(
    store: EventStore, originals: dict[str, Event | None], sizes: dict[str, tuple[int, int]]
) -> None:
    """Each source event is in ``store`` field for field, its thumbnail the store's own."""
    in_files = store.info().get("thumbnails") != "database"
    for event_id, original in originals.items():
        copy = store.get_event(event_id)
        assert original is not None and copy is not None
        want, got = original.model_dump(), copy.model_dump()
        mine, theirs = want.pop("thumbnail_path"), got.pop("thumbnail_path")
        assert got == want
        found = store.read_thumbnail(event_id)
        if event_id in sizes:  # the copy's own thumbnail (a file or a row), the same picture
            assert theirs != mine and found is not None
            assert Image.open(io.BytesIO(found[0])).size == sizes[event_id]
            assert Path(theirs).is_relative_to(store.thumbnails_dir)
            assert Path(theirs).is_file() == in_files
        else:
            assert theirs is None and found is None
    fields = {"name", "authorized", "notes"}
    assert [p.model_dump(include=fields) for p in store.list_persons()] == [
        p.model_dump(include=fields) for p in SAMPLE_PERSONS
    ]


# -- schema names --------------------------------------------------------------------------


def test_the_longest_schema_name_accepted_stores_and_notifies_and_a_longer_one_is_refused(
    pg_url: str,
) -> None:
    base = schema_of(pg_url) + "_"
    longest = pg_url.replace(f"schema={schema_of(pg_url)}", f"schema={base.ljust(54, 'x')}")
    try:
        with EventStore(longest) as store:  # every commit notifies camvault_<schema>
            assert store.insert_event(Event(event_id="one", camera_id="porch"))
        assert raw(longest, "SELECT event_id FROM events") == [("one",)]
    finally:
        drop_schema(longest)
    longer = longest.replace(f"schema={base}", f"schema={base}y")
    try:
        with pytest.raises(InvalidInputError) as caught:
            EventStore(longer).close()
    finally:
        drop_schema(longer)
    assert "schema" in str(caught.value)


# -- 7. the CLI on a PostgreSQL URL ----------------------------------------------------------


def test_cli_query_and_stats_read_a_postgresql_store(pg_url: str) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    person = DetectedObject(label="person", confidence=0.9)
    car = DetectedObject(label="car", confidence=0.7)
    events = [
        Event(event_id="a", camera_id="porch", timestamp=hour + timedelta(minutes=5),
              detected_objects=[person, person]),
        Event(event_id="b", camera_id="porch", timestamp=hour + timedelta(minutes=10),
              detected_objects=[person, car]),
        Event(event_id="c", camera_id="garage", timestamp=hour + timedelta(minutes=70),
              detected_objects=[car]),
    ]  # fmt: skip
    with EventStore(pg_url) as store:
        assert store.insert_events(events).inserted == 3

    found = runner.invoke(app, ["query", "--db", pg_url, "--json", "--label", "person"])
    assert found.exit_code == 0, found.output
    assert [e["event_id"] for e in json.loads(found.stdout)["events"]] == ["b", "a"]
    counted = runner.invoke(
        app, ["stats", "--db", pg_url, "--json", "--bucket", "hour", "--since", "1d"]
    )
    assert counted.exit_code == 0, counted.output
    rows = {(r["start"], r["key"]): r["count"] for r in json.loads(counted.stdout)}
    first, second = hour.isoformat(), (hour + timedelta(hours=1)).isoformat()
    assert rows == {(first, "person"): 2, (first, "car"): 1, (second, "car"): 1}


def test_cli_names_a_bad_url_option_in_one_line(pg_url: str) -> None:
    done = runner.invoke(app, ["stats", "--db", pg_url + "&pool_size=x"])
    assert "pool_size" in one_line_error(done)


def test_cli_says_an_unreachable_server_in_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:1/test?schema=nowhere&connect_timeout=2"
    into = str(tmp_path / "copy.db")
    for command in (["info", "--db", url], ["query", "--db", url], ["copy", url, into]):
        line = one_line_error(runner.invoke(app, command))
        assert "127.0.0.1:1" in line and "s3cret" not in line


# -- 8. counts over all cameras: summed once per statement, exact after every kind of write --

CAMERAS = tuple(f"cam-{c}" for c in range(6))
KINDS = ((), ("person",), ("person", "car", "person"), ("dog", "car"))
"""The detections of event i are KINDS[i % 4]: none, one, a repeated label, two labels."""


def _cell_event(i: int, month: int, hour: int, camera: str, kinds: int | None = None) -> Event:
    """Event i in hour ``hour`` of 2025-``month``-10 at minute i % 60, detecting KINDS[kinds]."""
    labels = KINDS[i % 4 if kinds is None else kinds]
    return Event(
        event_id=f"c{i}",
        camera_id=camera,
        timestamp=datetime(2025, month, 10, hour, i % 60, tzinfo=UTC),
        detected_objects=[DetectedObject(label=label, confidence=0.9) for label in labels],
        person_name="ann" if i % 3 == 0 else None,
    )


def _write_every_way_and_check_counts(url: str, store: EventStore, live: dict[str, Event]) -> None:
    """Insert, upsert, update, delete, purge rows and drop a month, checking every cell.

    ``live`` holds the events stored already and is kept in step by hand; after each step
    the hourly and all-camera counts equal counts computed from it and from the tables.
    """
    # several cameras in the same hours: one all-camera cell sums several hourly rows
    first = [_cell_event(i, 1 + i % 2, i % 4, CAMERAS[i % 3]) for i in range(60)]
    assert store.insert_events(first).inserted == len(first)
    live.update((e.event_id, e) for e in first)
    assert_rollups(url, list(live.values()))

    # one statement that adds to stored hourly rows (UPDATE) and makes new ones (INSERT)
    second = [_cell_event(i, 1 + i % 2, i % 5, CAMERAS[i % 6]) for i in range(60, 120)]
    assert store.insert_events(second).inserted == len(second)
    singles = [_cell_event(i, 2, 3, CAMERAS[5]) for i in range(120, 123)]
    assert all(store.insert_event(e) for e in singles)
    live.update((e.event_id, e) for e in (*second, *singles))
    assert_rollups(url, list(live.values()))

    # new versions move events to other hours, cameras and months, and change their labels
    moved = [
        _cell_event(i, 2 - i % 2, (i + 2) % 6, CAMERAS[(i + 1) % 6], kinds=(i + 1) % 4)
        for i in range(0, 120, 7)
    ]
    assert store.write_group(moved, upserts=[True] * len(moved)) == ["updated"] * len(moved)
    live.update((e.event_id, e) for e in moved)
    change = {"timestamp": datetime(2025, 2, 10, 5, 1, tzinfo=UTC), "camera_id": CAMERAS[4]}
    live["c8"] = live["c8"].model_copy(update=change)
    assert store.update_event("c8", **change) == live["c8"]
    assert store.delete_event("c9")
    del live["c9"]
    assert_rollups(url, list(live.values()))

    # purges of one camera go row by row, in every month
    cut = datetime(2025, 2, 10, 2, 30, 30, tzinfo=UTC)
    gone = [k for k, e in live.items() if e.camera_id == CAMERAS[1] and e.timestamp < cut]
    assert store.purge(older_than=datetime.now(UTC) - cut, camera_id=CAMERAS[1]) == len(gone)
    for key in gone:
        del live[key]
    assert_rollups(url, list(live.values()))

    # a purge before February drops January's partitions with their hourly rows at once
    january = [k for k, e in live.items() if e.timestamp.month == 1]
    february = datetime(2025, 2, 1, tzinfo=UTC)
    assert len(january) > 10
    assert store.purge(older_than=datetime.now(UTC) - february) == len(january)
    assert "events_p2025_01" not in _partitions(url)
    for key in january:
        del live[key]
    assert_rollups(url, list(live.values()))


def test_counts_over_all_cameras_stay_exact_through_every_kind_of_write(pg_url: str) -> None:
    with EventStore(pg_url) as store:
        _write_every_way_and_check_counts(pg_url, store, {})


def test_a_store_counting_all_cameras_per_row_moves_to_per_statement_and_stays_exact(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store of schema v4 (one trigger call per hourly row) gains the statement triggers."""
    shipped = load_migrations("postgresql")
    monkeypatch.setattr(postgresql, "load_migrations", lambda *a: shipped[:4])
    old = {
        e.event_id: e
        for e in (_cell_event(i, 1 + i % 2, i % 3, CAMERAS[i % 4]) for i in range(500, 540))
    }
    with EventStore(pg_url) as store:
        assert store.info()["schema_version"] == 4
        assert store.insert_events(list(old.values())).inserted == len(old)
    assert_rollups(pg_url, list(old.values()))
    monkeypatch.undo()

    with EventStore(pg_url) as store:
        assert store.info()["schema_version"] == len(shipped)
        triggers = raw(
            pg_url,
            "SELECT tgname, tgtype & 1 = 0 AS per_statement FROM pg_trigger "
            "WHERE tgrelid = 'rollup_hourly'::regclass AND NOT tgisinternal ORDER BY tgname",
        )
        assert triggers == [
            ("rollup_all_delete", True),
            ("rollup_all_insert", True),
            ("rollup_all_update", True),
        ]
        assert_rollups(pg_url, list(old.values()))
        _write_every_way_and_check_counts(pg_url, store, old)
