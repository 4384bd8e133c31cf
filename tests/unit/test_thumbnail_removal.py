"""A thumbnail that cannot be removed (a folder in its place) never stops a purge or delete."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from camvault import Event, EventStore
from camvault.sample import sample_frame

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_a_folder_where_a_thumbnail_was_is_logged_and_the_rest_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with EventStore(tmp_path / "s.db") as store:
        events = [
            Event(event_id=f"f{i}", camera_id="porch", timestamp=T0 + timedelta(minutes=i))
            for i in range(3)
        ]
        store.insert_events(events)
        paths = []
        for ev in events:
            store.save_thumbnail(ev.event_id, sample_frame(ev, (32, 24)))
            paths.append(Path(store.get_event(ev.event_id).thumbnail_path))  # type: ignore[union-attr, arg-type]
        paths[0].unlink()
        paths[0].mkdir()  # something made a folder where the thumbnail was
        (paths[0] / "inside.txt").write_text("keep me")
        with caplog.at_level(logging.WARNING, logger="camvault"):
            assert store.delete_event("f0") is True
            removed = store.purge(older_than=timedelta(days=1))
        assert int(removed) == 2 and removed.thumbnails == 2
        assert not paths[1].exists() and not paths[2].exists()
        assert (paths[0] / "inside.txt").read_text() == "keep me"
        assert any("not removed" in r.getMessage() for r in caplog.records)
        assert store.get_event("f0") is None
    shutil.rmtree(paths[0])
