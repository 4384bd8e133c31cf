"""Schema migrations: versioned, applied on open, recorded, backed up first, never destructive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import apsw
import pytest

from camvault import Event, EventStore, MigrationError
from camvault.backends.sqlite import SQLiteBackend
from camvault.backends.sqlite_rows import INSERT_COLUMNS, event_to_row
from camvault.migrations import load_migrations
from tests.conftest import raw_connection

SHIPPED = Path(__file__).parents[2] / "camvault" / "migrations" / "sqlite"
LATEST = len(load_migrations("sqlite"))
NEXT = f"{LATEST + 1:04d}"
V1 = 16
"""Event columns (of INSERT_COLUMNS) that schema v1 has."""
V2 = 17
"""Event columns that schemas v2 to v4 have (v1's and retain)."""


def copy_shipped(folder: Path) -> Path:
    folder.mkdir()
    for src in SHIPPED.glob("*.sql"):
        (folder / src.name).write_text(src.read_text())
    return folder


def test_shipped_migrations_load_in_order() -> None:
    migrations = load_migrations("sqlite")
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "initial"


def test_new_database_records_its_version(
    fresh_store: EventStore, db_path: Path, engine: str
) -> None:
    conn = raw_connection(fresh_store)
    sql = "SELECT version, name, length(checksum) FROM schema_migrations ORDER BY version"
    rows = [tuple(row) for row in conn.execute(sql).fetchall()]
    assert rows == [(m.version, m.name, 64) for m in load_migrations(engine)]
    assert rows[0][:2] == (1, "initial")
    assert not list(db_path.parent.glob("*.bak"))  # nothing to back up in a new file


def test_upgrading_a_v1_database_backfills_search_and_rollups(
    tmp_path: Path, make_event: Callable[..., Event]
) -> None:
    v1 = tmp_path / "v1"
    v1.mkdir()
    (v1 / "0001_initial.sql").write_text((SHIPPED / "0001_initial.sql").read_text())
    db = tmp_path / "events.db"
    backend = SQLiteBackend(db, migrations_dir=v1)
    events = [make_event(llm_description=f"a red van number {i}") for i in range(5)]
    with backend.write_transaction("seed") as tx:
        for ev in events:  # v1 rows, written the way v1 wrote them
            tx.conn.execute("INSERT OR IGNORE INTO cameras VALUES (?, NULL, 0)", (ev.camera_id,))
            row = event_to_row(ev)[:V1]
            columns = ", ".join(INSERT_COLUMNS[:V1])
            tx.conn.execute(
                f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * len(row))})", row
            )
    backend.close()
    with EventStore(db) as store:
        assert store.info()["schema_version"] == LATEST
        assert store.count(text="van") == 5
        assert sum(b.count for b in store.histogram("day")) == 5


def test_pending_migration_backs_up_first_and_keeps_data(
    tmp_path: Path, make_event: Callable[..., Event]
) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    db = tmp_path / "events.db"
    ev = make_event()
    with EventStore(db) as store:
        store.insert_event(ev)
    (folder / f"{NEXT}_add_note.sql").write_text("ALTER TABLE events ADD COLUMN note TEXT;")
    backend = SQLiteBackend(db, migrations_dir=folder)
    try:
        assert backend.schema_version == LATEST + 1
        assert backend.backup_path is not None and backend.backup_path.exists()
        assert f".v{LATEST}-" in backend.backup_path.name
        assert backend.get_event(ev.event_id) == ev
    finally:
        backend.close()
    old = apsw.Connection(str(backend.backup_path))
    assert old.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(LATEST,)]
    assert old.execute("SELECT event_id FROM events").fetchall() == [(ev.event_id,)]


def test_failed_migration_leaves_the_database_as_it_was(
    tmp_path: Path, make_event: Callable[..., Event]
) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    db = tmp_path / "events.db"
    ev = make_event()
    with EventStore(db) as store:
        store.insert_event(ev)
    (folder / f"{NEXT}_broken.sql").write_text(
        "CREATE TABLE extra (x INTEGER); ALTER TABLE no_such_table ADD COLUMN y TEXT;"
    )
    with pytest.raises(MigrationError, match=rf"{NEXT}_broken.*previous version.*backup"):
        SQLiteBackend(db, migrations_dir=folder)
    with EventStore(db) as store:  # still at LATEST, still readable, 'extra' rolled back
        assert store.info()["schema_version"] == LATEST
        assert store.get_event(ev.event_id) == ev
    tables = apsw.Connection(str(db)).execute("SELECT name FROM sqlite_schema").fetchall()
    assert ("extra",) not in tables


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE events;",
        "ALTER TABLE events DROP COLUMN metadata;",
        "DELETE FROM events;",
        "drop   table persons",
        "CREATE TRIGGER t AFTER INSERT ON events BEGIN SELECT 1; END; DELETE FROM persons;",
    ],
)
def test_destructive_migrations_are_refused(tmp_path: Path, sql: str) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    (folder / f"{NEXT}_bad.sql").write_text(sql)
    with pytest.raises(MigrationError, match="would remove data"):
        load_migrations("sqlite", folder)


def test_trigger_bodies_do_not_count_as_destructive(tmp_path: Path) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    (folder / f"{NEXT}_trigger.sql").write_text(
        "CREATE TABLE log (x);\n"
        "CREATE TRIGGER trim AFTER INSERT ON log BEGIN DELETE FROM log WHERE x < 0; END;"
    )
    assert len(load_migrations("sqlite", folder)) == LATEST + 1


def test_comments_do_not_count_as_destructive(tmp_path: Path) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    (folder / f"{NEXT}_ok.sql").write_text(
        "-- we never DROP TABLE here\nCREATE INDEX i ON events(door_action);"
    )
    assert len(load_migrations("sqlite", folder)) == LATEST + 1


