"""copy_store and ``camvault copy``: an exact, resumable, streamed copy of a whole store.

The oracle is the source's own JSONL export read back with ``json`` (and the sample persons
and images as generated): the copy is compared field by field to it, never to the copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from camvault import EventStore, InvalidInputError
from camvault.cli import app
from camvault.copying import CHUNK, copy_store
from camvault.exchange import export_events, iter_events
from camvault.sample import SAMPLE_PERSONS, sample_events

runner = CliRunner()
THUMB_EVERY = 5
"""Every fifth sample event gets a thumbnail."""
EXTERNAL = "/media/nvr/clip-0001.jpg"
"""A thumbnail path a client set: a file camvault does not own, copied as the field it is."""


def image_for(index: int) -> Image.Image:
    """A small image whose size identifies the event it was made for."""
    return Image.new("RGB", (40 + index % 50, 30), (index % 256, 80, 160))


def evolve(events: list[Any]) -> None:
    """Give some events the fields of events that evolve (ended, zones, plate, source)."""
    for index, event in enumerate(events[:40]):
        event.zones = ["drive", "porch", "Einfahrt ü"][: index % 4]
        event.source = ("frigate", "mqtt", None)[index % 3]
        event.license_plate = f"AB{index:03d}" if index % 5 == 0 else None
        if index % 2:
            event.end_time = event.timestamp + timedelta(seconds=index, microseconds=7)


def make_source(path: Path, n: int = 300, thumbnails: bool = True) -> dict[str, tuple[int, int]]:
    """Fill a source store; return event id -> size of the image its thumbnail was made from."""
    events = list(sample_events(n, seed=7))
    events[0].retain = True
    events[3].retain = True
    events[1].metadata = {"nested": {"list": [1, 2.5, None, "ü"]}, "big": 2**62}
    events[2].thumbnail_path = EXTERNAL
    evolve(events)
    sizes: dict[str, tuple[int, int]] = {}
    with EventStore(path) as store:
        assert store.insert_events(events).inserted == n
        for person in SAMPLE_PERSONS:
            store.upsert_person(person)
        for index, event in enumerate(events):
            if thumbnails and index % THUMB_EVERY == 0 and index != 2:
                image = image_for(index)
                assert store.save_thumbnail(event.event_id, image) is not None
                sizes[event.event_id] = image.size
    return sizes


def exported(path: Path, tmp_path: Path) -> dict[str, dict[str, Any]]:
    """The source's events as its own JSONL export says, read with json."""
    dump = tmp_path / f"{path.stem}-export.jsonl"
    with EventStore(path, create=False) as store:
        export_events(store, dump)
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    return {r["event_id"]: r for r in records}


def assert_exact_copy(
    dst: Path, oracle: dict[str, dict[str, Any]], sizes: dict[str, tuple[int, int]]
) -> None:
    """The destination holds exactly the oracle's events, each field equal; thumbnails its own."""
    with EventStore(dst, create=False) as store:
        copied = {e.event_id: e for e in iter_events(store)}
        assert sorted(copied) == sorted(oracle)
        root = store.thumbnails_dir.resolve()
        for event_id, record in oracle.items():
            got = copied[event_id].model_dump(mode="json")
            their_thumb, our_thumb = record.pop("thumbnail_path"), got.pop("thumbnail_path")
            assert got == record, event_id
            if event_id in sizes:
                path = Path(our_thumb)
                assert path.resolve().is_relative_to(root), our_thumb
                with Image.open(path) as image:
                    assert (image.format, image.size) == ("JPEG", sizes[event_id])
            else:
                assert our_thumb == their_thumb  # None, or the client's own path
            record["thumbnail_path"] = their_thumb
        persons = {(p.name, p.authorized, p.notes) for p in store.list_persons()}
        assert persons == {(p.name, p.authorized, p.notes) for p in SAMPLE_PERSONS}


