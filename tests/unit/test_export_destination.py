"""Where an export lands: a new or replaced file only once complete; links and pipes in place."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from camvault import Event, EventStore
from camvault.errors import InvalidInputError
from camvault.exchange import export_events

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
EVENTS = [Event(event_id=f"x{i}", camera_id="porch", timestamp=AT) for i in range(3)]


def _ids(text: str) -> list[str]:
    return [json.loads(line)["event_id"] for line in text.splitlines()]


def test_an_export_replaces_a_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    dest = tmp_path / "out.jsonl"
    dest.write_text("an older export, much longer than the new one " * 100)
    with EventStore(tmp_path / "events.db") as store:
        store.insert_events(EVENTS)
        assert export_events(store, dest) == 3
    assert _ids(dest.read_text()) == ["x0", "x1", "x2"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_export_to_a_link_writes_through_it(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "real.jsonl"
    target.parent.mkdir()
    link = tmp_path / "out.jsonl"
    link.symlink_to(target)
    with EventStore(tmp_path / "events.db") as store:
        store.insert_events(EVENTS)
        export_events(store, link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert _ids(target.read_text()) == ["x0", "x1", "x2"]


def test_an_export_to_a_named_pipe_streams_into_it(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    with EventStore(tmp_path / "events.db") as store:
        store.insert_events(EVENTS)
        export_events(store, pipe)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert _ids(received[0].decode()) == ["x0", "x1", "x2"]
    assert pipe.is_fifo()


def test_an_export_to_a_url_is_refused_naming_it(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.db") as store:
        store.insert_events(EVENTS)
        with pytest.raises(InvalidInputError) as exc:
            export_events(store, "https://example.org/out.jsonl")
    assert exc.value.problems == [
        (
            "dest",
            "https://example.org/out.jsonl is a URL; an export is written to a file: give a "
            "path (or - for stdout)",
        )
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.db"]  # nothing written
