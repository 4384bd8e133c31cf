"""Thumbnails: any image in, a bounded JPEG out in a safe sharded folder; failures never raise."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from camvault import Event, EventStore
from camvault.thumbnails import MAX_SIDE, safe_component, thumbnail_path

MakeEvent = Callable[..., Event]


def png_bytes(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: png_bytes((1920, 1080)), id="bytes"),
        pytest.param(lambda: Image.new("RGBA", (1080, 1920), (1, 2, 3, 128)), id="pil-rgba"),
        pytest.param(lambda: np.zeros((720, 1280, 3), dtype=np.uint8), id="numpy-rgb"),
        pytest.param(lambda: np.full((480, 640), 128, dtype=np.uint8), id="numpy-gray"),
        pytest.param(lambda: np.zeros((100, 50, 4), dtype=np.uint8), id="numpy-rgba-small"),
    ],
)
def test_image_kinds_become_bounded_jpegs(
    api_store: Any, make_event: MakeEvent, image: Callable[[], object]
) -> None:
    ev = make_event()
    api_store.insert_event(ev)
    path = api_store.save_thumbnail(ev.event_id, image())
    assert path is not None and path.is_file()
    with Image.open(path) as img:
        assert img.format == "JPEG"
        assert max(img.size) <= MAX_SIDE
    stored = api_store.get_event(ev.event_id)
    assert stored is not None and stored.thumbnail_path == str(path)
    expected_dir = api_store.thumbnails_dir / "front-door" / ev.timestamp.strftime("%Y-%m-%d")
    assert path.parent == expected_dir
    assert path.stat().st_size < 200_000


def test_webp_and_bgr_arrays(api_store: Any, make_event: MakeEvent) -> None:
    ev = make_event()
    api_store.insert_event(ev)
    frame = np.zeros((64, 64, 3), dtype=np.uint8)
    frame[:, :, 0] = 255  # pure blue in OpenCV's BGR order
    path = api_store.save_thumbnail(ev.event_id, frame, fmt="webp", bgr=True)
    assert path is not None and path.suffix == ".webp"
    with Image.open(path) as img:
        r, _g, b = img.convert("RGB").getpixel((32, 32))  # type: ignore[misc]
    assert b > 200 and r < 50


@pytest.mark.parametrize(
    "bad",
    [
        b"definitely not an image",
        b"",
        "a string",
        np.zeros((10, 10, 3), dtype=np.float32),
        np.zeros((10, 10, 2), dtype=np.uint8),
        np.zeros((2, 2, 2, 2), dtype=np.uint8),
        None,
    ],
)
def test_bad_images_are_logged_and_leave_the_event_alone(
    api_store: Any,
    make_event: MakeEvent,
    bad: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ev = make_event()
    api_store.insert_event(ev)
    with caplog.at_level(logging.WARNING, logger="camvault"):
        assert api_store.save_thumbnail(ev.event_id, bad) is None
    assert ev.event_id in caplog.text
    assert api_store.get_event(ev.event_id) == ev
    assert not api_store.thumbnails_dir.exists() or not any(
        p.is_file() for p in api_store.thumbnails_dir.rglob("*")
    )


def test_unknown_event_returns_none(api_store: Any) -> None:
    assert api_store.save_thumbnail("missing", png_bytes((10, 10))) is None


def test_unwritable_thumbnail_folder_returns_none(
    store_url: str, make_event: MakeEvent, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the folder should be")
    with EventStore(store_url, thumbnails_dir=blocker) as store:
        ev = make_event()
        store.insert_event(ev)
        assert store.save_thumbnail(ev.event_id, png_bytes((10, 10))) is None
        assert store.get_event(ev.event_id) == ev
        assert store.insert_event(make_event())  # the store keeps working


@pytest.mark.parametrize(
    ("camera_id", "event_id"),
    [
        ("../../etc", "../../passwd"),
        ("..", ".."),
        ("/abs/path", "/x"),
        ("C:\\windows", "a\\b"),
        ("cam", "." * 60),
    ],
)
def test_no_id_can_escape_the_thumbnails_folder(
    api_store: Any, camera_id: str, event_id: str
) -> None:
    ev = Event(camera_id=camera_id, event_id=event_id)
    api_store.insert_event(ev)
    path = api_store.save_thumbnail(ev.event_id, png_bytes((20, 20)))
    assert path is not None
    assert path.resolve().is_relative_to(api_store.thumbnails_dir.resolve())


def test_safe_component_keeps_distinct_ids_distinct(tmp_path: Path, make_event: MakeEvent) -> None:
    assert safe_component("front-door") == "front-door"
    assert safe_component("a/b") != safe_component("a_b")
    ev = make_event()
    p1 = thumbnail_path(tmp_path, "a/b", "e1", ev.timestamp)
    p2 = thumbnail_path(tmp_path, "a_b", "e1", ev.timestamp)
    assert p1 != p2


def _save_in_child(db: str, image: bytes, out: Any) -> None:
    """In a forked child: store an event and its thumbnail; send the stored JPEG's size."""
    import asyncio

    from camvault import AsyncEventStore

    async def main() -> tuple[int, int]:
        async with AsyncEventStore(db) as store:
            await store.insert_event(Event(event_id="forked", camera_id="porch"))
            await asyncio.wait_for(store.save_thumbnail("forked", image), 20)
            stored = await store.read_thumbnail("forked")
            assert stored is not None and stored[1] == "jpeg"
            return Image.open(io.BytesIO(stored[0])).size

    try:
        out.send(("ok", asyncio.run(main())))
    except BaseException as exc:  # reported by the parent
        out.send(("error", repr(exc)))


def test_a_forked_child_makes_thumbnails_after_its_parent_did(tmp_path: Path) -> None:
    import asyncio
    import multiprocessing

    from camvault.thumbnails import encode, run_encoding

    image = png_bytes((1280, 720))
    # the parent's thumbnail threads are running when it forks
    assert asyncio.run(run_encoding(lambda: encode(Image.open(io.BytesIO(image)))))[:2] == (
        b"\xff\xd8"
    )
    # fork once its thread has gone idle (it says so right after finishing): the child then
    # inherits a pool that believes it has a free thread, which died with the fork
    from camvault import thumbnails

    idle = getattr(thumbnails._THREADS.encoders, "_idle_semaphore")  # noqa: B009 - stdlib internals
    deadline = time.monotonic() + 10
    while getattr(idle, "_value") < 1 and time.monotonic() < deadline:  # noqa: B009
        time.sleep(0.001)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_save_in_child, args=(str(tmp_path / "f.db"), image, send))
    child.start()
    try:
        assert receive.poll(60), "the child sent nothing"
        status, value = receive.recv()
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    assert status == "ok", value
    assert tuple(value) == (MAX_SIDE, MAX_SIDE * 720 // 1280)  # 16:9 kept, longest side bounded