def test_copy_is_field_for_field_equal_to_the_source(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    oracle = exported(tmp_path / "src.db", tmp_path)
    assert sum(r["retain"] for r in oracle.values()) == 2
    assert any(r["thumbnail_path"] == EXTERNAL for r in oracle.values())
    seen: list[tuple[int, int]] = []
    report = copy_store(
        tmp_path / "src.db", tmp_path / "dst.db", progress=lambda d, t: seen.append((d, t))
    )
    assert report.complete, report.mismatch()
    assert (report.copied, report.already_there, report.failed) == (300, 0, 0)
    assert (report.persons, report.thumbnails, report.missing_thumbnails) == (3, len(sizes), 0)
    assert seen[-1] == (300, 300)
    assert_exact_copy(tmp_path / "dst.db", oracle, sizes)
    source_files = {p.name for p in (tmp_path / "src-thumbnails").rglob("*.jpg")}
    copied_files = {p.name for p in (tmp_path / "dst-thumbnails").rglob("*.jpg")}
    assert copied_files == source_files and len(copied_files) == len(sizes)


def test_a_rerun_copies_nothing_new(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    again = copy_store(f"sqlite:///{tmp_path}/src.db", f"sqlite:///{tmp_path}/dst.db")
    assert again.complete, again.mismatch()
    assert (again.copied, again.already_there, again.persons) == (0, 300, 0)
    assert (again.thumbnails, again.thumbnails_already_there) == (0, len(sizes))
    assert_exact_copy(tmp_path / "dst.db", exported(tmp_path / "src.db", tmp_path), sizes)


_CHILD = """
import sys
from camvault.copying import copy_store

def stop_after_first_chunk(done, total):
    print(done, total, flush=True)
    sys.stdin.read()            # wait here until killed

copy_store(sys.argv[1], sys.argv[2], progress=stop_after_first_chunk)
"""


def test_a_copy_killed_midway_then_rerun_is_exact(tmp_path: Path) -> None:
    n = 2 * CHUNK + 300
    sizes = make_source(tmp_path / "src.db", n)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path / "src.db"), str(tmp_path / "dst.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().split() == [str(CHUNK), str(n)]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    with EventStore(tmp_path / "dst.db", create=False) as partial:
        assert partial.count() == CHUNK
    report = copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    assert report.complete, report.mismatch()
    assert (report.copied, report.already_there) == (n - CHUNK, CHUNK)
    assert report.thumbnails + report.thumbnails_already_there == len(sizes)
    assert_exact_copy(tmp_path / "dst.db", exported(tmp_path / "src.db", tmp_path), sizes)


def test_a_copy_stopped_midway_then_rerun_is_exact(tmp_path: Path) -> None:
    n = CHUNK + 200
    sizes = make_source(tmp_path / "src.db", n)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_store(tmp_path / "src.db", tmp_path / "dst.db", progress=stop)
    report = copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    assert report.complete and (report.copied, report.already_there) == (200, CHUNK)
    assert_exact_copy(tmp_path / "dst.db", exported(tmp_path / "src.db", tmp_path), sizes)


def test_events_copied_without_their_thumbnails_get_them_on_a_rerun(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    oracle = exported(tmp_path / "src.db", tmp_path)
    # What a copy killed after a chunk's insert and before its thumbnails leaves behind.
    with EventStore(tmp_path / "dst.db") as dst:
        bare = [
            {**r, "thumbnail_path": None if r["event_id"] in sizes else r["thumbnail_path"]}
            for r in oracle.values()
        ]
        assert dst.insert_events(bare).inserted == 300
    report = copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    assert report.complete
    assert (report.copied, report.thumbnails, report.thumbnails_already_there) == (0, len(sizes), 0)
    assert_exact_copy(tmp_path / "dst.db", oracle, sizes)


def test_a_missing_thumbnail_file_is_reported_not_fatal(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    oracle = exported(tmp_path / "src.db", tmp_path)
    lost = next(iter(sizes))
    Path(oracle[lost]["thumbnail_path"]).unlink()
    report = copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    assert report.complete
    assert (report.copied, report.thumbnails, report.missing_thumbnails) == (300, len(sizes) - 1, 1)
    assert [event_id for event_id, _ in report.problems] == [lost]
    assert "thumbnail" in report.problems[0][1]
    with EventStore(tmp_path / "dst.db") as dst:
        event = dst.get_event(lost)
        assert event is not None and event.thumbnail_path is None


def test_a_thumbnail_file_that_is_not_an_image_is_reported(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    oracle = exported(tmp_path / "src.db", tmp_path)
    broken = list(sizes)[1]
    Path(oracle[broken]["thumbnail_path"]).write_bytes(b"not a jpeg")
    report = copy_store(tmp_path / "src.db", tmp_path / "dst.db")
    assert report.complete and report.missing_thumbnails == 1
    assert report.problems[0][0] == broken and "not readable as an image" in report.problems[0][1]


def test_a_destination_changed_during_the_copy_makes_the_counts_disagree(tmp_path: Path) -> None:
    make_source(tmp_path / "src.db", CHUNK + 50, thumbnails=False)
    first = next(iter(exported(tmp_path / "src.db", tmp_path)))
    with EventStore(tmp_path / "dst.db") as dst:

        def delete_one(done: int, total: int) -> None:
            if done == CHUNK:
                assert dst.delete_event(first)

        report = copy_store(tmp_path / "src.db", dst, progress=delete_one)
        assert (
            report.mismatch()
            == f"the destination gained {CHUNK + 49} event(s) but {CHUNK + 50} were copied"
        )
        assert copy_store(tmp_path / "src.db", dst).complete


def test_a_store_is_not_copied_into_itself(tmp_path: Path) -> None:
    with EventStore(tmp_path / "src.db") as store, pytest.raises(InvalidInputError, match="dst"):
        copy_store(store, store)


def test_events_that_arrive_behind_the_cursor_make_the_counts_disagree(tmp_path: Path) -> None:
    make_source(tmp_path / "src.db", CHUNK + 50, thumbnails=False)
    late = next(iter(sample_events(1, seed=99)))
    late.timestamp -= timedelta(days=3650)  # older than anything: behind the cursor
    with EventStore(tmp_path / "src.db") as src:

        def insert_late(done: int, total: int) -> None:
            if done == CHUNK:
                src.insert_event(late)

        report = copy_store(src, tmp_path / "dst.db", progress=insert_late)
        assert not report.complete
        assert report.mismatch() == f"read {CHUNK + 50} of {CHUNK + 51} source event(s)"
        assert copy_store(src, tmp_path / "dst.db").complete
    with EventStore(tmp_path / "dst.db") as dst:
        assert dst.get_event(late.event_id) == late


def _peak_copy(tmp_path: Path, n: int) -> int:
    """Peak traced Python memory while copying a store of ``n`` events."""
    make_source(tmp_path / f"src{n}.db", n, thumbnails=False)
    tracemalloc.start()
    try:
        report = copy_store(tmp_path / f"src{n}.db", tmp_path / f"dst{n}.db")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.complete and report.copied == n
    return peak


def test_memory_stays_flat_in_the_size_of_the_store(tmp_path: Path) -> None:
    small, large = _peak_copy(tmp_path, 2_000), _peak_copy(tmp_path, 20_000)
    assert large < 1.5 * small, (small, large)


def test_the_cli_copies_and_prints_a_summary(tmp_path: Path) -> None:
    sizes = make_source(tmp_path / "src.db")
    args = ["copy", str(tmp_path / "src.db"), f"sqlite:///{tmp_path}/new/dst.db"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"events copied 300, already there 0, failed 0; persons 3; thumbnails {len(sizes)}" in (
        result.output
    )
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["events_copied"], summary["already_there"], summary["complete"]) == (
        0,
        300,
        True,
    )
    assert_exact_copy(tmp_path / "new" / "dst.db", exported(tmp_path / "src.db", tmp_path), sizes)


@pytest.mark.parametrize(
    ("src", "dst", "message"),
    [
        ("{tmp}/src.db", "{tmp}/src.db", "dst: is the same database as the source"),
        ("{tmp}/src.db", "sqlite:///{tmp}/../{name}/./src.db", "dst: is the same database"),
        ("{tmp}/src.db", "{tmp}/link.db", "dst: is the same database"),
        ("{tmp}/missing.db", "{tmp}/dst.db", "source: no database at"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, src: str, dst: str, message: str) -> None:
    EventStore(tmp_path / "src.db").close()
    (tmp_path / "link.db").symlink_to(tmp_path / "src.db")
    args = [a.format(tmp=tmp_path, name=tmp_path.name) for a in ("copy", src, dst)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output
    assert not (tmp_path / "dst.db").exists()
