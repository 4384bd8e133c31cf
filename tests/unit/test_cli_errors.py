"""The CLI with the mistakes people make: URLs for --db, bad paths, bad options, stdin, zones."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from camvault import Event, EventStore
from camvault import cli as cli_module
from camvault.cli import app
from camvault.exchange import import_events

runner = CliRunner()


def one_line_error(result: object, code: int = 1) -> str:
    """Assert a clean failure: exit code, no traceback, one line on stderr; return the line."""
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    assert result.exception is None or isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    lines = result.stderr.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, result.stderr  # type: ignore[attr-defined]
    assert lines[0].startswith("error: ")
    return str(lines[0])


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    db = tmp_path / "small.db"
    with EventStore(db) as store:
        store.insert_event(
            Event(
                event_id="e1",
                camera_id="front-door",
                timestamp=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
                llm_description="A person walks up to the door.",
            )
        )
    return db


# -- --db takes a path or a URL -------------------------------------------------------------


def test_db_accepts_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(
        app, ["demo", "--db", "sqlite:///url.db", "--events", "5", "--no-thumbnails"]
    )
    assert made.exit_code == 0, made.output
    assert (tmp_path / "url.db").is_file()
    assert not (tmp_path / "sqlite:").exists()

    absolute = runner.invoke(app, ["info", "--db", f"sqlite:///{tmp_path}/url.db", "--json"])
    assert absolute.exit_code == 0, absolute.output
    assert json.loads(absolute.stdout)["path"] == str(tmp_path / "url.db")
    assert json.loads(absolute.stdout)["events"] == 5

    monkeypatch.setenv("CAMVAULT_DB", "sqlite:///url.db")
    counted = runner.invoke(app, ["query", "--count", "--json"])
    assert counted.exit_code == 0, counted.output
    assert json.loads(counted.stdout) == {"count": 5}


def test_db_urls_carry_engine_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(
        app, ["demo", "--db", "sqlite:///o.db?durability=full", "--events", "5", "--no-thumbnails"]
    )
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["o.db"]
    shown = runner.invoke(app, ["info", "--db", "sqlite:///o.db?durability=full&busy_timeout=2"])
    assert shown.exit_code == 0, shown.output
    info = json.loads(
        runner.invoke(app, ["info", "--json", "--db", "sqlite:///o.db?durability=full"]).stdout
    )
    assert (info["synchronous"], info["events"]) == ("FULL", 5)
    monkeypatch.setenv("CAMVAULT_DB", "sqlite:///o.db?busy_timeout=0.5")
    counted = runner.invoke(app, ["info", "--json"])
    assert json.loads(counted.stdout)["busy_timeout"] == 0.5


def test_unknown_url_options_are_one_line_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    for command in (["info"], ["demo", "--events", "5"], ["serve", "--port", port]):
        result = runner.invoke(app, [*command, "--db", "sqlite:///x.db?durabilty=full"])
        line = one_line_error(result)
        assert "durabilty: unknown option" in line and "durability" in line
    assert list(tmp_path.iterdir()) == []


def test_read_only_commands_refuse_a_missing_database_named_by_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in (["info"], ["query"], ["export", "-"]):
        result = runner.invoke(app, [*command, "--db", "sqlite:///missing.db"])
        line = one_line_error(result)
        assert f"no database at {tmp_path / 'missing.db'}" in line
    assert not (tmp_path / "missing.db").exists()


# -- file errors are one line ---------------------------------------------------------------


def test_export_into_a_missing_folder(small_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "no" / "such" / "out.jsonl"
    line = one_line_error(runner.invoke(app, ["export", str(dest), "--db", str(small_db)]))
    assert str(dest) in line and "does not exist" in line
    assert not dest.parent.exists()


def test_export_onto_a_folder(small_db: Path, tmp_path: Path) -> None:
    for fmt in ([], ["--format", "csv"]):
        result = runner.invoke(app, ["export", str(tmp_path), "--db", str(small_db), *fmt])
        line = one_line_error(result)
        assert f"{tmp_path} is a folder" in line and "file name" in line


@pytest.mark.parametrize(
    ("name", "content", "args"),
    [
        ("x.jsonl", b'{"camera_id": "a"}\n', ["--format", "parquet"]),
        ("fake.parquet", b"PAR1 this is not parquet at all", []),
        ("tiny.parquet", b"hi", []),
    ],
)
def test_import_of_what_is_not_parquet(
    tmp_path: Path, name: str, content: bytes, args: list[str]
) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    result = runner.invoke(app, ["import", str(src), "--db", str(tmp_path / "x.db"), *args])
    line = one_line_error(result)
    assert f"{src} is not a readable Parquet file" in line


def test_import_of_parquet_from_stdin_is_refused_before_any_write(tmp_path: Path) -> None:
    args = ["import", "-", "--format", "parquet", "--db", str(tmp_path / "x.db")]
    line = one_line_error(runner.invoke(app, args, input=b"PAR1"))
    assert "parquet cannot be read from a stream" in line
    assert not (tmp_path / "x.db").exists()


def test_import_of_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    result = runner.invoke(app, ["import", str(folder), "--db", str(tmp_path / "x.db")])
    line = one_line_error(result)
    assert f"{folder} is a folder, not a file" in line
    assert not (tmp_path / "x.db").exists()


# -- usage errors are one line, exit code 2, help stays rich ------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["query", "--since", "2026-13-45"], "error: --since: '2026-13-45' is not a valid date"),
        (
            ["query", "--lable", "person"],
            "error: no such option --lable (did you mean --label or --plate?)",
        ),
        (["query", "--limit", "0"], "error: --limit:"),
        (["query", "--min-confidence", "2"], "error: --min-confidence:"),
        (["stats", "--since", "yesterday"], "error: --since: 'yesterday' is neither"),
        (["export"], "error: missing argument DEST"),
        (["frobnicate"], "error: no such command 'frobnicate'"),
        (["query", "--limit"], "error: option '--limit' requires an argument"),
    ],
)
def test_usage_errors_are_one_line(small_db: Path, args: list[str], expected: str) -> None:
    result = runner.invoke(app, [args[0], "--db", str(small_db), *args[1:]])
    line = one_line_error(result, code=2)
    assert line.startswith(expected), line
    assert "╭" not in result.output and "Usage:" not in result.output


def test_help_stays_pretty() -> None:
    result = runner.invoke(app, ["query", "--help"])
    assert result.exit_code == 0
    assert "╭─ Options" in result.output and "--label" in result.output
    bare = runner.invoke(app, [])
    assert bare.exit_code == 2
    assert "Usage: " in bare.output and "query" in bare.output and "error" not in bare.output


# -- import from standard input -------------------------------------------------------------


def test_import_from_stdin_round_trips_an_export(small_db: Path, tmp_path: Path) -> None:
    exported = runner.invoke(app, ["export", "-", "--db", str(small_db)])
    assert exported.exit_code == 0
    copy = tmp_path / "copy.db"
    result = runner.invoke(
        app, ["import", "-", "--db", str(copy), "--json"], input=exported.stdout.encode()
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "inserted": 1,
        "duplicates": 0,
        "failed": 0,
        "errors": [],
    }
    with EventStore(copy) as store:
        event = store.get_event("e1")
        assert event is not None
        assert event.llm_description == "A person walks up to the door."


def test_import_from_stdin_reports_bad_lines(tmp_path: Path) -> None:
    data = b'{"camera_id": "ok"}\nnot json\n{"camera_id": ""}\n'
    result = runner.invoke(app, ["import", "-", "--db", str(tmp_path / "x.db")], input=data)
    assert result.exit_code == 1
    assert "inserted 1" in result.stdout
    assert "line 2: invalid JSON" in result.stderr and "line 3: camera_id:" in result.stderr


# -- --tz -----------------------------------------------------------------------------------


def test_query_table_shows_the_zone_and_converts_times(small_db: Path) -> None:
    result = runner.invoke(app, ["query", "--db", str(small_db), "--tz", "Europe/Berlin"])
    assert result.exit_code == 0, result.output
    assert "time (Europe/Berlin)" in result.output
    assert "2026-11-01 13:00:00" in result.output  # 12:00 UTC is 13:00 CET
    assert "12:00:00" not in result.output and "UTC" not in result.output
    plain = runner.invoke(app, ["query", "--db", str(small_db)])
    assert "time (UTC)" in plain.output and "2026-11-01 12:00:00" in plain.output


@pytest.mark.parametrize("command", [["query"], ["stats"], ["export", "-"], ["query", "--count"]])
def test_an_unknown_zone_is_refused_without_dates(small_db: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--db", str(small_db), "--tz", "Mars/Base"])
    line = one_line_error(result, code=2)
    assert line == "error: --tz: unknown time zone 'Mars/Base'"


# -- descriptions in the table ----------------------------------------------------------------


def test_shorten_cuts_at_a_word_boundary() -> None:
    assert cli_module.shorten("a short one", 60) == "a short one"
    assert cli_module.shorten("alpha beta gamma", 12) == "alpha beta…"
    assert cli_module.shorten("alpha beta gamma", 11) == "alpha beta…"
    assert cli_module.shorten("alpha beta, gamma", 13) == "alpha beta…"
    assert cli_module.shorten("abcdefghijklmnop", 8) == "abcdefg…"
    assert cli_module.shorten(None) == ""


def test_the_table_never_cuts_a_word(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "A delivery driver walks up the driveway carrying a parcel and rings the doorbell twice."
    assert text[59] not in " ,."  # the 60th character is inside a word
    db = tmp_path / "t.db"
    with EventStore(db) as store:
        store.insert_event(Event(camera_id="front-door", llm_description=text))
    monkeypatch.setattr(cli_module, "out", Console(width=300))
    result = runner.invoke(app, ["query", "--db", str(db)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "front-door" in line)
    cell = row.split("│")[-2].strip()
    assert cell.endswith("…") and len(cell) <= 60
    shown = cell.removesuffix("…")
    assert text.startswith(shown) and text[len(shown)] == " "


# -- CSV and Parquet JSON columns name the line and the column -------------------------------


def test_bad_json_cells_name_line_and_column(tmp_path: Path) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(
        "event_id,timestamp,camera_id,detected_objects,metadata\n"
        'a,2026-11-01T12:00:00Z,cam,[],"{""zone"": ""door""}"\n'
        "b,2026-11-01T12:00:01Z,cam,[],{bad\n"
        "c,2026-11-01T12:00:02Z,cam,[{oops,{}\n"
    )
    result = runner.invoke(app, ["import", str(src), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "inserted 1" in result.stdout
    assert "line 3: metadata: is not JSON" in result.stderr
    assert "line 4: detected_objects: is not JSON" in result.stderr


def test_bad_json_in_parquet_names_row_and_column(tmp_path: Path) -> None:
    src = tmp_path / "bad.parquet"
    table = pa.table(
        {
            "event_id": ["a", "b"],
            "timestamp": [datetime(2026, 11, 1, tzinfo=UTC)] * 2,
            "camera_id": ["cam", "cam"],
            "detected_objects": ["[]", "[]"],
            "metadata": ["{}", "{nope"],
        }
    )
    pq.write_table(table, src)
    with EventStore(tmp_path / "x.db") as store:
        report = import_events(store, src)
    assert report.inserted == 1 and report.failed == 1
    assert report.errors[0][0] == 2
    assert report.errors[0][1].startswith("metadata: is not JSON")
