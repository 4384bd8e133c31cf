"""Only the thumbnail camvault made for an event is ever deleted with that event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import Event
from camvault.sample import sample_frame

MakeEvent = Callable[..., Event]
OLD = datetime.now(UTC) - timedelta(days=40)


@pytest.fixture
def a_and_b(api_store: Any, make_event: MakeEvent) -> tuple[Event, Event, Path]:
    """Event A with its own thumbnail; event B whose client-set path names A's file."""
    a = make_event(event_id="a", timestamp=OLD + timedelta(days=10))
    api_store.insert_event(a)
    path = api_store.save_thumbnail("a", sample_frame(a))
    assert path is not None and path.is_file()
    b = make_event(event_id="b", timestamp=OLD, thumbnail_path=str(path))
    api_store.insert_event(b)
    return a, b, path


def test_deleting_b_leaves_the_thumbnail_of_a(api_store: Any, a_and_b: Any) -> None:
    _, _, path = a_and_b
    assert api_store.delete_event("b") is True
    assert path.is_file()
    assert api_store.delete_event("a") is True
    assert not path.exists()  # A's own file goes with A


def test_purging_b_leaves_the_thumbnail_of_a(api_store: Any, a_and_b: Any) -> None:
    _, _, path = a_and_b
    result = api_store.purge(timedelta(days=35))  # B is older than that, A is not
    assert (result.events, result.thumbnails) == (1, 0)
    assert api_store.get_event("b") is None
    assert path.is_file()


def test_purging_b_by_size_leaves_the_thumbnail_of_a(
    api_store: Any, make_event: MakeEvent, tmp_path: Path
) -> None:
    a = make_event(event_id="a", retain=True)  # A is kept forever; B is the oldest
    api_store.insert_event(a)
    path = api_store.save_thumbnail("a", sample_frame(a))
    api_store.insert_event(make_event(event_id="b", timestamp=OLD, thumbnail_path=str(path)))
    assert api_store.purge(max_bytes=0) == 1
    assert api_store.get_event("b") is None
    assert path is not None and path.is_file()


def test_a_thumbnail_under_another_name_in_the_folder_is_not_deleted(
    api_store: Any, make_event: MakeEvent
) -> None:
    folder = Path(api_store.thumbnails_dir) / "front-door"
    folder.mkdir(parents=True)
    planted = folder / "keep-me.jpg"
    planted.write_bytes(b"not camvault's")
    api_store.insert_event(make_event(event_id="c", timestamp=OLD, thumbnail_path=str(planted)))
    assert api_store.purge(timedelta(days=30)) == 1
    assert planted.read_bytes() == b"not camvault's"
