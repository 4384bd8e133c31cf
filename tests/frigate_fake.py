"""A small real HTTP server acting as Frigate's API, on a free loopback port, for the tests.

It serves what camvault reads from Frigate:

- ``GET /api/config``: ``cameras.<name>.detect.width`` / ``height``;
- ``GET /api/events``: ``after`` / ``before`` (start_time strictly after / before),
  ``limit`` (default 100), ``in_progress`` (1: end_time is null, 0: it is not),
  ``camera`` / ``cameras`` (a name, a comma list, or ``all``); newest start_time first;
- ``GET /api/events/<id>``: the item, or 404;
- ``GET /api/events/<id>/snapshot.jpg`` and ``/thumbnail.jpg|webp``: real images, or 404.

Controls: :meth:`FakeFrigate.add_event` (adds or replaces), :meth:`FakeFrigate.set_media`,
:meth:`FakeFrigate.down` (``"refuse"``: the port refuses connections; ``"503"``: every
request answers 503) and :meth:`FakeFrigate.up`, :meth:`FakeFrigate.count` of requests per
path and :attr:`FakeFrigate.requests` (path and query of each). Use it as a context manager
or through the ``frigate_fake`` fixture (import ``frigate_fake_fixture`` into a test module
or conftest); :attr:`FakeFrigate.url` is its base URL.
"""

from __future__ import annotations

import io
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import pytest
from PIL import Image

__all__ = ["FakeFrigate", "free_port", "frigate_fake_fixture"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeFrigate


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request a connection: down() cuts every client

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        """Answer one GET the way Frigate would."""
        fake = self.server.fake
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        fake._record(path, parts.query)
        if fake.unavailable:
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"Service Unavailable", "text/plain")
            return
        status, body, kind = fake._answer(path, parse_qs(parts.query))
        self._send(status, body, kind)

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_NOT_FOUND = orjson.dumps({"success": False, "message": "Event not found"})
_FORMATS = {
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


class FakeFrigate:
    """A threaded HTTP server with Frigate's event API, controlled by the test that owns it."""

    def __init__(self, cameras: Mapping[str, tuple[int, int]] | None = None) -> None:
        self.cameras: dict[str, tuple[int, int]] = dict(cameras or {"front_door": (1280, 720)})
        self.events: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, Image.Image] = {}
        self.thumbnails: dict[str, Image.Image] = {}
        self.requests: list[tuple[str, str]] = []
        self.unavailable = False
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FakeFrigate:
        """Listen (on a free port the first time, the same port afterwards) and serve."""
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-frigate", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (connections are then refused)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def down(self, mode: str = "refuse") -> None:
        """Make Frigate unreachable: ``"refuse"`` closes the port, ``"503"`` answers 503."""
        if mode == "503":
            self.unavailable = True
        elif mode == "refuse":
            self.stop()
        else:
            raise ValueError(f"mode must be 'refuse' or '503', not {mode!r}")

    def up(self) -> None:
        """Serve normally again, on the same port."""
        self.unavailable = False
        if self._server is None:
            self.start()

    def __enter__(self) -> FakeFrigate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content -----------------------------------------------------------------------
    def add_event(self, *items: Mapping[str, Any]) -> None:
        """Add (or replace, by id) ``/api/events`` items (see ``frigate_payloads.api_event``)."""
        with self._lock:
            for item in items:
                self.events[str(item["id"])] = dict(item)

    def remove_event(self, event_id: str) -> None:
        """Forget an event and its media."""
        with self._lock:
            self.events.pop(event_id, None)
            self.snapshots.pop(event_id, None)
            self.thumbnails.pop(event_id, None)

    def set_media(
        self,
        event_id: str,
        snapshot: Image.Image | bytes | None = None,
        thumbnail: Image.Image | bytes | None = None,
    ) -> None:
        """Give an event a snapshot and/or a thumbnail (an image, or encoded bytes)."""
        with self._lock:
            if snapshot is not None:
                self.snapshots[event_id] = _image(snapshot)
            if thumbnail is not None:
                self.thumbnails[event_id] = _image(thumbnail)

    def count(self, path: str) -> int:
        """How many requests reached ``path`` (no query), e.g. ``/api/events``."""
        with self._lock:
            return self._counts[path]

    def _record(self, path: str, query: str) -> None:
        with self._lock:
            self._counts[path] += 1
            self.requests.append((path, query))

    # -- answers -----------------------------------------------------------------------
    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        json = "application/json"
        if path == "/api/config":
            return 200, orjson.dumps(self._config()), json
        if path == "/api/events":
            try:
                items = self._list(query)
            except ValueError as exc:
                return 400, orjson.dumps({"success": False, "message": str(exc)}), json
            return 200, orjson.dumps(items), json
        parts = path.split("/")
        if len(parts) == 4 and parts[:3] == ["", "api", "events"]:
            with self._lock:
                item = self.events.get(parts[3])
            return (200, orjson.dumps(item), json) if item else (404, _NOT_FOUND, json)
        if len(parts) == 5 and parts[:3] == ["", "api", "events"]:
            return self._media(parts[3], parts[4])
        return 404, orjson.dumps({"success": False, "message": "Not found"}), json

    def _config(self) -> dict[str, Any]:
        cameras = {
            name: {
                "name": name,
                "enabled": True,
                "detect": {"enabled": True, "width": w, "height": h, "fps": 5},
            }
            for name, (w, h) in self.cameras.items()
        }
        return {"cameras": cameras, "mqtt": {"topic_prefix": "frigate"}}

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[-1] if values else None

        limit = int(one("limit") or 100)
        after, before = one("after"), one("before")
        in_progress = one("in_progress")
        cameras = one("cameras") or one("camera") or "all"
        wanted = None if cameras == "all" else set(cameras.split(","))
        with self._lock:
            items = list(self.events.values())
        if after is not None:
            items = [i for i in items if i["start_time"] > float(after)]
        if before is not None:
            items = [i for i in items if i["start_time"] < float(before)]
        if in_progress is not None:
            open_only = bool(int(in_progress))
            items = [i for i in items if (i.get("end_time") is None) == open_only]
        if wanted is not None:
            items = [i for i in items if i["camera"] in wanted]
        items.sort(key=lambda i: i["start_time"], reverse=True)
        return items[: max(0, limit)]

    def _media(self, event_id: str, name: str) -> tuple[int, bytes, str]:
        stem, _, ext = name.partition(".")
        with self._lock:
            source = {"snapshot": self.snapshots, "thumbnail": self.thumbnails}.get(stem, {})
            image = source.get(event_id)
        if stem == "snapshot" and ext not in ("jpg", "jpeg"):
            image = None
        if image is None or ext not in _FORMATS:
            return 404, _NOT_FOUND, "application/json"
        fmt, kind = _FORMATS[ext]
        out = io.BytesIO()
        image.convert("RGB").save(out, fmt)
        return 200, out.getvalue(), kind


def _image(value: Image.Image | bytes) -> Image.Image:
    if isinstance(value, bytes):
        with Image.open(io.BytesIO(value)) as img:
            return img.copy()
    return value.copy()


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="frigate_fake")
def frigate_fake_fixture() -> Iterator[FakeFrigate]:
    """A running fake Frigate (camera ``front_door``, 1280x720) that this test owns."""
    with FakeFrigate() as fake:
        yield fake
