"""The CLI: thin commands, clean errors, help for every command, documented in the README."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camvault import DetectedObject, Event, EventStore
from camvault.cli import app
from camvault.migrations import load_migrations
from camvault.sample import sample_events, sample_frame
from tests.sqlite_file import read_closed

runner = CliRunner()
README = Path(__file__).parents[2] / "README.md"


def ids(events: list[Event], *, newest_first: bool = True) -> list[str]:
    """The ids of events in time order."""
    ordered = sorted(events, key=lambda e: e.timestamp, reverse=newest_first)
    return [e.event_id for e in ordered]


def test_demo_records_events_with_thumbnails(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--events", "40"])
    assert result.exit_code == 0, result.output
    assert "newest events" in result.output
    thumbs = [row[0] for row in read_closed(db, "SELECT thumbnail_path FROM events")]
    assert len(thumbs) == 40
    assert all(t is not None and Path(t).is_file() for t in thumbs)


def test_info_json(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    EventStore(db).close()
    result = runner.invoke(app, ["info", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["schema_version"] == len(load_migrations("sqlite"))


def test_database_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    EventStore(db).close()
    monkeypatch.setenv("CAMVAULT_DB", str(db))
    result = runner.invoke(app, ["info", "--json"])
    assert json.loads(result.output)["path"] == str(db)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "--db", "{tmp}/missing.db"], "no database at"),
        (["info", "--db", "{tmp}"], "is a folder"),
    ],
)
def test_errors_are_one_clean_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text()
    commands = app.registered_commands
    assert commands
    for command in commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert command.callback is not None and command.callback.__doc__, name
        assert re.search(rf"camvault {name}\b", readme), f"'camvault {name}' missing from README"
        result = runner.invoke(app, [name, "--help"])
        # recover names both files (damaged and new) as arguments, as the issue spells it
        assert result.exit_code == 0 and ("--db" in result.output or name == "recover")


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--events", "200", "--no-thumbnails"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def sample_db(tmp_path: Path) -> tuple[Path, list[Event]]:
    """A store of 200 sample events from the last week, and those events (the oracle)."""
    db = tmp_path / "sample.db"
    events = list(sample_events(200, seed=7))
    with EventStore(db) as store:
        store.insert_events(events)
    return db, events


def test_query_filters_json_and_count(sample_db: tuple[Path, list[Event]]) -> None:
    db, events = sample_db
    people = [
        e
        for e in events
        if any(o.label == "person" and o.confidence >= 0.5 for o in e.detected_objects)
    ]
    assert 10 < len(people) < len(events)
    args = ["query", "--db", str(db), "-l", "person", "--min-confidence", "0.5"]
    counted = runner.invoke(app, [*args, "--count", "--json"])
    assert json.loads(counted.output) == {"count": len(people)}
    page = runner.invoke(app, [*args, "--limit", "5", "--json"])
    body = json.loads(page.output)
    assert [e["event_id"] for e in body["events"]] == ids(people)[:5]
    nxt = runner.invoke(app, [*args, "--limit", "5", "--json", "--cursor", body["next_cursor"]])
    assert [e["event_id"] for e in json.loads(nxt.output)["events"]] == ids(people)[5:10]
    table = runner.invoke(app, [*args, "--limit", "3"])
    assert table.exit_code == 0 and "next page: --cursor" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "--since", "yesterday"], "neither a date/time"),
        (["query", "--tz", "Mars/Base", "--since", "2026-01-01"], "unknown time zone"),
        (["query", "--text", '"unclosed'], "full-text"),
        (["stats", "--bucket", "week"], "bucket"),
        (["purge", "--older-than", "soon", "--yes"], "not an age"),
        (["purge", "--max-size", "lots", "--yes"], "not a size"),
        (["purge", "--yes"], "--older-than 30d, --max-size 5GB or both"),
        (["purge", "--older-than", "0d", "--yes"], "'0d': give an age longer than 0"),
        (["import", "missing.jsonl"], "no such file"),
        (["export", "out.xlsx"], "format"),
    ],
)
def test_cli_errors_are_clean(demo_db: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--db", str(demo_db)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_stats_table_and_json(sample_db: tuple[Path, list[Event]]) -> None:
    db, events = sample_db
    args = ["stats", "--db", str(db), "--by", "camera_id", "--since", "30d", "--json"]
    rows = json.loads(runner.invoke(app, args).output)
    got = {(datetime.fromisoformat(r["start"]), r["key"]): r["count"] for r in rows}
    per_day = Counter(
        (datetime.combine(e.timestamp.date(), datetime.min.time(), UTC), e.camera_id)
        for e in events
    )
    assert got == dict(per_day)
    table = runner.invoke(app, ["stats", "--db", str(db), "--bucket", "hour", "--by", "none"])
    assert table.exit_code == 0 and "events per hour" in table.output


def test_export_import_round_trip_through_the_cli(
    sample_db: tuple[Path, list[Event]], tmp_path: Path
) -> None:
    db, events = sample_db
    out = tmp_path / "all.jsonl"
    assert runner.invoke(app, ["export", str(out), "--db", str(db)]).exit_code == 0
    copy = tmp_path / "copy.db"
    result = runner.invoke(app, ["import", str(out), "--db", str(copy), "--json"])
    assert json.loads(result.output)["inserted"] == 200
    again = runner.invoke(app, ["import", str(out), "--db", str(copy), "--json"])
    assert json.loads(again.output)["duplicates"] == 200
    copied = read_closed(copy, "SELECT event_id, camera_id, llm_description FROM events")
    assert sorted(copied) == sorted((e.event_id, e.camera_id, e.llm_description) for e in events)
    stdout = runner.invoke(app, ["export", "-", "--db", str(db), "--camera", "garage"])
    exported = [json.loads(line)["event_id"] for line in stdout.output.splitlines()]
    garage = [e for e in events if e.camera_id == "garage"]
    assert garage and exported == ids(garage, newest_first=False)


def test_import_reports_bad_lines_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"camera_id": "ok"}\n{"camera_id": ""}\n')
    result = runner.invoke(app, ["import", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "inserted 1" in result.output and "line 2:" in result.output


AGES_IN_HOURS = {"h1": 1, "d1": 24, "d2": 48, "d4": 96, "d5": 120, "d10": 240}
"""Events of a purge test by id, and their age: --older-than 3d keeps the first three."""


def test_purge_needs_confirmation_and_reports(tmp_path: Path) -> None:
    db = tmp_path / "purge.db"
    now = datetime.now(UTC)
    events = [
        Event(
            event_id=name,
            camera_id="porch",
            timestamp=now - timedelta(hours=hours),
            detected_objects=[DetectedObject(label="cat", confidence=0.7, bbox=(0, 0, 1, 1))],
        )
        for name, hours in AGES_IN_HOURS.items()
    ]
    with EventStore(db) as store:
        store.insert_events(events)
        files = {
            e.event_id: store.save_thumbnail(e.event_id, sample_frame(e, (64, 36))) for e in events
        }
    assert all(path is not None and path.is_file() for path in files.values())
    refused = runner.invoke(app, ["purge", "--db", str(db), "--older-than", "1d"])
    assert refused.exit_code == 1 and "--yes" in refused.output
    assert sorted(row[0] for row in read_closed(db, "SELECT event_id FROM events")) == sorted(files)
    done = runner.invoke(app, ["purge", "--db", str(db), "--older-than", "3d", "--yes", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == {"events": 3, "thumbnails": 3}
    survivors = {"h1", "d1", "d2"}
    assert {row[0] for row in read_closed(db, "SELECT event_id FROM events")} == survivors
    assert read_closed(db, "SELECT count(*) FROM detections") == [(3,)]  # one per survivor
    assert {name for name, path in files.items() if path.is_file()} == survivors  # type: ignore[union-attr]


def test_bench_prints_figures() -> None:
    result = runner.invoke(app, ["bench", "--events", "200", "--bulk", "2000", "--json"])
    figures = json.loads(result.output)
    assert figures["single insert p50 (us)"] > 0
    assert figures["bulk inserts per second"] > 0
    assert figures["full-text query p50 (us)"] > 0  # after importing older events
    assert figures["full-text query, oldest first p50 (us)"] > 0
