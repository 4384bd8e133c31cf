"""Thumbnail files: Pillow encoding, size bounds and the sharded folder layout.

One JPEG (or WebP) per event at ``<root>/<camera>/<YYYY-MM-DD>/<event>.jpg``. Camera and
event ids are turned into safe file names, so no id can reach outside ``root``.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import hashlib
import io
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from PIL import Image, UnidentifiedImageError

if TYPE_CHECKING:
    from camvault.models import Event

log = logging.getLogger("camvault")

__all__ = [
    "MAX_DECODED_PIXELS",
    "MAX_DECODES",
    "MAX_INPUT_PIXELS",
    "MAX_SIDE",
    "ThumbnailError",
    "encode",
    "is_owned",
    "owned",
    "owned_by",
    "remove_quietly",
    "run_encoding",
    "safe_component",
    "thumbnail_path",
    "write",
]

MAX_SIDE = 640
"""Longest side of a stored thumbnail, in pixels."""
MAX_INPUT_PIXELS = 50_000_000
"""Largest input image accepted (about 8K x 6K); larger inputs are refused, not decoded."""
MAX_DECODED_PIXELS = 3840 * 2160
"""Most pixels decoded from encoded bytes (a 4K frame, 32 MiB as RGB). A larger JPEG is
decoded at 1/2, 1/4 or 1/8 scale; a larger image of another format is refused."""
MAX_DECODES = 2
"""Images decoded at once in a process; more wait their turn."""
Format = Literal["jpeg", "webp"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
T = TypeVar("T")


class _Threads:
    """The process's decode budget and thumbnail threads (started on first use)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        """Start afresh in a forked child: the parent's threads did not come along."""
        self.decodes = threading.BoundedSemaphore(MAX_DECODES)
        self.encoders = ThreadPoolExecutor(MAX_DECODES, thread_name_prefix="camvault-thumbnail")


_THREADS = _Threads()
os.register_at_fork(after_in_child=_THREADS.renew)


class ThumbnailError(ValueError):
    """The image could not be turned into a thumbnail (bad data, shape or size)."""


def safe_component(value: str) -> str:
    """Return a file-name-safe form of an id; a short hash keeps altered names unique."""
    cleaned = _UNSAFE.sub("_", value).strip(".") or "_"
    if cleaned != value:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        cleaned = f"{cleaned[:80]}-{digest}"
    return cleaned


def _layout(root: Path, camera_id: str, event_id: str, timestamp: datetime, fmt: Format) -> str:
    """Return ``<root>/<camera>/<YYYY-MM-DD>/<event>.<ext>`` (no file system access)."""
    suffix = ".jpg" if fmt == "jpeg" else ".webp"
    return os.sep.join(
        (
            str(root).rstrip(os.sep),
            safe_component(camera_id),
            timestamp.date().isoformat(),  # YYYY-MM-DD: event times lie in 1970..2200
            safe_component(event_id) + suffix,
        )
    )


def thumbnail_path(
    root: Path, camera_id: str, event_id: str, timestamp: datetime, fmt: Format = "jpeg"
) -> Path:
    """Return where an event's thumbnail lives, always inside ``root``."""
    path = Path(_layout(root, camera_id, event_id, timestamp, fmt))
    if not path.resolve().is_relative_to(root.resolve()):  # pragma: no cover - defence in depth
        raise ThumbnailError(f"refusing a thumbnail path outside {root}")
    return path


def owned(
    root: Path, camera_id: str, event_id: str, timestamp: datetime, stored: str | None
) -> Path | None:
    """Return ``stored`` if it is exactly the file camvault makes for this event, else None.

    Only such a file may be served or deleted for the event: a path a client set (another
    event's thumbnail, a file of its own) is never camvault's to touch.
    """
    if stored is None or not is_owned(root, camera_id, event_id, timestamp, stored):
        return None
    return Path(stored)


def owned_by(root: Path, event: Event) -> Path | None:
    """Return the thumbnail file camvault made for this stored event, or None (see owned)."""
    return owned(root, event.camera_id, event.event_id, event.timestamp, event.thumbnail_path)


def is_owned(
    root: Path, camera_id: str, event_id: str, timestamp: datetime, stored: str | None
) -> bool:
    """Return True if ``stored`` is exactly the file camvault makes for this event."""
    if not stored:
        return False
    fmt: Format = "webp" if stored.endswith(".webp") else "jpeg"
    return stored == _layout(root, camera_id, event_id, timestamp, fmt)


