"""Database trouble over HTTP: a locked database is 503 + Retry-After, a full one 507.

The lock is held by another process (a child in BEGIN IMMEDIATE); the full disk is a real
small file system. Either way the answer says what happened and nothing is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import apsw
import httpx

from camvault import AsyncEventStore
from camvault.backends import SQLiteOptions
from camvault.web import create_app
from tests.small_disk import fill, small_filesystem

from .conftest import HOLD_LOCK, popen_child

SEED = {"event_id": "seed", "camera_id": "porch", "llm_description": "before"}


def _rows(db: Path) -> list[tuple[object, ...]]:
    """Events and persons as plain SQL on a connection of the test's own sees them."""
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        sql = "SELECT event_id, llm_description, retain FROM events ORDER BY event_id"
        persons = "SELECT 'person', name, authorized FROM persons ORDER BY name"
        return [tuple(r) for q in (sql, persons) for r in conn.execute(q).fetchall()]
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def served(db: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The web app over a store at ``db`` that waits 0.2 s for a lock, closed on the way out."""
    async with AsyncEventStore(db, options=SQLiteOptions(busy_timeout=0.2)) as astore:
        transport = httpx.ASGITransport(create_app(astore))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


WRITES = [
    ("POST", "/api/events", {"event_id": "new", "camera_id": "porch"}),
    ("POST", "/api/events", [{"event_id": "a", "camera_id": "p"}, {"camera_id": ""}]),
    ("PATCH", "/api/events/seed", {"llm_description": "changed", "retain": True}),
    ("DELETE", "/api/events/seed", None),
    ("PUT", "/api/persons/alice", {"authorized": True}),
]


async def test_a_locked_database_is_503_with_retry_after(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    async with served(db) as client:
        assert (await client.post("/api/events", json=SEED)).status_code == 200
        before = _rows(db)
        err = tmp_path / "child.err"
        with popen_child(HOLD_LOCK, [str(db)], stderr_path=err, stdin=True) as (proc, lines):
            lines.expect("locked")
            for method, path, body in WRITES:
                r = await client.request(method, path, json=body)
                assert r.status_code == 503, (method, path, r.status_code, r.text)
                assert int(r.headers["retry-after"]) >= 1
                assert "locked" in r.json()["detail"], r.text
            # reads do not wait behind the other process's lock
            assert (await client.get("/api/events/seed")).status_code == 200
            assert proc.stdin is not None
            proc.stdin.write("release\n")
            proc.stdin.flush()
            lines.expect("released")
        assert _rows(db) == before
        # once the lock is gone the same write goes through
        assert (await client.post("/api/events", json=WRITES[0][2])).status_code == 200


async def test_a_full_disk_is_507_saying_so_and_writes_nothing(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "2m") as disk:
        db = disk / "events.db"
        async with served(db) as client:
            assert (await client.post("/api/events", json=SEED)).status_code == 200
            before = _rows(db)
            filler = fill(disk)
            big = "a long description " * 5_000  # 95 kB: needs pages the disk no longer has
            one = {"event_id": "new", "camera_id": "p", "llm_description": big}
            writes = [
                ("POST", "/api/events", one),
                ("POST", "/api/events", [{"camera_id": "p", "llm_description": big}] * 2),
                ("PATCH", "/api/events/seed", {"llm_description": big, "retain": True}),
            ]
            for method, path, body in writes:
                r = await client.request(method, path, json=body)
                assert r.status_code == 507, (method, path, r.status_code, r.text[:300])
                assert "disk is full" in r.json()["detail"], r.text[:300]
            assert _rows(db) == before
            filler.unlink()
            again = await client.post("/api/events", json=one)
            assert again.status_code == 200, again.text[:300]
