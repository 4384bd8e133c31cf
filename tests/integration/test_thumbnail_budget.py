"""Thumbnails decode within a pixel budget, two at a time, on threads queries never wait for."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import httpx
import pytest
from PIL import Image, ImageDraw

from camvault import AsyncEventStore, Event, EventStore, thumbnails
from camvault.web import create_app

MIB = 1024 * 1024

# A child process stores one thumbnail per thread and reports its peak memory: VmHWM is
# reset (clear_refs 5) once the store is open and warm, so the peak is the saving alone.
CHILD = """
import json, sys, threading
from pathlib import Path
from camvault import Event, EventStore

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

db, image, threads = sys.argv[1], Path(sys.argv[2]).read_bytes(), int(sys.argv[3])
store = EventStore(db)
events = [Event(camera_id="cam") for _ in range(threads + 1)]
store.insert_events(events)
store.save_thumbnail(events[-1].event_id, Path(sys.argv[4]).read_bytes())  # warm up
before = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")
paths = {}
def save(ev):
    paths[ev.event_id] = store.save_thumbnail(ev.event_id, image)
workers = [threading.Thread(target=save, args=(ev,)) for ev in events[:threads]]
for w in workers: w.start()
for w in workers: w.join()
print(json.dumps({
    "rise": status("VmHWM") - before,
    "kept": status("VmRSS") - before,
    "paths": {k: None if v is None else str(v) for k, v in paths.items()},
}))
store.close()
"""


def _picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture that compresses well (lines on a flat colour), like a mostly still frame."""
    img = Image.new(mode, size, (30, 60, 90, 255)[: len(mode)])
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], 50):
        draw.line((0, y, size[0], size[1] - y), fill=(200, 10, 10, 255)[: len(mode)], width=3)
    return img


