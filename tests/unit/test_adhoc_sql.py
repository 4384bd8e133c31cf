"""Ad-hoc SQL: reads answered from one snapshot, every kind of write refused, on every engine."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from camvault import AsyncEventStore, Event, EventStore
from camvault.errors import InvalidQueryError
from tests.conftest import POSTGRES_URL, drop_schema, postgres_url, raw_connection

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def placeholder(store: EventStore) -> str:
    return "?" if store.info()["engine"] == "sqlite" else "%s"


@pytest.fixture
def filled(store_url: str) -> Any:
    with EventStore(store_url) as store:
        store.insert_events(
            [
                Event(
                    event_id=f"q{i}",
                    camera_id=["porch", "gate"][i % 2],
                    timestamp=T0 + timedelta(minutes=i),
                )
                for i in range(9)
            ]
        )
        yield store


def test_a_query_answers_with_columns_and_rows(filled: EventStore) -> None:
    p = placeholder(filled)
    result = filled.sql(
        f"SELECT camera_id, count(*) AS n FROM events WHERE camera_id <> {p} "
        "GROUP BY camera_id ORDER BY camera_id",
        ["nowhere"],
    )
    assert result.columns == ["camera_id", "n"]
    assert [tuple(r) for r in result.rows] == [("gate", 4), ("porch", 5)]  # counted by hand
    assert list(result) == [{"camera_id": "gate", "n": 4}, {"camera_id": "porch", "n": 5}]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM events",
        "UPDATE events SET camera_id = 'x'",
        "INSERT INTO cameras (camera_id, created_at) VALUES ('x', 0)",
        "DROP TABLE events",
        "CREATE TABLE stolen (x INTEGER)",
    ],
)
def test_every_write_is_refused_and_nothing_changes(filled: EventStore, statement: str) -> None:
    with pytest.raises(InvalidQueryError, match="only reads are allowed") as caught:
        filled.sql(statement)
    assert caught.value.problems[0][0] == "query"
    conn = raw_connection(filled)
    count = conn.execute("SELECT count(*) FROM events").fetchall()[0][0]
    assert count == 9


def test_sqlite_settings_cannot_be_switched_off(tmp_path: Path) -> None:
    filled = EventStore(tmp_path / "s.db")
    filled.insert_events([Event(event_id=f"q{i}", camera_id="porch") for i in range(9)])
    for statement in (
        "PRAGMA query_only = 0",
        "PRAGMA writable_schema = 1",
        f"ATTACH '{tmp_path / 'x.db'}' AS x",
    ):
        with pytest.raises(InvalidQueryError, match="only reads"):
            filled.sql(statement)
    assert not (tmp_path / "x.db").exists()
    assert filled.sql("PRAGMA table_info(events)").rows  # describing pragmas work
    with pytest.raises(InvalidQueryError, match="only reads"):
        filled.sql("DELETE FROM events")  # query_only is still on after all that
    filled.close()


@pytest.mark.skipif(POSTGRES_URL is None, reason="CAMVAULT_TEST_POSTGRES_URL is not set")
def test_postgres_session_changes_never_reach_the_store(tmp_path: Path) -> None:
    url = postgres_url(tmp_path)
    try:
        with EventStore(url) as filled:
            filled.insert_events([Event(event_id=f"q{i}", camera_id="porch") for i in range(9)])
            filled.sql("SELECT set_config('search_path', 'public', false)")
            assert filled.count() == 9  # camvault's own connections still find their schema
            assert len(filled.query(limit=100).events) == 9
    finally:
        drop_schema(url)


def test_bad_sql_and_bad_arguments_are_named(filled: EventStore) -> None:
    with pytest.raises(InvalidQueryError, match="syntax error") as caught:
        filled.sql("SELEC 1")
    assert caught.value.problems[0][0] == "query"
    for query, params, field in [
        ("", [], "query"),
        ("SELECT 1", "x", "params"),
        (None, [], "query"),
    ]:
        with pytest.raises(InvalidQueryError) as bad:
            filled.sql(query, params)  # type: ignore[arg-type]
        assert bad.value.problems[0][0] == field


async def test_the_async_store_runs_sql_too(filled: EventStore, store_url: str) -> None:
    async with AsyncEventStore(store_url) as astore:
        result = await astore.sql("SELECT count(*) FROM events")
    assert result.rows[0][0] == 9


def test_the_cli_prints_rows_and_json(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with EventStore(db) as store:
        store.insert_events([Event(event_id=f"c{i}", camera_id="porch") for i in range(3)])
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "camvault", *args, "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = cli(
        "sql",
        "SELECT event_id FROM events WHERE camera_id = ? ORDER BY event_id",
        "--param",
        "porch",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"columns": ["event_id"], "rows": [["c0"], ["c1"], ["c2"]]}'
    refused = cli("sql", "DELETE FROM events")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: invalid sql: query: only reads are allowed here (attempt to write a readonly "
        "database); camvault changes the store itself"
    ]
