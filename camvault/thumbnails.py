"""Thumbnail files: Pillow encoding, size bounds and the sharded folder layout.

One JPEG (or WebP) per event at ``<root>/<camera>/<YYYY-MM-DD>/<event>.jpg``. Camera and
event ids are turned into safe file names, so no id can reach outside ``root``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image

if TYPE_CHECKING:
    from camvault.models import Event

log = logging.getLogger("camvault")

__all__ = [
    "MAX_SIDE",
    "ThumbnailError",
    "encode",
    "is_owned",
    "owned",
    "owned_by",
    "remove_quietly",
    "safe_component",
    "thumbnail_path",
    "write",
]

MAX_SIDE = 640
"""Longest side of a stored thumbnail, in pixels."""
MAX_INPUT_PIXELS = 50_000_000
"""Largest input image accepted (about 8K x 6K); larger inputs are refused, not decoded."""
Format = Literal["jpeg", "webp"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


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


def _to_image(image: Any, bgr: bool) -> Image.Image:
    """Open bytes, accept a PIL image, or wrap a numpy array (H x W, or H x W x 3/4)."""
    if isinstance(image, bytes | bytearray | memoryview):
        try:
            img = Image.open(io.BytesIO(bytes(image)))
            if img.width * img.height > MAX_INPUT_PIXELS:
                raise ThumbnailError(f"image is {img.width}x{img.height}, too large")
            img.load()
        except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
            raise ThumbnailError(f"bytes are not a readable image: {exc}") from exc
        return img
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


def encode(image: Any, *, fmt: Format = "jpeg", quality: int = 80, bgr: bool = False) -> bytes:
    """Encode an image as a thumbnail at most MAX_SIDE pixels on its long side."""
    img = _to_image(image, bgr)
    if img.width < 1 or img.height < 1 or img.width * img.height > MAX_INPUT_PIXELS:
        raise ThumbnailError(f"image size {img.width}x{img.height} is out of range")
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    if max(img.size) > MAX_SIDE:
        img = img.copy()
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(
        out, format="JPEG" if fmt == "jpeg" else "WEBP", quality=quality, optimize=fmt == "jpeg"
    )
    return out.getvalue()


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
