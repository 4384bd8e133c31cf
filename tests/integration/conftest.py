"""Helpers for the integration tests: strict event comparison, child processes, shared folders.

Every test here runs against a real SQLite file. Tests that need a second process run the
venv's interpreter with camvault importable (PYTHONPATH points at the source tree) and a
small, explicit environment, and read what the child reports from its stdout.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import apsw
import pytest

import camvault
from camvault import DetectedObject, Event, EventStore

REPO_ROOT = Path(camvault.__file__).resolve().parent.parent
PYTHON = sys.executable
NOBODY = 65534
CHILD_TIMEOUT = 60.0
"""Upper bound for any child process; a child that takes longer is a hang, not slowness."""
FIXED_END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""End of the time span of generated sample events, so parent and children agree on them."""


# -- comparing events ------------------------------------------------------------------


def _strict(value: Any) -> Any:
    """Tag every scalar with its type, so ``True`` never equals ``1`` nor ``1`` ``1.0``."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_strict(v) for v in value])
    return (type(value).__name__, value)


def assert_same_event(got: Event | None, want: Event) -> None:
    """Assert that a stored event equals the one written, field by field and type by type.

    Timestamps are compared as instants and must come back in UTC.
    """
    assert got is not None, f"event {want.event_id!r} is missing from the store"
    for name in Event.model_fields:
        stored, written = getattr(got, name), getattr(want, name)
        where = f"event {want.event_id!r} field {name}"
        if name == "timestamp" or (name == "end_time" and written is not None):
            assert stored.utcoffset() == timedelta(0), f"{where}: {stored!r} is not in UTC"
            assert stored == written, f"{where}: stored {stored!r}, written {written!r}"
        elif name == "detected_objects":
            assert len(stored) == len(written), f"{where}: {stored!r} != {written!r}"
            for s, w in zip(stored, written, strict=True):
                assert isinstance(s, DetectedObject), f"{where}: {s!r} is not a DetectedObject"
                assert _strict(s.model_dump()) == _strict(w.model_dump()), (
                    f"{where}: stored {s!r}, written {w!r}"
                )
        else:
            assert _strict(stored) == _strict(written), (
                f"{where}: stored {stored!r}, written {written!r}"
            )
    assert got == want


def full_events(prefix: str = "full") -> list[Event]:
    """Events with every optional field set, in several time zones."""
    # fields being added to Event right now: set them when this camvault has them
    base = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    newer: dict[str, Any] = {
        "retain": True,
        "end_time": base.astimezone(timezone(timedelta(hours=-3))) + timedelta(seconds=45.5),
        "zones": ["porch", "Einfahrt ü", "玄関"],
        "license_plate": "B-ÄÖ 123",
        "source": "frigate",
    }
    common: dict[str, Any] = {
        "motion_confidence": 0.875,
        "llm_description": "Ein Mann im Regen klingelt. 雨の中の男性 🚪 — «bonjour»",
        "image_path": "/var/lib/cams/porch/2026-03-29/frame 0001.jpg",
        "json_log_path": "/var/log/cams/porch/2026-03-29.jsonl",
        "thumbnail_path": "/var/lib/cams/thumbs/ünïcødé.webp",
        "face_confidence": 0.9731,
        "face_distance": 0.3125,
        "recording_id": "rec-2026-03-29T01:30:15-ß",
    }
    return [
        Event(
            event_id=f"{prefix}-granted",
            timestamp=base,
            camera_id="porch-lock",
            detected_objects=[
                DetectedObject(label="person", confidence=0.97, bbox=(0.1, 0.2, 0.45, 0.95)),
                DetectedObject(label="package", confidence=0.51, bbox=None),
                DetectedObject(label="dog", confidence=1.0, bbox=(10.0, 20.0, 640.5, 480.25)),
            ],
            person_name="Zoë O'Brien",
            unlock_granted=True,
            door_action="unlock",
            metadata={
                "zone": "door",
                "scores": [0.1, 2, -3.5e-7, None, True, "x"],
                "nested": {"a": {"b": [1, [2, {"c": "ü"}]], "empty": {}}, "list": []},
                "emoji": "😀",
                "big": 2**62,
                "neg": -(2**63),
                "κλειδί": "τιμή",
            },
            **common,
            **newer,
        ),
        Event(
            event_id=f"{prefix}-denied",
            timestamp=base.astimezone(timezone(timedelta(hours=-8))) + timedelta(microseconds=1),
            camera_id="porch-lock",
            detected_objects=[DetectedObject(label="person", confidence=0.66)],
            person_name="unknown visitor",
            unlock_granted=False,
            door_action="denied",
            metadata={"reason": "not authorized", "attempts": [1, 2, 3], "ok": False},
            **common,
        ),
        Event(
            event_id=f"{prefix}-epoch",
            timestamp=datetime(1970, 1, 1, 4, tzinfo=timezone(timedelta(hours=4))),  # the epoch
            camera_id="garage",
            detected_objects=[],
            person_name="alice",
            unlock_granted=False,
            door_action="none",
            metadata={"zero": 0, "neg_zero": -0.0, "tiny": 5e-324, "huge": 1.7976931348623157e308},
            **{**common, "face_distance": 0.0, "face_confidence": 0.0, "motion_confidence": 1.0},
        ),
    ]


# -- size-limited databases -------------------------------------------------------------


@functools.cache
def empty_store_pages() -> int:
    """How many pages a new, empty store takes (the schema grows with migrations)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "empty.db"
        EventStore(path).close()
        conn = apsw.Connection(str(path))
        try:
            pages: int = conn.execute("PRAGMA page_count").fetchall()[0][0]
        finally:
            conn.close()
    return pages