def _fit(width: int, height: int) -> tuple[int, int]:
    """Return the size that fits ``width`` x ``height`` within MAX_SIDE, keeping its shape."""
    if max(width, height) <= MAX_SIDE:
        return width, height
    scale = MAX_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open(data: bytes) -> Image.Image:
    """Open encoded image bytes within the pixel limits, reading the header only.

    A JPEG is set to decode at the smallest 1/2, 1/4 or 1/8 scale still larger than a
    thumbnail; any other image must fit MAX_DECODED_PIXELS as it is.
    """
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise ThumbnailError("bytes are not an image in a format Pillow reads") from exc
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ThumbnailError(f"bytes are not a readable image: {exc}") from exc
    try:
        width, height = img.size
        if width * height > MAX_INPUT_PIXELS:
            raise ThumbnailError(
                f"image is {width}x{height}, more than {MAX_INPUT_PIXELS:,} pixels"
            )
        img.draft(None, _fit(width, height))  # JPEG: decode reduced (a no-op for others)
        if img.width * img.height > MAX_DECODED_PIXELS:
            raise ThumbnailError(
                f"{img.format or 'image'} of {width}x{height} is {width * height:,} pixels to "
                f"decode, more than {MAX_DECODED_PIXELS:,}; send a JPEG (decoded reduced) "
                "or a smaller image"
            )
    except BaseException:
        img.close()
        raise
    return img


def _load(data: bytes) -> Image.Image:
    """Decode image bytes within the pixel budget (see _open)."""
    img = _open(data)
    try:
        img.load()
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        img.close()
        raise ThumbnailError(f"bytes are not a readable image: {exc}") from exc
    return img


def _to_image(image: Any, bgr: bool) -> Image.Image:
    """Open bytes, accept a PIL image, or wrap a numpy array (H x W, or H x W x 3/4)."""
    if isinstance(image, bytes | bytearray | memoryview):
        return _load(bytes(image))
    if isinstance(image, Image.Image):
        return image
    shape = getattr(image, "shape", None)
    if shape is not None and hasattr(image, "__array_interface__"):
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
            raise ThumbnailError(f"array of shape {shape} is not an image (H x W or H x W x 3/4)")
        if str(getattr(image, "dtype", "")) != "uint8":
            raise ThumbnailError(f"array dtype is {image.dtype}, expected uint8")
        if len(shape) == 3 and shape[2] == 1:
            image = image[:, :, 0]
        if bgr and len(shape) == 3 and shape[2] >= 3:
            image = image[:, :, [2, 1, 0, *range(3, shape[2])]]
        try:
            return Image.fromarray(image)
        except (TypeError, ValueError) as exc:
            raise ThumbnailError(f"array could not be read as an image: {exc}") from exc
    raise ThumbnailError(
        f"expected bytes, a PIL image or a numpy array, got {type(image).__name__}"
    )


def _shrink(img: Image.Image) -> Image.Image:
    """Return ``img`` at most MAX_SIDE on its long side, in a mode JPEG and WebP store."""
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")  # first: resizing RGBA would copy it at full size anyway
    size = _fit(img.width, img.height)
    if size == img.size:
        return img
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)  # reduce, then Lanczos


_LARGE = 1_000_000
"""Pixels past which an image's freed memory is handed back to the system at once."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's malloc_trim (looked up on first use), or None on another C library."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform == "linux" else None
    return cast("Callable[[int], int] | None", trim)


def _give_back() -> None:
    """Return freed memory to the system: glibc keeps a thread's large frees for reuse."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


def encode(image: Any, *, fmt: Format = "jpeg", quality: int = 80, bgr: bool = False) -> bytes:
    """Encode an image as a thumbnail at most MAX_SIDE pixels on its long side.

    At most MAX_DECODES images are decoded and shrunk at once in a process (others wait),
    and every image made on the way is closed before this returns.
    """
    with _THREADS.decodes:
        img = _to_image(image, bgr)
        made = [img] if img is not image else []
        try:
            if img.width < 1 or img.height < 1 or img.width * img.height > MAX_INPUT_PIXELS:
                raise ThumbnailError(f"image size {img.width}x{img.height} is out of range")
            small = _shrink(img)
            if small is not img:
                made.append(small)
            out = io.BytesIO()
            small.save(
                out,
                format="JPEG" if fmt == "jpeg" else "WEBP",
                quality=quality,
                optimize=fmt == "jpeg",
            )
            return out.getvalue()
        finally:
            large = any(each.width * each.height > _LARGE for each in made)
            for each in made:
                each.close()
            if large:
                _give_back()


async def run_encoding(call: Callable[[], T]) -> T:
    """Run ``call`` (work that decodes images) on the thumbnail threads, off the loop.

    They are the process's own, never a reader's: queries go on while images decode.
    """
    return await asyncio.get_running_loop().run_in_executor(_THREADS.encoders, call)


def write(path: Path, data: bytes) -> None:
    """Write a file atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path: str | Path) -> bool:
    """Remove a file; False if it was already gone or cannot go (a folder, no permission).

    Called after the event is gone from the database: a thumbnail that cannot be removed is
    logged and left, and never stops the removal of the others.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:  # IsADirectoryError, PermissionError, a read-only mount...
        log.warning("thumbnail %s not removed: %s", path, exc.strerror or exc)
        return False
    return True
