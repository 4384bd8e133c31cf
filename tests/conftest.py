"""Fixtures shared by every test level: a fresh store on each engine, real temporary files.

The conformance suite (behaviour and oracle tests) opens its stores from ``store_url``,
parametrized by :data:`ENGINE_URLS`: a new engine adds one entry there. Tests of one
engine's own machinery (WAL, locks, pragmas) use ``db_path``, a SQLite file.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from camvault import AsyncEventStore, DetectedObject, Event, EventStore

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

settings.register_profile("camvault", derandomize=True, deadline=None)
settings.load_profile("camvault")
"""Every property test draws the same examples on every run (and on every xdist worker): a
failure seen once is seen again. A test's own ``@settings`` or ``@seed`` still applies."""

POSTGRES_URL = os.environ.get("CAMVAULT_TEST_POSTGRES_URL") or None
"""The shared PostgreSQL server of the tests (set by .ci/run); its tests skip without it."""

_schemas: set[str] = set()
"""PostgreSQL schemas made for tests and not dropped yet."""


def postgres_url(folder: Path) -> str:
    """Return the URL of a PostgreSQL schema of its own for a scratch folder."""
    assert POSTGRES_URL is not None
    name = "t_" + hashlib.blake2b(str(folder).encode(), digest_size=8).hexdigest()
    _schemas.add(name)
    joiner = "&" if "?" in POSTGRES_URL else "?"
    files = f"thumbnails=files&thumbnails_dir={folder / 'thumbnails'}"  # checked on disk
    return f"{POSTGRES_URL}{joiner}{files}&schema={name}"


def drop_schema(url: str) -> None:
    """Drop the PostgreSQL schema of a test URL (and everything in it)."""
    import psycopg

    name = url.rsplit("schema=", 1)[1]
    assert POSTGRES_URL is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    _schemas.discard(name)


ENGINE_URLS: dict[str, Callable[[Path], str]] = {
    "sqlite": lambda folder: f"sqlite:///{folder / 'events.db'}",
}
"""Engine name -> a function giving the URL of a fresh, empty database for a scratch folder."""
if POSTGRES_URL:
    ENGINE_URLS["postgresql"] = postgres_url


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_schemas() -> Iterator[None]:
    """Drop the PostgreSQL schemas that wider-scoped fixtures made, once the run ends."""
    yield
    for name in list(_schemas):
        drop_schema(f"?schema={name}")


@pytest.fixture(params=sorted(ENGINE_URLS), scope="session")
def engine(request: pytest.FixtureRequest) -> str:
    """The engine the conformance suite runs on (every test runs once per engine)."""
    return str(request.param)


@pytest.fixture
def store_url(engine: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of ``engine`` that this test owns (dropped after it)."""
    url = ENGINE_URLS[engine](tmp_path)
    yield url
    if engine == "postgresql":
        drop_schema(url)


def raw_connection(store: Any) -> Any:
    """Open a connection of the test's own to a store's database (an oracle beside the store).

    Its ``execute(sql).fetchall()`` runs plain SQL (no parameters) on either engine.
    """
    info = store.info()
    if info["engine"] == "sqlite":
        import apsw

        return apsw.Connection(info["path"])
    import psycopg

    assert POSTGRES_URL is not None
    conn = psycopg.connect(POSTGRES_URL, autocommit=True)
    conn.execute(f'SET search_path = "{info["schema"]}"')
    return conn


def settle(store: Any) -> None:
    """Let SQLite count and index now what its background would within a second (as close()
    does), so that a test reading the rollup and index tables finds every event there."""
    if store.info()["engine"] == "sqlite":
        store._backend._settle_all()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database lives."""
    return tmp_path / "events.db"


@pytest.fixture
def fresh_store(store_url: str) -> Iterator[EventStore]:
    """An empty store on each engine, closed after the test."""
    store = EventStore(store_url)
    yield store
    store.close()


class SyncOverAsync:
    """Drive an AsyncEventStore from sync test code: each call is awaited on a loop thread.

    It lets one test body check the same behaviour through both APIs.
    """

    def __init__(self, url: str | Path, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.astore = AsyncEventStore(url, **options)
        self._run(self.astore.initialize())

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.astore, name, None)
        if attr is not None and inspect.iscoroutinefunction(attr):
            return lambda *a, **kw: self._run(attr(*a, **kw))
        if attr is not None:
            return attr
        return getattr(self.astore.store, name)  # plain attributes: thumbnails_dir, ...

    def close(self) -> None:
        self._run(self.astore.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@pytest.fixture(params=["sync", "async"])
def api_store(request: pytest.FixtureRequest, store_url: str) -> Iterator[Any]:
    """An empty store, once through EventStore and once through AsyncEventStore."""
    store: Any = EventStore(store_url) if request.param == "sync" else SyncOverAsync(store_url)
    yield store
    store.close()


@pytest.fixture
def make_event() -> Callable[..., Event]:
    """Build a valid event; keyword arguments override its fields."""
    counter = iter(range(1_000_000))

    def build(**overrides: Any) -> Event:
        n = next(counter)
        fields: dict[str, Any] = {
            "camera_id": "front-door",
            "timestamp": T0 + timedelta(seconds=n),
            "motion_confidence": 0.8,
            "detected_objects": [
                DetectedObject(label="person", confidence=0.91, bbox=(0.1, 0.2, 0.3, 0.6))
            ],
            "llm_description": "A person walks up to the door.",
        }
        fields.update(overrides)
        return Event(**fields)

    return build