def test_two_migrations_with_one_version_are_refused(tmp_path: Path) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    (folder / "0001_again.sql").write_text("CREATE TABLE t (x);")
    with pytest.raises(MigrationError, match="share version 0001"):
        load_migrations("sqlite", folder)


@pytest.mark.parametrize(
    ("name", "message"),
    [(f"{LATEST + 2:04d}_gap.sql", "without gaps"), ("2_bad_name.sql", "NNNN_name.sql")],
)
def test_badly_named_or_gapped_migrations(tmp_path: Path, name: str, message: str) -> None:
    folder = copy_shipped(tmp_path / "migrations")
    (folder / name).write_text("CREATE TABLE t (x);")
    with pytest.raises(MigrationError, match=message):
        load_migrations("sqlite", folder)


def test_upgrading_a_v2_database_keys_its_text_index_by_time(
    tmp_path: Path, make_event: Callable[..., Event]
) -> None:
    from datetime import UTC, datetime, timedelta

    v2 = tmp_path / "v2"
    v2.mkdir()
    for name in ("0001_initial.sql", "0002_analysis.sql"):
        (v2 / name).write_text((SHIPPED / name).read_text())
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    stamps = [t0 - timedelta(minutes=i) for i in range(40)]  # inserted newest first
    stamps[5] = stamps[6] = stamps[7]  # three events of one instant
    events = [
        make_event(timestamp=ts, llm_description=f"a red van number {i}")
        for i, ts in enumerate(stamps)
    ]
    # stored before timestamps were bounded: model_copy skips today's range check
    events[9] = events[9].model_copy(update={"timestamp": datetime(2301, 1, 1, tzinfo=UTC)})
    events.insert(3, make_event(timestamp=t0, llm_description=None))
    db = tmp_path / "events.db"
    conn = apsw.Connection(str(db))
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)"
    )
    for step in load_migrations("sqlite", v2):  # a v2 file, written the way v2 wrote it
        conn.execute(step.sql)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, ?, 0)",
            (step.version, step.name, step.checksum),
        )
    columns = ", ".join(INSERT_COLUMNS[:V2])
    for i, ev in enumerate(events):
        conn.execute("INSERT OR IGNORE INTO cameras VALUES (?, NULL, 0)", (ev.camera_id,))
        row = event_to_row(ev)[:V2]
        conn.execute(f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * len(row))})", row)
        if i == 30:  # v2 indexed the first 31 rows; the rest is still pending
            conn.execute(
                "INSERT INTO events_fts (rowid, llm_description) SELECT e.id, e.llm_description "
                "FROM fts_pending p JOIN events e ON e.id = p.rowid"
            )
            conn.execute("DELETE FROM fts_pending")
    conn.close()
    described = [e for e in events if e.llm_description]
    rank = {e.event_id: i for i, e in enumerate(events)}
    with EventStore(db) as store:
        assert store.info()["schema_version"] == LATEST
        for order in ("newest", "oldest"):
            expected = sorted(
                described, key=lambda e: (e.timestamp, rank[e.event_id]), reverse=order == "newest"
            )
            got, cursor = [], None
            while True:
                page = store.query(text="van", limit=4, order=order, cursor=cursor)
                got += [e.event_id for e in page.events]
                if (cursor := page.next_cursor) is None:
                    break
            assert got == [e.event_id for e in expected]  # each exactly once, in time order
        assert store.count(text="van") == len(described)
        assert store.count(text="number 9") == 1
        for ev in (events[1], events[10], events[35]):  # indexed in v2, unordered, pending
            assert store.delete_event(ev.event_id)
        assert store.count(text="van") == len(described) - 3
        assert store.query(text="number", limit=1, order="oldest").events == [events[-1]]
    conn = apsw.Connection(str(db))
    conn.execute("INSERT INTO events_text (events_text) VALUES ('integrity-check')")
    fts = "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'van'"
    assert conn.execute(fts).fetchall() == [(0,)]  # the v2 index is retired, emptied


def test_upgrading_a_v3_database_keeps_positions_from_being_reused(
    tmp_path: Path, make_event: Callable[..., Event]
) -> None:
    v3 = tmp_path / "v3"
    v3.mkdir()
    for name in ("0001_initial.sql", "0002_analysis.sql", "0003_time_ordered_text.sql"):
        (v3 / name).write_text((SHIPPED / name).read_text())
    db = tmp_path / "events.db"
    backend = SQLiteBackend(db, migrations_dir=v3)
    events = [make_event(event_id=name) for name in ("a", "b", "c")]
    with backend.write_transaction("seed") as tx:
        for ev in events:  # rows 1, 2, 3 of a new table, written the way v3 wrote them
            tx.conn.execute("INSERT OR IGNORE INTO cameras VALUES (?, NULL, 0)", (ev.camera_id,))
            row = event_to_row(ev)[:V2]
            marks = ", ".join("?" * len(row))
            tx.conn.execute(
                f"INSERT INTO events ({', '.join(INSERT_COLUMNS[:V2])}) VALUES ({marks})", row
            )
    backend.close()
    with EventStore(db) as store:
        assert store.info()["schema_version"] == LATEST
        assert store.tail() == ([], 3)
        assert store.delete_event("c")
        assert store.tail() == ([], 3)  # c's position stays taken
        assert store.insert_event(make_event(event_id="d"))
        assert [e.event_id for e in store.tail(2)[0]] == ["d"]
        assert store.tail(3)[1] == 4
        assert store.purge(older_than=timedelta(days=1)) == 3  # empties the store
        assert store.insert_event(make_event(event_id="e"))
        after_d, position = store.tail(4)
        assert [e.event_id for e in after_d] == ["e"]
        assert position == 5
