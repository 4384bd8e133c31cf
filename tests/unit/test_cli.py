"""The CLI: thin commands, clean errors, help for every command, documented in the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camvault import EventStore
from camvault.cli import app
from camvault.migrations import load_migrations

runner = CliRunner()
README = Path(__file__).parents[2] / "README.md"


def test_demo_records_events_with_thumbnails(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["demo", "--db", str(db), "--events", "40"])
    assert result.exit_code == 0, result.output
    assert "newest events" in result.output
    with EventStore(db) as store:
        assert store.info()["events"] == 40
        with_thumbs = [e for e in store.query(limit=100).events if e.thumbnail_path]
        assert len(with_thumbs) == 40
        assert all(Path(e.thumbnail_path).is_file() for e in with_thumbs)  # type: ignore[arg-type]


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


def test_query_filters_json_and_count(demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        expected = store.count(label="person", min_confidence=0.5)
    args = ["query", "--db", str(demo_db), "-l", "person", "--min-confidence", "0.5"]
    counted = runner.invoke(app, [*args, "--count", "--json"])
    assert json.loads(counted.output) == {"count": expected}
    page = runner.invoke(app, [*args, "--limit", "5", "--json"])
    body = json.loads(page.output)
    assert len(body["events"]) == min(5, expected)
    assert all(
        any(o["label"] == "person" and o["confidence"] >= 0.5 for o in e["detected_objects"])
        for e in body["events"]
    )
    nxt = runner.invoke(app, [*args, "--limit", "5", "--json", "--cursor", body["next_cursor"]])
    assert not {e["event_id"] for e in json.loads(nxt.output)["events"]} & {
        e["event_id"] for e in body["events"]
    }
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
        (["purge", "--yes"], "older_than"),
        (["import", "missing.jsonl"], "no such file"),
        (["export", "out.xlsx"], "format"),
    ],
)
def test_cli_errors_are_clean(demo_db: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--db", str(demo_db)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_stats_table_and_json(demo_db: Path) -> None:
    args = ["stats", "--db", str(demo_db), "--by", "camera_id", "--since", "30d", "--json"]
    as_json = runner.invoke(app, args)
    rows = json.loads(as_json.output)
    with EventStore(demo_db) as store:
        assert sum(r["count"] for r in rows) == store.count(since=None)
    table = runner.invoke(app, ["stats", "--db", str(demo_db), "--bucket", "hour", "--by", "none"])
    assert table.exit_code == 0 and "events per hour" in table.output


def test_export_import_round_trip_through_the_cli(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    assert runner.invoke(app, ["export", str(out), "--db", str(demo_db)]).exit_code == 0
    copy = tmp_path / "copy.db"
    result = runner.invoke(app, ["import", str(out), "--db", str(copy), "--json"])
    assert json.loads(result.output)["inserted"] == 200
    again = runner.invoke(app, ["import", str(out), "--db", str(copy), "--json"])
    assert json.loads(again.output)["duplicates"] == 200
    stdout = runner.invoke(app, ["export", "-", "--db", str(demo_db), "--camera", "garage"])
    assert all(json.loads(line)["camera_id"] == "garage" for line in stdout.output.splitlines())


def test_import_reports_bad_lines_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"camera_id": "ok"}\n{"camera_id": ""}\n')
    result = runner.invoke(app, ["import", str(path), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "inserted 1" in result.output and "line 2:" in result.output


def test_purge_needs_confirmation_and_reports(demo_db: Path) -> None:
    refused = runner.invoke(app, ["purge", "--db", str(demo_db), "--older-than", "1d"])
    assert refused.exit_code == 1 and "--yes" in refused.output
    with EventStore(demo_db) as store:
        before = store.count()
    done = runner.invoke(
        app, ["purge", "--db", str(demo_db), "--older-than", "3d", "--yes", "--json"]
    )
    removed = json.loads(done.output)["events"]
    with EventStore(demo_db) as store:
        assert removed > 0 and store.count() == before - removed


def test_bench_prints_figures() -> None:
    result = runner.invoke(app, ["bench", "--events", "200", "--bulk", "2000", "--json"])
    figures = json.loads(result.output)
    assert figures["single insert p50 (us)"] > 0
    assert figures["bulk inserts per second"] > 0
    assert figures["full-text query p50 (us)"] > 0  # after importing older events
    assert figures["full-text query, oldest first p50 (us)"] > 0
