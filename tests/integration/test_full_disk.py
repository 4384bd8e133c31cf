"""A real full file system (a small tmpfs) under thumbnails and under an export.

Either way the error names the path and says what to do, no half-written file is left
behind, and the store stays as it was.
"""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import apsw
import httpx
import pytest
from PIL import Image

from camvault import AsyncEventStore, DatabaseWriteError, Event, EventStore
from camvault.web import create_app
from tests.small_disk import files_under, fill, small_filesystem

from .conftest import CHILD_TIMEOUT, PYTHON, child_env, run_cli


def _noise_jpeg(seed: int) -> bytes:
    """A JPEG of random pixels: it does not compress, so it needs real room on disk."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (320, 240), rng.randbytes(320 * 240 * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return out.getvalue()


def _sql(db: Path, query: str) -> list[tuple[object, ...]]:
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return [tuple(r) for r in conn.execute(query).fetchall()]
    finally:
        conn.close()


def test_a_thumbnail_on_a_full_disk_names_the_path_and_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with (
        small_filesystem(tmp_path / "thumbs", "1m") as disk,
        EventStore(db, thumbnails_dir=disk) as store,
    ):
        store.insert_events([Event(event_id=f"e{i}", camera_id="porch") for i in (1, 2)])
        first = store.set_thumbnail("e1", _noise_jpeg(1))
        assert first is not None
        kept = first.read_bytes()
        filler = fill(disk)
        before = files_under(disk)

        with pytest.raises(DatabaseWriteError) as caught:
            store.set_thumbnail("e2", _noise_jpeg(2))
        message = str(caught.value)
        assert str(disk / "porch") in message and "e2.jpg" in message, message
        assert "No space left on device" in message and "free space" in message
        assert store.save_thumbnail("e2", _noise_jpeg(2)) is None  # the forgiving form

        assert files_under(disk) == before  # no temporary or partial file
        assert first.read_bytes() == kept
        rows = _sql(db, "SELECT event_id, thumbnail_path FROM events ORDER BY event_id")
        assert rows == [("e1", str(first)), ("e2", None)]

        filler.unlink()  # room again: the same call works
        second = store.set_thumbnail("e2", _noise_jpeg(2))
        assert second is not None and second.is_file()
        assert _sql(db, "SELECT thumbnail_path FROM events WHERE event_id = 'e2'") == [
            (str(second),)
        ]


async def test_a_thumbnail_upload_on_a_full_disk_is_507(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    with small_filesystem(tmp_path / "thumbs", "1m") as disk:
        async with AsyncEventStore(db, thumbnails_dir=disk) as astore:
            await astore.insert_event(Event(event_id="e1", camera_id="porch"))
            transport = httpx.ASGITransport(create_app(astore))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                filler = fill(disk)
                r = await client.put("/api/events/e1/thumbnail", content=_noise_jpeg(3))
                assert r.status_code == 507, r.text
                assert "No space left on device" in r.json()["detail"]
                assert list(files_under(disk)) == [filler.name]
                assert _sql(db, "SELECT thumbnail_path FROM events") == [(None,)]


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose export (in any format) is larger than the small disk."""
    db = tmp_path_factory.mktemp("export") / "events.db"
    rng = random.Random(11)
    events = [
        Event(event_id=f"ev-{i:05d}", camera_id="porch", llm_description=rng.randbytes(1000).hex())
        for i in range(3000)
    ]
    with EventStore(db) as store:
        assert store.insert_events(events).inserted == 3000
    return db


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.parquet"])
def test_an_export_to_a_full_disk_fails_cleanly(big_store: Path, tmp_path: Path, name: str) -> None:
    before = _sql(big_store, "SELECT count(*), sum(length(llm_description)) FROM events")
    with small_filesystem(tmp_path / "small", "1m") as disk:
        dest = disk / name
        dest.write_bytes(b"the previous export")
        done = run_cli("export", str(dest), "--db", str(big_store))
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        error = done.stderr.strip().splitlines()[-1]
        assert error.startswith(f"error: invalid export: dest: cannot write {dest}: "), error
        assert "No space left on device" in error and "nothing was written" in error
        # no half-written file, and the file that was there is kept as it was
        assert files_under(disk) == {name: len(b"the previous export")}
        assert dest.read_bytes() == b"the previous export"
    assert _sql(big_store, "SELECT count(*), sum(length(llm_description)) FROM events") == before
    assert _sql(big_store, "PRAGMA integrity_check") == [("ok",)]


def test_an_export_to_stdout_on_a_full_disk_is_one_line(big_store: Path, tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "small", "1m") as disk, (disk / "o.jsonl").open("w") as out:
        done = subprocess.run(
            [PYTHON, "-m", "camvault", "export", "-", "--db", str(big_store)],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(COLUMNS="300"),
            timeout=CHILD_TIMEOUT,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        "error: cannot write to standard output: No space left on device; free space where it "
        "goes, or give a file name instead of -"
    )
