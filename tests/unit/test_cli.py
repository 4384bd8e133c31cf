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
        assert result.exit_code == 0 and "--db" in result.output
