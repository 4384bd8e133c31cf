"""What only the PostgreSQL engine does: thumbnails in the database, size caps, URL options."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image

from camvault import AsyncEventStore, Event, EventStore
from camvault.errors import DatabaseError, InvalidInputError
from camvault.web.app import create_app
from tests.conftest import POSTGRES_URL, drop_schema, postgres_url

needs_server = pytest.mark.skipif(
    POSTGRES_URL is None, reason="set CAMVAULT_TEST_POSTGRES_URL (.ci/run does)"
)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A schema of this test's own with the server's defaults (thumbnails in the database)."""
    files_url = postgres_url(tmp_path)
    yield files_url.replace("thumbnails=files", "thumbnails=database")
    drop_schema(files_url)


def raw(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL in the store's schema on a connection of the test's own (the oracle)."""
    schema = url.rsplit("schema=", 1)[1]
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def picture() -> bytes:
    """A 640 x 480 PNG."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@needs_server
def test_thumbnails_live_in_the_database_and_any_instance_serves_them(
    url: str, tmp_path: Path
) -> None:
    event = Event(camera_id="porch", event_id="e1")
    with EventStore(url) as one, EventStore(url) as two:
        one.insert_event(event)
        assert one.save_thumbnail("e1", picture()) is not None
        assert not one.thumbnails_dir.exists()  # no file anywhere
        [(fmt, data)] = raw(url, "SELECT format, data FROM thumbnails WHERE event_id = 'e1'")
        image = Image.open(io.BytesIO(data))
        assert fmt == "jpeg" and image.format == "JPEG" and max(image.size) <= 640
        assert two.read_thumbnail("e1") == (bytes(data), "jpeg")  # another instance
        assert two.count(has_thumbnail=True) == 1
        assert two.delete_event("e1") is True
        assert raw(url, "SELECT count(*) FROM thumbnails") == [(0,)]
        assert one.read_thumbnail("e1") is None


@needs_server
async def test_a_second_service_serves_a_thumbnail_the_first_stored(url: str) -> None:
    async with AsyncEventStore(url) as first, AsyncEventStore(url) as second:
        await first.insert_event(Event(camera_id="porch", event_id="cam/1"))
        transport = httpx.ASGITransport(app=create_app(first))
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as a:
            put = await a.put("/api/events/cam%2F1/thumbnail", content=picture())
            assert put.status_code == 200
        transport = httpx.ASGITransport(app=create_app(second))
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as b:
            got = await b.get(put.json()["thumbnail_url"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    [(data,)] = raw(url, "SELECT data FROM thumbnails WHERE event_id = 'cam/1'")
    assert got.content == bytes(data)


@needs_server
def test_purging_old_events_removes_their_stored_thumbnails(url: str) -> None:
    old = datetime.now(UTC) - timedelta(days=3)
    with EventStore(url) as store:
        store.insert_events(
            [
                Event(camera_id="c", event_id=f"e{i}", timestamp=old + timedelta(minutes=i))
                for i in range(3)
            ]
        )
        for i in range(3):
            assert store.save_thumbnail(f"e{i}", picture()) is not None
        result = store.purge(timedelta(days=1))
        assert (result.events, result.thumbnails) == (3, 3)
    assert raw(url, "SELECT count(*) FROM thumbnails") == [(0,)]


def row_bytes(url: str) -> int:
    """Bytes of the rows of events and detections (no thumbnails here), by the server."""
    sql = (
        "SELECT (SELECT sum(pg_column_size(e.*)) FROM events e) "
        "+ (SELECT coalesce(sum(pg_column_size(d.*)), 0) FROM detections d)"
    )
    return int(raw(url, sql)[0][0])


@needs_server
def test_a_size_cap_counts_the_rows_and_removes_the_oldest_once(url: str) -> None:
    """On PostgreSQL max_bytes counts stored rows: deleted space is kept for reuse."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = [f"e{i:04d}" for i in range(400)]
    with EventStore(url) as store:
        store.insert_events(
            Event(
                camera_id="cam",
                event_id=event_id,
                timestamp=start + timedelta(minutes=i),
                llm_description="person walks to the door " * 60,
            )
            for i, event_id in enumerate(ids)
        )
        cap = row_bytes(url) // 2
        removed = store.purge(max_bytes=cap).events
        assert 190 <= removed <= 210, removed  # every event is about the same size
        assert row_bytes(url) <= cap * 1.05
        left = [r[0] for r in raw(url, "SELECT event_id FROM events ORDER BY ts")]
        assert left == ids[removed:]  # the oldest went, and only they
        again = store.purge(max_bytes=cap).events
        assert again <= 2, f"a second purge at the same cap removed {again} more"


@needs_server
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pool_size=x", "pool_size"),
        ("pool_size=1", "pool_size"),
        ("statement_timeout=-1", "statement_timeout"),
        ("thumbnails=cloud", "thumbnails"),
        ("schema=Bad-Name", "schema"),
        ("schema=a&schema=b", "schema"),
    ],
)
def test_bad_url_options_name_the_option_and_touch_nothing(query: str, field: str) -> None:
    assert POSTGRES_URL is not None
    with pytest.raises(InvalidInputError) as caught:
        EventStore(f"{POSTGRES_URL}?{query}")
    assert field in caught.value.fields


@needs_server
def test_an_unknown_server_parameter_is_a_clear_error() -> None:
    assert POSTGRES_URL is not None
    with pytest.raises(DatabaseError) as caught:
        EventStore(f"{POSTGRES_URL}?no_such_option=1")
    assert "no_such_option" in str(caught.value) and "pool_size" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (
            "postgresql://cam:s3cret@db.lan:5432/events?schema=x",
            "postgresql://cam:***@db.lan:5432/events?schema=x",
        ),
        ("postgresql://cam@db.lan/events", "postgresql://cam@db.lan/events"),
        ("events.db", "events.db"),
    ],
)
def test_printed_urls_never_show_a_password(given: str, shown: str) -> None:
    from camvault.backends import redacted

    assert redacted(given) == shown


@needs_server
def test_a_bulk_load_is_followed_by_fresh_planner_statistics(url: str) -> None:
    """After ANALYZE_AFTER events the store runs ANALYZE: reltuples leaves -1 (never analyzed)."""
    from camvault.backends.postgresql import ANALYZE_AFTER

    start = datetime(2026, 3, 1, tzinfo=UTC)
    sql = (
        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = 'events_p2026_03'"
    )
    schema = url.rsplit("schema=", 1)[1]
    with EventStore(url) as store:
        store.insert_events(
            Event(camera_id="c", event_id=f"e{i}", timestamp=start + timedelta(seconds=i))
            for i in range(ANALYZE_AFTER - 1)
        )
        assert raw(url, sql, (schema,)) == [(-1.0,)]  # not yet
        store.insert_event(Event(camera_id="c", event_id="last", timestamp=start))
        deadline = time.monotonic() + 60
        while raw(url, sql, (schema,))[0][0] < ANALYZE_AFTER * 0.9:
            assert time.monotonic() < deadline, "no ANALYZE after the bulk load"
            time.sleep(0.05)


@needs_server
async def test_async_inserts_and_reads_are_awaited_without_a_thread(url: str) -> None:
    """The async store awaits psycopg's asyncio connections: no worker thread is started."""

    def workers() -> set[str]:
        return {t.name for t in threading.enumerate() if t.name.startswith("camvault-")}

    before = workers()
    async with AsyncEventStore(url) as astore:
        stored = await asyncio.gather(
            *(astore.insert_event(Event(camera_id="c", event_id=f"e{i}")) for i in range(20))
        )
        assert stored == [True] * 20
        pages = await asyncio.gather(*(astore.query(limit=5) for _ in range(10)))
        assert all(len(page.events) == 5 for page in pages)
        assert await astore.count() == 20
        found = await astore.get_event("e3")
        assert found is not None and found.camera_id == "c"
        started = {name for name in workers() - before if not name.startswith("camvault-watch")}
        assert not {n for n in started if "read" in n or "writer" in n}, started
    assert raw(url, "SELECT count(*) FROM events") == [(20,)]


@needs_server
def test_a_store_keeps_to_its_schema(url: str) -> None:
    """Every table lands in the URL's schema, none in public (search_path is set per session)."""
    schema = url.rsplit("schema=", 1)[1]
    with EventStore(url) as store:
        store.insert_event(Event(camera_id="c"))
        sql = (
            "SELECT n.nspname, count(*) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relname IN ('events', 'event_ids', 'detections', "
            "'rollup_hourly', 'schema_migrations') AND n.nspname IN (%s, 'public') GROUP BY 1"
        )
        assert dict(raw(url, sql, (schema,))) == {schema: 5}


@needs_server
def test_a_read_only_server_serves_reads_and_refuses_writes_clearly(url: str) -> None:
    """A replica: reads work (no partition can be made ahead), writes say where to go."""
    with EventStore(url) as store:
        store.insert_event(Event(camera_id="c", event_id="e1"))
    now = datetime.now(UTC)
    ahead = now.year * 12 + now.month + 1  # the month after next, created ahead: drop it
    name = f"p{ahead // 12:04d}_{ahead % 12 + 1:02d}"
    raw(url, f"DROP TABLE events_{name}, detections_{name}")
    read_only = url + "&options=-c%20default_transaction_read_only%3Don"
    with EventStore(read_only) as replica:
        assert [e.event_id for e in replica.query().events] == ["e1"]
        with pytest.raises(DatabaseError) as caught:
            replica.insert_event(Event(camera_id="c", event_id="e2"))
        assert "only allows reads" in str(caught.value) and "primary" in str(caught.value)
    assert raw(url, "SELECT event_id FROM events") == [("e1",)]


@needs_server
def test_a_missing_database_says_to_create_it() -> None:
    assert POSTGRES_URL is not None
    base = POSTGRES_URL.split("?", 1)[0].rsplit("/", 1)[0]
    with pytest.raises(DatabaseError) as caught:
        EventStore(f"{base}/no_such_camvault_db")
    assert "no database 'no_such_camvault_db'" in str(caught.value)
    assert "createdb no_such_camvault_db" in str(caught.value)


@needs_server
def test_a_timeout_under_a_millisecond_still_limits(url: str) -> None:
    """0 means no limit; 0.0004 s must not round to it: creating the schema takes longer."""
    with pytest.raises(DatabaseError) as caught:
        EventStore(url + "&statement_timeout=0.0004")
    assert "statement_timeout" in str(caught.value)
