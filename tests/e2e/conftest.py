"""Live camvault servers on loopback and a headless Chromium (Debian's) to drive them.

One read-only server per test module, small data; a test that writes owns its server, and
what a page must show is computed from the events the test stored. ``page`` is a desktop tab
(1280x800); tests marked with ``SIZES`` run on the desktop and on a phone (390x844). Every
page fails its test on a JavaScript error or an unhandled promise rejection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from camvault import Event, EventStore
from camvault.sample import sample_events, sample_frame
from camvault.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
    },
}
SIZES = pytest.mark.parametrize("page", list(VIEWPORTS), indirect=True)
"""Run a test on the desktop and on the phone viewport."""


@dataclass
class Server:
    url: str
    db: Path
    token: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(db: Path, **options: Any) -> Iterator[Server]:
    """Serve the app over ``db`` on a free loopback port until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(db, **options), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/api/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield Server(url, db, options.get("token"))
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def fill(db: Path, events: list[Event], thumbnails: bool = True) -> None:
    """Store events (and a thumbnail for each) in a new database."""
    with EventStore(db) as store:
        store.insert_events(events)
        if thumbnails:
            for ev in events:
                store.save_thumbnail(ev.event_id, sample_frame(ev, (320, 180)))


@pytest.fixture(scope="module")
def sample() -> list[Event]:
    """The events behind ``server``: what its pages must show is computed from these."""
    return list(sample_events(120, seed=12))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sample: list[Event]) -> Iterator[Server]:
    """A server over ``sample`` (with thumbnails) that no test writes to."""
    db = tmp_path_factory.mktemp("e2e") / "events.db"
    fill(db, sample)
    with serve(db) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Open tabs (each in its own context) that record JavaScript errors; checked at the end."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(size: str = "desktop", **options: Any) -> Any:
        context = browser.new_context(**VIEWPORTS[size], **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and _counts(m) else None
        )
        return tab

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    for i, context in enumerate(contexts):
        for tab in context.pages:
            suffix = f"-{i}" if i else ""
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}{suffix}.png"))
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _counts(message: Any) -> bool:
    """Console errors that are the page's fault (a refused request is logged by Chromium too)."""
    text = str(message.text)
    return "Failed to load resource" not in text


@pytest.fixture
def page(new_page: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    return new_page(getattr(request, "param", "desktop"))


def open_filters(page: Any) -> None:
    """On a phone the filters are folded away behind a button: unfold them."""
    toggle = page.locator("#filters-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