def _encoded(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test images as files: made once, by Pillow, in this process."""
    folder = tmp_path_factory.mktemp("images")
    big = _picture((7000, 7000))
    made = {
        "png_7000": _encoded(big, "PNG"),
        "jpeg_7000": _encoded(big, "JPEG"),
        "rgba_4k": _encoded(_picture((3840, 2160), "RGBA"), "PNG"),
        "small": _encoded(_picture((64, 48)), "PNG"),
    }
    del big
    paths = {}
    for name, data in made.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def _child(tmp_path: Path, images: dict[str, Path], name: str, threads: int = 1) -> Any:
    """Store ``images[name]`` from ``threads`` threads in a child; its memory report."""
    db = tmp_path / "events.db"
    args = [str(db), str(images[name]), str(threads), str(images["small"])]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    conn = apsw.Connection(str(db))
    report["recorded"] = {
        row[0]: row[1]
        for row in conn.execute("SELECT event_id, thumbnail_path FROM events").fetchall()
    }
    return report


def test_a_7000_square_jpeg_is_decoded_reduced(tmp_path: Path, images: dict[str, Path]) -> None:
    report = _child(tmp_path, images, "jpeg_7000")
    [(event_id, path)] = report["paths"].items()
    assert report["recorded"][event_id] == path  # read back by plain SQL
    with Image.open(path) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (640, 640)
    # full size it is 7000 x 7000 x 4 bytes = 187 MiB; at 1/8 scale, 3 MiB
    assert report["rise"] < 32 * MIB, report
    assert report["kept"] < 16 * MIB, report


def test_a_7000_square_png_is_refused_undecoded(tmp_path: Path, images: dict[str, Path]) -> None:
    assert images["png_7000"].stat().st_size < 2 * MIB  # small file, huge image
    report = _child(tmp_path, images, "png_7000")
    [(event_id, path)] = report["paths"].items()
    assert path is None
    assert report["recorded"][event_id] is None
    assert not list((tmp_path / "events-thumbnails").rglob(f"{event_id}*"))
    assert report["rise"] < 16 * MIB, report


def test_eight_decodes_at_once_stay_within_two_budgets(
    tmp_path: Path, images: dict[str, Path]
) -> None:
    report = _child(tmp_path, images, "rgba_4k", threads=8)
    assert len(report["paths"]) == 8
    for event_id, path in report["paths"].items():
        assert path is not None and report["recorded"][event_id] == path
        with Image.open(path) as thumb:
            assert thumb.size == (640, 360)
    # one RGBA 4K frame: 32 MiB decoded, 32 MiB as RGB, and the shrinking; two at a time
    assert report["rise"] < 2 * 3 * 4 * thumbnails.MAX_DECODED_PIXELS + 32 * MIB, report
    assert report["kept"] < 32 * MIB, report


async def test_an_image_over_the_pixel_budget_is_a_422_naming_the_body(
    tmp_path: Path, images: dict[str, Path]
) -> None:
    db = tmp_path / "events.db"
    ev = Event(camera_id="cam")
    async with AsyncEventStore(db) as astore:
        await astore.insert_event(ev)
        app = create_app(astore)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://test"
        ) as client:
            url = f"/api/events/{ev.event_id}/thumbnail"
            r = await client.put(url, content=images["png_7000"].read_bytes())
    assert r.status_code == 422
    [problem] = r.json()["detail"]
    assert problem["field"] == "body"
    assert "7000x7000" in problem["message"]
    assert f"{thumbnails.MAX_DECODED_PIXELS:,}" in problem["message"]
    rows = apsw.Connection(str(db)).execute("SELECT thumbnail_path FROM events").fetchall()
    assert rows == [(None,)]


class Gate:
    """Holds every decode at its shrinking step until opened; counts those inside."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def __call__(self, img: Image.Image) -> Image.Image:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            assert self.opened.wait(60), "the gate was never opened"
            return shrink(img)
        finally:
            with self.lock:
                self.inside -= 1

    def wait_inside(self, n: int) -> None:
        deadline = time.monotonic() + 30
        while self.inside < n:
            assert time.monotonic() < deadline, f"{self.inside} decodes started, not {n}"
            time.sleep(0.01)


shrink = thumbnails._shrink


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    held = Gate()
    monkeypatch.setattr(thumbnails, "_shrink", held)
    yield held
    held.opened.set()


async def test_queries_answer_while_uploads_decode(
    tmp_path: Path, images: dict[str, Path], gate: Gate
) -> None:
    events = [Event(camera_id="cam") for _ in range(8)]
    small = images["small"].read_bytes()
    async with AsyncEventStore(tmp_path / "events.db", read_threads=2) as astore:
        await astore.insert_events(events)
        app = create_app(astore)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://test"
        ) as client:
            uploads = [
                asyncio.create_task(
                    client.put(f"/api/events/{ev.event_id}/thumbnail", content=small)
                )
                for ev in events
            ]
            await asyncio.to_thread(gate.wait_inside, thumbnails.MAX_DECODES)
            # every reader would be taken if decoding ran on them: this would never answer
            r = await asyncio.wait_for(client.get("/api/events?limit=100"), 30)
            assert r.status_code == 200
            assert {e["event_id"] for e in r.json()["events"]} == {e.event_id for e in events}
            assert not any(u.done() for u in uploads)
            gate.opened.set()
            answers = await asyncio.gather(*uploads)
    assert [a.status_code for a in answers] == [200] * len(events)
    assert gate.most == thumbnails.MAX_DECODES
    rows = apsw.Connection(str(tmp_path / "events.db")).execute(
        "SELECT count(*) FROM events WHERE thumbnail_path IS NOT NULL"
    )
    assert rows.fetchall() == [(len(events),)]


def test_threads_of_the_sync_store_decode_two_at_a_time(
    tmp_path: Path, images: dict[str, Path], gate: Gate
) -> None:
    events = [Event(camera_id="cam") for _ in range(6)]
    small = images["small"].read_bytes()
    with EventStore(tmp_path / "events.db") as store:
        store.insert_events(events)
        paths: list[Path | None] = []
        workers = [
            threading.Thread(
                target=lambda e=ev: paths.append(store.save_thumbnail(e.event_id, small))
            )
            for ev in events
        ]
        for w in workers:
            w.start()
        gate.wait_inside(thumbnails.MAX_DECODES)
        assert gate.inside == thumbnails.MAX_DECODES  # the others wait their turn
        gate.opened.set()
        for w in workers:
            w.join()
    assert gate.most == thumbnails.MAX_DECODES
    assert len(paths) == len(events) and all(p is not None and p.is_file() for p in paths)
