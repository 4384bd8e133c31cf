"""Synthetic camera frames drawn with Pillow, for the demo's thumbnails and for tests.

A frame is a scene that fits the camera (a house front, a driveway, a garden fence, a garage
door, a door close-up) under a sky that follows the local hour, with simple shapes of people,
cars, trucks, parcels, dogs, cats and bicycles drawn at each detection's box, the detector's
box and label over them, and the camera's time stamp in the corner. Night frames are dark with
a lamp's glow. Backgrounds are cached per camera, size and hour, so a frame costs about a
millisecond to draw.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable

from PIL import Image, ImageDraw

from camvault.models import DetectedObject

__all__ = ["BOX_COLORS", "draw_frame", "is_night", "part_of_day"]

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]

BOX_COLORS: dict[str, RGB] = {
    "person": (255, 90, 70),
    "car": (70, 150, 255),
    "truck": (150, 150, 255),
    "package": (255, 200, 60),
    "dog": (90, 220, 120),
    "cat": (200, 120, 255),
    "bicycle": (60, 220, 220),
}
_CLOTHES: tuple[RGB, ...] = (
    (40, 50, 70),
    (150, 40, 40),
    (60, 90, 60),
    (200, 170, 90),
    (90, 90, 95),
)
_SKIN: tuple[RGB, ...] = ((240, 200, 170), (200, 150, 110), (140, 95, 60), (90, 60, 40))
_PAINT: tuple[RGB, ...] = ((225, 225, 230), (180, 30, 30), (150, 155, 165), (30, 35, 45))
_FUR: tuple[RGB, ...] = ((120, 80, 40), (40, 35, 30), (200, 170, 120), (160, 160, 160))


def part_of_day(hour: int) -> str:
    """Name the part of day of a local hour: night (22-4), morning, afternoon or evening."""
    if hour >= 22 or hour < 5:
        return "night"
    if hour < 12:
        return "morning"
    return "afternoon" if hour < 17 else "evening"


def is_night(hour: int) -> bool:
    """Return True for the dark hours of a frame (22:00-04:59)."""
    return part_of_day(hour) == "night"


def _sky(hour: int) -> tuple[RGB, RGB]:
    """Return the sky's top and horizon colours for a local hour."""
    if is_night(hour):
        return (6, 10, 28), (28, 36, 64)
    if hour in (5, 6, 7) or hour in (19, 20, 21):
        return (60, 70, 130), (245, 160, 110)
    return (70, 140, 220), (190, 220, 245)


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    """Return an image fading from ``top`` to ``bottom``."""
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _shade(color: RGB, factor: float) -> RGB:
    """Darken (factor < 1) or lighten (factor > 1) a colour."""
    r, g, b = (min(255, max(0, int(c * factor))) for c in color)
    return r, g, b


