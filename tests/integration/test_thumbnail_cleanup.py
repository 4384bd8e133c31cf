"""A thumbnail whose event cannot be updated is removed again: no orphan file is left.

The database refuses the update because another process (a child) holds the write lock.
"""

from __future__ import annotations

import io
from pathlib import Path

import apsw
import httpx
from PIL import Image

from camvault import AsyncEventStore, Event, EventStore
from camvault.backends import SQLiteOptions
from camvault.web import create_app
from tests.small_disk import files_under

from .conftest import HOLD_LOCK, popen_child


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def _recorded(db: Path, event_id: str) -> object:
    """The event's thumbnail_path as plain SQL on a connection of the test's own sees it."""
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        sql = f"SELECT thumbnail_path FROM events WHERE event_id = '{event_id}'"
        return conn.execute(sql).fetchall()[0][0]
    finally:
        conn.close()


def _release(proc: object, lines: object) -> None:
    proc.stdin.write("release\n")  # type: ignore[attr-defined]
    proc.stdin.flush()  # type: ignore[attr-defined]
    lines.expect("released")  # type: ignore[attr-defined]


def test_a_thumbnail_that_cannot_be_recorded_is_removed(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with EventStore(db, options=SQLiteOptions(busy_timeout=0.2)) as store:
        store.insert_event(Event(event_id="e1", camera_id="porch"))
        folder = store.thumbnails_dir
        err = tmp_path / "child.err"
        with popen_child(HOLD_LOCK, [str(db)], stderr_path=err, stdin=True) as (proc, lines):
            lines.expect("locked")
            assert store.save_thumbnail("e1", _jpeg()) is None
            assert not folder.exists() or files_under(folder) == {}
            _release(proc, lines)
        assert _recorded(db, "e1") is None
        # the same thumbnail is stored and recorded once the database takes writes again
        path = store.save_thumbnail("e1", _jpeg())
        assert path is not None and path.is_file()
        assert _recorded(db, "e1") == str(path)
        assert list(files_under(folder)) == [str(path.relative_to(folder))]


async def test_an_upload_the_database_cannot_record_is_503_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    db = tmp_path / "events.db"
    async with AsyncEventStore(db, options=SQLiteOptions(busy_timeout=0.2)) as astore:
        await astore.insert_event(Event(event_id="e1", camera_id="porch"))
        app = create_app(astore)
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            err = tmp_path / "child.err"
            with popen_child(HOLD_LOCK, [str(db)], stderr_path=err, stdin=True) as (
                proc,
                lines,
            ):
                lines.expect("locked")
                r = await client.put("/api/events/e1/thumbnail", content=_jpeg())
                assert r.status_code == 503, r.text
                assert int(r.headers["retry-after"]) >= 1
                assert "locked" in r.json()["detail"]
                _release(proc, lines)
            folder = astore.store.thumbnails_dir
            assert not folder.exists() or files_under(folder) == {}
            assert _recorded(db, "e1") is None
            # not an image at all is still the client's mistake
            bad = await client.put("/api/events/e1/thumbnail", content=b"not an image")
            assert bad.status_code == 422 and "image" in bad.text
