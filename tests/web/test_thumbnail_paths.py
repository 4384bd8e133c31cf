"""Thumbnails are served and deleted only inside the thumbnail folder, symlinks resolved.

A symlink inside the folder (a camera folder pointing elsewhere) or a ``..`` in a stored
path must never make camvault send or delete a file that lies outside it.
"""

from __future__ import annotations

import io
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
from PIL import Image

from camvault import AsyncEventStore
from camvault.models import utcnow

CAMERA = "porch"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


async def _with_thumbnail(
    client: httpx.AsyncClient, event_id: str, age: timedelta = timedelta(0)
) -> None:
    event = {"event_id": event_id, "camera_id": CAMERA, "timestamp": (utcnow() - age).isoformat()}
    assert (await client.post("/api/events", json=event)).status_code == 200
    put = await client.put(f"/api/events/{event_id}/thumbnail", content=_jpeg())
    assert put.status_code == 200, put.text
    assert (await client.get(f"/api/events/{event_id}/thumbnail")).status_code == 200


def _camera_folder_elsewhere(root: Path, outside: Path) -> list[Path]:
    """Move the camera's folder out of ``root`` and leave a symlink to it in its place."""
    shutil.move(root / CAMERA, outside / CAMERA)
    (root / CAMERA).symlink_to(outside / CAMERA, target_is_directory=True)
    files = sorted((outside / CAMERA).rglob("*.jpg"))
    assert files
    return files


async def test_a_symlinked_folder_is_neither_served_nor_emptied(
    client: httpx.AsyncClient, astore: AsyncEventStore, tmp_path: Path
) -> None:
    await _with_thumbnail(client, "linked")
    outside = tmp_path / "outside"
    outside.mkdir()
    files = _camera_folder_elsewhere(astore.store.thumbnails_dir, outside)
    assert (await client.get("/api/events/linked/thumbnail")).status_code == 404
    assert (await client.delete("/api/events/linked")).status_code == 204
    assert all(f.read_bytes()[:2] == b"\xff\xd8" for f in files)  # still there, untouched


async def test_purge_leaves_files_behind_a_symlink(
    client: httpx.AsyncClient, astore: AsyncEventStore, tmp_path: Path
) -> None:
    await _with_thumbnail(client, "old", age=timedelta(days=30))
    outside = tmp_path / "outside"
    outside.mkdir()
    files = _camera_folder_elsewhere(astore.store.thumbnails_dir, outside)
    result = await astore.purge(older_than=timedelta(days=7))
    assert result.events == 1
    assert all(f.exists() for f in files)


async def test_a_dotted_path_to_a_file_outside_is_never_used(
    client: httpx.AsyncClient, astore: AsyncEventStore, tmp_path: Path
) -> None:
    await _with_thumbnail(client, "real")  # makes the camera's dated folder
    victim = tmp_path / "outside.jpg"
    victim.write_bytes(_jpeg())
    made = next(astore.store.thumbnails_dir.joinpath(CAMERA).iterdir())
    escaping = f"{made}/sub/../../../../outside.jpg"
    assert Path(escaping).resolve() == victim.resolve()
    month_ago = (utcnow() - timedelta(days=30)).isoformat()
    for event_id, timestamp in [("deleted", utcnow().isoformat()), ("purged", month_ago)]:
        event = {
            "event_id": event_id,
            "camera_id": CAMERA,
            "timestamp": timestamp,
            "thumbnail_path": escaping,
        }
        assert (await client.post("/api/events", json=event)).status_code == 200
        assert (await client.get(f"/api/events/{event_id}/thumbnail")).status_code == 404
        assert (await client.get(f"/api/events/{event_id}")).json()["thumbnail_url"] is None
    assert (await client.delete("/api/events/deleted")).status_code == 204
    assert (await astore.purge(older_than=timedelta(days=7))).events == 1
    assert victim.read_bytes()[:2] == b"\xff\xd8"