def size_limit(room_pages: int) -> dict[str, int]:
    """EventStore pragmas that cap the file at an empty store plus ``room_pages`` pages."""
    return {"max_page_count": empty_store_pages() + room_pages}


# -- child processes -------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """A small, explicit environment in which the venv's python can import camvault."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUTF8": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": tempfile.gettempdir(),
    }
    env.update(extra)
    return env


def child_code(body: str) -> str:
    """Dedent a child's script."""
    return textwrap.dedent(body).lstrip()


def run_child(
    body: str, args: Sequence[str] = (), *, timeout: float = CHILD_TIMEOUT, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a Python script in a child process and return what it did (output as text)."""
    return subprocess.run(
        [PYTHON, "-c", child_code(body), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=kwargs.pop("env", None) or child_env(),
        cwd=kwargs.pop("cwd", None) or tempfile.gettempdir(),
        check=False,
        **kwargs,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``camvault ARGS`` to completion in a child, on a wide terminal (one line per error)."""
    return subprocess.run(
        [PYTHON, "-m", "camvault", *args],
        capture_output=True,
        text=True,
        env=child_env(COLUMNS="300"),
        cwd=cwd,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


def child_json(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON document a child printed as its last stdout line; fail with its stderr if none."""
    assert done.returncode == 0, (
        f"child failed with exit code {done.returncode}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"child printed nothing\nstderr:\n{done.stderr}"
    return json.loads(lines[-1])


class LineReader:
    """Read a child's stdout lines on a thread, so the parent can wait with a timeout."""

    def __init__(self, stream: Any) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def join(self, timeout: float = CHILD_TIMEOUT) -> None:
        """Wait until the child's stdout is closed and every line has been read."""
        self._thread.join(timeout)

    def next(self, timeout: float = CHILD_TIMEOUT) -> str | None:
        """The next line, or None at end of output; raise AssertionError after ``timeout``."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"child printed no line within {timeout} s") from None

    def expect(self, wanted: str, timeout: float = CHILD_TIMEOUT) -> None:
        """Wait for the next line and assert it is ``wanted``."""
        line = self.next(timeout)
        assert line == wanted, f"child printed {line!r}, expected {wanted!r}"

    def rest(self, timeout: float = CHILD_TIMEOUT) -> list[str]:
        """Every remaining line, once the child closed its stdout."""
        out = []
        while (line := self.next(timeout)) is not None:
            out.append(line)
        return out


HOLD_LOCK = """
import sys
import apsw

conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()  # hold the write lock until the parent says so
conn.execute("ROLLBACK")
print("released", flush=True)
"""
"""A child (for popen_child with stdin=True) that holds a file's write lock until told."""


@contextlib.contextmanager
def popen_child(
    body: str, args: Sequence[str] = (), *, stderr_path: Path, stdin: bool = False
) -> Iterator[tuple[subprocess.Popen[str], LineReader]]:
    """Start a child running ``body``; always reaped (killed if still running) on exit."""
    with stderr_path.open("w") as err:
        proc = subprocess.Popen(
            [PYTHON, "-c", child_code(body), *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=child_env(),
            cwd=tempfile.gettempdir(),
        )
    reader = LineReader(proc.stdout)
    try:
        yield proc, reader
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=CHILD_TIMEOUT)
        reader.join()  # the pipe is at end of file once the child is gone
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# -- running as an unprivileged user ----------------------------------------------------

_DROP_TO = "CAMVAULT_TEST_DROP_TO_UID"

UNPRIVILEGED_PRELUDE = f"""
import json, os, sys, traceback
import camvault, camvault.backends.sqlite, camvault.sample
from camvault import DatabaseError, DatabaseWriteError, Event, EventStore
from camvault.migrations import load_migrations
load_migrations("sqlite")  # warm importlib.resources before privileges (and /root) are gone
if os.environ.get({_DROP_TO!r}):
    uid = int(os.environ[{_DROP_TO!r}])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
"""
"""Start of every unprivileged child: imports first, then (if asked) drop to ``nobody``."""


@functools.cache
def _interpreter_runs_as_nobody() -> bool:
    """Whether ``nobody`` can execute the venv's interpreter itself."""
    try:
        done = subprocess.run(
            [PYTHON, "-c", "pass"],
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            capture_output=True,
            timeout=CHILD_TIMEOUT,
            cwd="/",
            env=child_env(),
            check=False,
        )
    except PermissionError:
        return False
    return done.returncode == 0


def run_unprivileged(body: str, args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``body`` (after UNPRIVILEGED_PRELUDE) in a child that file permissions apply to.

    As root (CI), the child runs as ``nobody``: started with ``user=65534`` when ``nobody``
    can execute the interpreter; otherwise (the interpreter lives under a private folder such
    as /root/.pyenv) the child starts as root, imports what it needs, and drops to
    ``nobody`` for good (setgroups, setgid, setuid) before touching any database. Either way
    every database operation runs as an unprivileged user, which the child reports as euid.
    """
    script = UNPRIVILEGED_PRELUDE + child_code(body)
    if os.geteuid() != 0:
        return run_child(script, args, cwd="/")
    if _interpreter_runs_as_nobody():
        return run_child(script, args, cwd="/", user=NOBODY, group=NOBODY, extra_groups=[])
    if sys.platform != "linux":  # pragma: no cover - CI is Linux
        pytest.skip(f"user {NOBODY} cannot execute {PYTHON} and privileges cannot be dropped")
    return run_child(script, args, cwd="/", env=child_env(**{_DROP_TO: str(NOBODY)}))


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder under /tmp that an unprivileged user may enter (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="camvault-it-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for root, dirs, _files in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), stat.S_IRWXU)
        shutil.rmtree(path, ignore_errors=True)
