"""Every filter is an option of query, stats and export, with its help from the filter list."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camvault import EventStore
from camvault.cli import app
from camvault.filters import FILTERS
from tests.lock_events import lock_events

runner = CliRunner()
T = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def lock_db(store_url: str) -> str:
    """Three events: alice let in, bob denied, a van on the drive (on every engine)."""
    with EventStore(store_url) as store:
        store.insert_events(lock_events(T))
    return store_url


@pytest.mark.parametrize("command", ["query", "stats", "export"])
def test_help_lists_every_filter_with_its_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for f in FILTERS:
        for option in f.cli:
            assert option.split("/")[0] in text, (command, option)
        assert f.help.split(":")[0] in text, (command, f.name)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--door-action", "denied"], {"e2"}),
        (["--door-action", "denied", "--door-action", "unlock"], {"e1", "e2"}),
        (["--granted"], {"e1"}),
        (["--not-granted"], {"e2"}),
        (["--without-thumbnail", "-c", "drive"], {"e3"}),
        (["--min-confidence", "0.8"], {"e1"}),
        (["-l", "car", "--min-confidence", "0.5"], {"e3"}),
        (["--person", "bob"], {"e2"}),
        (["-t", "van"], {"e3"}),
        (["--zone", "porch"], {"e1", "e2"}),
        (["--zone", "door", "--zone", "drive"], {"e1", "e3"}),
        (["--zone", "garden"], set()),
        (["--plate", "AB123CD"], {"e3"}),
        (["--plate", "AB1*"], {"e3"}),
        (["--plate", "AB123C"], set()),
        (["--plate", "AB2*"], set()),
        (["--source", "frigate", "--source", "mqtt"], {"e1", "e3"}),
        (["--in-progress"], {"e2", "e3"}),
        (["--ended"], {"e1"}),
        (["--in-progress", "--zone", "porch"], {"e2"}),
        (["--since", "2026-11-20T12:00Z", "--until", "2026-11-20T12:00:01Z"], {"e1", "e2", "e3"}),
        (["--until", "2026-11-20T12:00Z"], set()),
    ],
)
def test_every_filter_works_in_query_stats_and_export(
    lock_db: str, tmp_path: Path, args: list[str], expected: set[str]
) -> None:
    db = ["--db", str(lock_db)]
    found = runner.invoke(app, ["query", *db, "--json", *args])
    assert found.exit_code == 0, found.output
    assert {e["event_id"] for e in json.loads(found.output)["events"]} == expected
    window = ["--since", "2026-11-20"] if "--since" not in args else []
    stats = runner.invoke(app, ["stats", *db, "--json", "--by", "none", *window, *args])
    assert stats.exit_code == 0, stats.output
    assert sum(b["count"] for b in json.loads(stats.output)) == len(expected)
    out = tmp_path / "out.jsonl"
    exported = runner.invoke(app, ["export", str(out), *db, *args])
    assert exported.exit_code == 0, exported.output
    lines = out.read_text().splitlines()
    assert {json.loads(line)["event_id"] for line in lines} == expected


def test_a_bad_filter_value_names_its_option(lock_db: str) -> None:
    result = runner.invoke(app, ["stats", "--db", str(lock_db), "--until", "soon"])
    assert result.exit_code == 2
    assert re.search(r"--until: 'soon' is neither a date", result.output), result.output
    assert "Traceback" not in result.output