def _house_front(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Draw a house wall with a door, a window, a step and a lamp."""
    draw.rectangle((0, h * 0.12, w, h * 0.72), fill=(205, 190, 165))
    for y in range(int(h * 0.14), int(h * 0.72), max(4, h // 40)):
        draw.line((0, y, w, y), fill=(190, 175, 150))
    draw.rectangle((w * 0.40, h * 0.25, w * 0.56, h * 0.72), fill=(110, 60, 35))
    draw.rectangle((w * 0.42, h * 0.28, w * 0.54, h * 0.45), outline=(80, 40, 20), width=2)
    draw.ellipse((w * 0.52, h * 0.49, w * 0.535, h * 0.515), fill=(210, 180, 80))
    draw.rectangle((w * 0.68, h * 0.25, w * 0.88, h * 0.48), fill=(120, 160, 190))
    draw.line((w * 0.78, h * 0.25, w * 0.78, h * 0.48), fill=(240, 240, 240), width=3)
    draw.rectangle((w * 0.36, h * 0.72, w * 0.60, h * 0.77), fill=(150, 150, 150))
    draw.rectangle((w * 0.585, h * 0.22, w * 0.605, h * 0.27), fill=(60, 60, 60))


def _driveway(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Draw a driveway narrowing towards a house and its garage on the horizon."""
    draw.rectangle((w * 0.05, h * 0.18, w * 0.55, h * 0.42), fill=(200, 185, 160))
    draw.polygon(
        [(w * 0.02, h * 0.2), (w * 0.3, h * 0.06), (w * 0.58, h * 0.2)], fill=(120, 60, 50)
    )
    draw.rectangle((w * 0.62, h * 0.24, w * 0.86, h * 0.42), fill=(185, 185, 180))
    draw.polygon(
        [(w * 0.64, h * 0.42), (w * 0.84, h * 0.42), (w * 1.05, h), (w * 0.25, h)],
        fill=(120, 120, 125),
    )
    for k in range(1, 5):
        y = h * (0.42 + 0.14 * k)
        draw.line((w * (0.64 - 0.1 * k), y, w * (0.84 + 0.05 * k), y), fill=(135, 135, 140))


def _garden(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Draw a lawn behind a wooden fence, with a tree."""
    fence_top, fence_bottom = h * 0.30, h * 0.48
    draw.rectangle((0, fence_top, w, fence_bottom), fill=(140, 100, 60))
    for x in range(0, w, max(6, w // 28)):
        draw.line((x, fence_top, x, fence_bottom), fill=(110, 75, 45), width=2)
    draw.line((0, fence_top + 6, w, fence_top + 6), fill=(100, 70, 40), width=3)
    draw.rectangle((w * 0.80, h * 0.18, w * 0.83, h * 0.50), fill=(90, 60, 35))
    draw.ellipse((w * 0.70, h * 0.02, w * 0.93, h * 0.30), fill=(50, 110, 50))
    draw.rectangle((w * 0.10, h * 0.62, w * 0.22, h * 0.68), fill=(130, 120, 110))


def _garage(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Draw a garage door in a wall and a concrete apron in front."""
    draw.rectangle((0, h * 0.08, w, h * 0.62), fill=(190, 180, 170))
    draw.rectangle((w * 0.18, h * 0.18, w * 0.78, h * 0.62), fill=(215, 215, 215))
    for k in range(1, 6):
        y = h * (0.18 + 0.073 * k)
        draw.line((w * 0.18, y, w * 0.78, y), fill=(175, 175, 175), width=2)
    draw.rectangle((0, h * 0.62, w, h), fill=(150, 150, 150))
    draw.rectangle((w * 0.84, h * 0.25, w * 0.95, h * 0.62), fill=(100, 70, 50))


def _door_close_up(img: Image.Image, draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
    """Draw a front door close up, with its smart lock's keypad."""
    draw.rectangle((0, 0, w, h * 0.85), fill=(200, 190, 175))
    draw.rectangle((w * 0.28, h * 0.02, w * 0.72, h * 0.85), fill=(90, 50, 30))
    draw.rectangle((w * 0.32, h * 0.08, w * 0.68, h * 0.38), outline=(60, 30, 15), width=3)
    draw.rectangle((w * 0.32, h * 0.45, w * 0.68, h * 0.80), outline=(60, 30, 15), width=3)
    draw.rectangle((w * 0.62, h * 0.40, w * 0.69, h * 0.55), fill=(30, 30, 35))
    for k in range(3):
        draw.ellipse(
            (w * 0.64, h * (0.42 + 0.04 * k), w * 0.67, h * (0.44 + 0.04 * k)), fill=(90, 200, 255)
        )
    draw.rectangle((0, h * 0.85, w, h), fill=(140, 140, 140))


_SCENES: dict[str, tuple[Callable[[Image.Image, ImageDraw.ImageDraw, int, int], None], float]] = {
    "front-door": (_house_front, 0.72),
    "driveway": (_driveway, 0.42),
    "backyard": (_garden, 0.40),
    "garage": (_garage, 0.62),
    "porch-lock": (_door_close_up, 0.85),
}
"""Per camera: what it looks at, and where (as a share of the height) the ground starts."""


@functools.lru_cache(maxsize=256)
def _background(camera_id: str, size: tuple[int, int], hour: int) -> Image.Image:
    """Return the camera's empty scene at a local hour (cached: copy before drawing on it)."""
    w, h = size
    scene, horizon = _SCENES.get(
        camera_id, _SCENES[tuple(_SCENES)[zlib.crc32(camera_id.encode()) % len(_SCENES)]]
    )
    top, low = _sky(hour)
    img = _gradient(size, top, low)
    ground_top = max(1, int(h * horizon))
    img.paste(_gradient((w, h - ground_top), (80, 125, 60), (45, 85, 35)), (0, ground_top))
    draw = ImageDraw.Draw(img)
    scene(img, draw, w, h)
    return img


def _person(draw: ImageDraw.ImageDraw, box: Box, seed: int) -> None:
    """Draw a standing figure: head, body, arms and legs."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    clothes, skin = _CLOTHES[seed % len(_CLOTHES)], _SKIN[seed // 7 % len(_SKIN)]
    head = min(bw * 0.45, bh * 0.16)
    draw.ellipse((cx - head / 2, y1, cx + head / 2, y1 + head), fill=skin)
    body_top, hips = y1 + head * 1.05, y1 + bh * 0.58
    draw.rounded_rectangle(
        (cx - bw * 0.28, body_top, cx + bw * 0.28, hips), radius=bw * 0.1, fill=clothes
    )
    arm = max(2, int(bw * 0.12))
    draw.line((cx - bw * 0.3, body_top + 4, cx - bw * 0.42, hips), fill=clothes, width=arm)
    draw.line((cx + bw * 0.3, body_top + 4, cx + bw * 0.42, hips), fill=clothes, width=arm)
    legs = _shade(clothes, 0.6)
    leg = max(2, int(bw * 0.16))
    draw.line((cx - bw * 0.12, hips, cx - bw * 0.16, y2), fill=legs, width=leg)
    draw.line((cx + bw * 0.12, hips, cx + bw * 0.16, y2), fill=legs, width=leg)


def _vehicle(draw: ImageDraw.ImageDraw, box: Box, seed: int, truck: bool) -> None:
    """Draw a car (or a truck with a cargo box) seen from the side, with wheels."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    paint = _PAINT[seed % len(_PAINT)]
    wheel = bh * 0.32
    body_bottom = y2 - wheel * 0.45
    if truck:
        draw.rectangle((x1, y1, x1 + bw * 0.68, body_bottom), fill=_shade(paint, 0.9))
        draw.rectangle((x1 + bw * 0.70, y1 + bh * 0.30, x2, body_bottom), fill=paint)
        draw.rectangle(
            (x1 + bw * 0.78, y1 + bh * 0.36, x2 - bw * 0.04, y1 + bh * 0.55), fill=(150, 190, 220)
        )
    else:
        draw.polygon(
            [(x1 + bw * 0.22, y1 + bh * 0.42), (x1 + bw * 0.32, y1), (x1 + bw * 0.70, y1),
             (x1 + bw * 0.82, y1 + bh * 0.42)],
            fill=paint,
        )  # fmt: skip
        draw.polygon(
            [(x1 + bw * 0.28, y1 + bh * 0.40), (x1 + bw * 0.35, y1 + bh * 0.08),
             (x1 + bw * 0.67, y1 + bh * 0.08), (x1 + bw * 0.76, y1 + bh * 0.40)],
            fill=(150, 190, 220),
        )  # fmt: skip
        draw.rounded_rectangle((x1, y1 + bh * 0.40, x2, body_bottom), radius=bh * 0.12, fill=paint)
    for cx in (x1 + bw * 0.2, x2 - bw * 0.2):
        draw.ellipse((cx - wheel / 2, y2 - wheel, cx + wheel / 2, y2), fill=(25, 25, 25))
        draw.ellipse(
            (cx - wheel / 5, y2 - wheel * 0.7, cx + wheel / 5, y2 - wheel * 0.3),
            fill=(170, 170, 170),
        )


def _parcel(draw: ImageDraw.ImageDraw, box: Box, seed: int) -> None:
    """Draw a cardboard box with tape on the ground."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    draw.rectangle((x1, y1 + bh * 0.2, x2 - bw * 0.2, y2), fill=(170, 125, 75))
    draw.polygon(
        [(x1, y1 + bh * 0.2), (x1 + bw * 0.2, y1), (x2, y1), (x2 - bw * 0.2, y1 + bh * 0.2)],
        fill=(195, 150, 95),
    )
    draw.polygon(
        [(x2 - bw * 0.2, y1 + bh * 0.2), (x2, y1), (x2, y2 - bh * 0.2), (x2 - bw * 0.2, y2)],
        fill=(140, 100, 60),
    )
    draw.line((x1 + bw * 0.4, y1 + bh * 0.2, x1 + bw * 0.4, y2), fill=(220, 210, 180), width=3)


def _animal(draw: ImageDraw.ImageDraw, box: Box, seed: int, cat: bool) -> None:
    """Draw a dog (or a cat): body, head, ears, legs and tail."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    fur = _FUR[seed % len(_FUR)]
    leg_top = y1 + bh * 0.65
    draw.ellipse((x1 + bw * 0.15, y1 + bh * 0.30, x1 + bw * 0.80, leg_top + bh * 0.05), fill=fur)
    head = bh * (0.38 if cat else 0.45)
    hx = x2 - head
    draw.ellipse((hx, y1, x2, y1 + head), fill=fur)
    ear = head * 0.4
    if cat:
        draw.polygon(
            [(hx, y1 + ear), (hx + ear * 0.5, y1 - ear * 0.6), (hx + ear, y1 + ear * 0.3)], fill=fur
        )
        draw.polygon(
            [(x2 - ear, y1 + ear * 0.3), (x2 - ear * 0.5, y1 - ear * 0.6), (x2, y1 + ear)], fill=fur
        )
    else:
        draw.ellipse(
            (hx - ear * 0.3, y1 + ear * 0.2, hx + ear * 0.5, y1 + ear * 1.6), fill=_shade(fur, 0.7)
        )
    leg = max(2, int(bw * 0.07))
    for lx in (x1 + bw * 0.25, x1 + bw * 0.38, x1 + bw * 0.60, x1 + bw * 0.72):
        draw.line((lx, leg_top, lx, y2), fill=_shade(fur, 0.8), width=leg)
    draw.line(
        (x1 + bw * 0.18, y1 + bh * 0.45, x1, y1 + bh * (0.1 if cat else 0.3)), fill=fur, width=leg
    )


def _bicycle(draw: ImageDraw.ImageDraw, box: Box, seed: int) -> None:
    """Draw a bicycle: two wheels and a frame."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    r = min(bw * 0.24, bh * 0.38)
    back, front, hub_y = (x1 + r, y2 - r), (x2 - r, y2 - r), y2 - r
    frame = _PAINT[seed % len(_PAINT)]
    for cx, cy in (back, front):
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r), outline=(30, 30, 30), width=max(2, int(r * 0.15))
        )
    seat, bars = (x1 + bw * 0.4, y1 + bh * 0.2), (x2 - bw * 0.3, y1 + bh * 0.15)
    crank = ((back[0] + front[0]) / 2, hub_y)
    width = max(2, int(r * 0.12))
    draw.line([back, seat, crank, back], fill=frame, width=width)
    draw.line([seat, bars, front, crank], fill=frame, width=width)


_SHAPES: dict[str, Callable[[ImageDraw.ImageDraw, Box, int], None]] = {
    "person": _person,
    "car": lambda d, b, s: _vehicle(d, b, s, truck=False),
    "truck": lambda d, b, s: _vehicle(d, b, s, truck=True),
    "package": _parcel,
    "dog": lambda d, b, s: _animal(d, b, s, cat=False),
    "cat": lambda d, b, s: _animal(d, b, s, cat=True),
    "bicycle": _bicycle,
}


def _night(img: Image.Image, lamp: tuple[float, float] | None) -> Image.Image:
    """Darken a frame to night, with the glow of a lamp at ``lamp`` (shares of width, height)."""
    dark = Image.blend(img, Image.new("RGB", img.size, (4, 6, 18)), 0.72)
    if lamp is None:
        return dark
    w, h = img.size
    radius = int(w * 0.45)
    spot = Image.radial_gradient("L").resize((2 * radius, int(2.2 * radius)))
    spot = spot.point(lambda v: max(0, 170 - v * 170 // 128))  # bright centre, gone at r
    glow = Image.new("L", img.size, 0)
    glow.paste(spot, (int(lamp[0] * w) - radius, int(lamp[1] * h) - radius))
    return Image.composite(img, dark, glow)


_LAMPS: dict[str, tuple[float, float]] = {
    "front-door": (0.595, 0.3),
    "porch-lock": (0.5, 0.1),
    "garage": (0.5, 0.12),
    "driveway": (0.6, 0.3),
}


def draw_frame(
    camera_id: str,
    hour: int,
    objects: list[DetectedObject],
    size: tuple[int, int],
    caption: str,
) -> Image.Image:
    """Draw a camera frame: the scene at a local hour, each detection's shape and box, a caption."""
    img = _background(camera_id, size, hour).copy()
    draw = ImageDraw.Draw(img)
    w, h = size
    boxes = []
    for k, obj in enumerate(sorted(objects, key=lambda o: (o.bbox or (0, 0, 0, 0))[3])):
        if obj.bbox is None:
            continue
        x1, y1, x2, y2 = obj.bbox
        box = (x1 * w, y1 * h, max(x2 * w, x1 * w + 4), max(y2 * h, y1 * h + 4))
        shape = _SHAPES.get(obj.label)
        if shape is not None:
            shape(draw, box, zlib.crc32(f"{obj.label}{k}{x1}{y1}".encode()))
        boxes.append((obj, box))
    if is_night(hour):
        img = _night(img, _LAMPS.get(camera_id))
        draw = ImageDraw.Draw(img)
    for obj, box in boxes:
        color = BOX_COLORS.get(obj.label, (230, 230, 230))
        draw.rectangle(box, outline=color, width=2)
        tag = f"{obj.label} {obj.confidence:.0%}"
        top = box[1] - 12 if box[1] >= 12 else box[1]  # the tag stays inside the frame
        draw.rectangle((box[0], top, box[0] + 6 * len(tag) + 6, top + 12), fill=color)
        draw.text((box[0] + 3, top), tag, fill=(0, 0, 0))
    draw.text((11, 11), caption, fill=(0, 0, 0))
    draw.text((10, 10), caption, fill=(255, 255, 255))
    return img
