"""Recovery from files damaged on purpose: overwritten pages, a truncated file, a broken WAL."""

from __future__ import annotations

import hashlib
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apsw
import pytest

from camvault import Event, EventStore, Person

from .conftest import CHILD_TIMEOUT, popen_child, run_cli

T0 = datetime(2026, 10, 1, tzinfo=UTC)
N = 3000


def originals() -> list[Event]:
    return [
        Event(
            event_id=f"r{i:05d}",
            camera_id=f"cam-{i % 4}",
            timestamp=T0 + timedelta(seconds=37 * i),
            detected_objects=[{"label": "person", "confidence": 0.5 + (i % 50) / 100}],
            llm_description=f"event {i}: someone walks past the {['gate', 'door'][i % 2]}",
            metadata={"n": i, "note": "x" * (i % 40)},
            retain=i % 7 == 0,
        )
        for i in range(N)
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def damaged_source(tmp_path: Path) -> Path:
    db = tmp_path / "old.db"
    with EventStore(db) as store:
        store.insert_events(originals())
        store.upsert_person(Person(name="alice", authorized=True))
    assert not Path(f"{db}-wal").exists() or Path(f"{db}-wal").stat().st_size == 0
    return db


def leaf_pages(db: Path) -> tuple[int, list[int]]:
    """The page size and the leaf pages of the events table, in order (camvault's SQLite)."""
    conn = apsw.Connection(str(db), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        size = conn.execute("PRAGMA page_size").fetchall()[0][0]
        pages = [
            row[0]
            for row in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
                "ORDER BY path"
            )
        ]
        return int(size), [int(p) for p in pages]  # type: ignore[arg-type]
    finally:
        conn.close()


def all_events(store: EventStore) -> list[Event]:
    """Every event of a store, page by page."""
    events: list[Event] = []
    cursor = None
    while True:
        page = store.query(limit=1000, cursor=cursor)
        events += page.events
        if page.next_cursor is None:
            return events
        cursor = page.next_cursor


def assert_recovered_exactly(dest: EventStore, lost_at_most: int) -> list[str]:
    """Every recovered event equals the original, field for field; few are missing."""
    want = {ev.event_id: ev for ev in originals()}
    got = all_events(dest)
    for ev in got:
        assert ev.model_dump(exclude={"thumbnail_path"}) == want[ev.event_id].model_dump(
            exclude={"thumbnail_path"}
        )
    assert N - lost_at_most <= len(got) < N
    return sorted(ev.event_id for ev in got)


def test_overwritten_pages_cost_only_their_rows(damaged_source: Path, tmp_path: Path) -> None:
    size, pages = leaf_pages(damaged_source)
    assert len(pages) > 20
    hit = [pages[len(pages) // 3], pages[2 * len(pages) // 3]]
    with damaged_source.open("r+b") as f:
        for page in hit:
            f.seek((page - 1) * size)
            f.write(os.urandom(size))
    before = digest(damaged_source)
    per_page = N // len(pages) + 1
    from camvault.recover import recover_store

    with EventStore(tmp_path / "new.db") as dest:
        report = recover_store(damaged_source, dest)
        ids = assert_recovered_exactly(dest, lost_at_most=4 * per_page)
        assert report.events == len(ids)
        assert report.persons == 1 and dest.get_person("alice") is not None
        # the survivors are still searchable and counted: indexes were rebuilt from the rows
        assert dest.count(text="gate") == sum(1 for i in ids if int(i[1:]) % 2 == 0)
    assert len(report.unreadable_ranges) >= 1
    assert report.expected == N and report.lost == N - len(ids)
    assert digest(damaged_source) == before  # the damaged file was never modified


def test_a_truncated_file_gives_up_its_first_part(damaged_source: Path, tmp_path: Path) -> None:
    with damaged_source.open("r+b") as f:
        f.truncate(int(damaged_source.stat().st_size * 0.6))
    from camvault.recover import recover_store

    with EventStore(tmp_path / "new.db") as dest:
        report = recover_store(damaged_source, dest)
        ids = assert_recovered_exactly(dest, lost_at_most=N)
    # the table's pages come roughly in row order: the rows of the first pages all survive
    assert ids[:1000] == [f"r{i:05d}" for i in range(1000)]
    assert report.unreadable_ranges and report.events == len(ids)


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from camvault import Event, EventStore
from camvault.backends.sqlite_options import SQLiteOptions
# no checkpoint at all: every commit stays in the WAL, whatever the machine's load
never = SQLiteOptions(checkpoint_pages=10**9, pragmas={"wal_autocheckpoint": 0})
store = EventStore(sys.argv[1], options=never)
for i in range(200):
    store.insert_event(Event(event_id=f"w{i:04d}", camera_id="gate",
                             timestamp=datetime(2026, 10, 1, tzinfo=UTC) + timedelta(seconds=i),
                             llm_description="y" * 3000))
    print(i, flush=True)
"""


def test_a_damaged_wal_loses_only_what_follows_the_damage(tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    EventStore(db).close()
    with popen_child(WRITER, [str(db)], stderr_path=tmp_path / "w.err") as (proc, lines):
        while lines.next() != "199":
            pass
        proc.send_signal(signal.SIGKILL)  # no clean close: the last commits live in the WAL
        proc.wait(timeout=CHILD_TIMEOUT)
    wal = Path(f"{db}-wal")
    assert wal.stat().st_size > 100_000
    with wal.open("r+b") as f:
        f.seek(wal.stat().st_size // 2)
        f.write(os.urandom(4096))
    from camvault.recover import recover_store

    with EventStore(tmp_path / "new.db") as dest:
        report = recover_store(db, dest)
        ids = sorted(ev.event_id for ev in all_events(dest))
    # committed one by one: what survives is every event up to the damage, none after it
    assert 0 < len(ids) < 200
    assert ids == [f"w{i:04d}" for i in range(len(ids))]
    assert report.events == len(ids)


def test_the_cli_reports_what_was_lost_with_exit_code_1(
    damaged_source: Path, tmp_path: Path
) -> None:
    size, pages = leaf_pages(damaged_source)
    with damaged_source.open("r+b") as f:
        f.seek((pages[len(pages) // 2] - 1) * size)
        f.write(b"\xff" * size)
    done = run_cli("recover", str(damaged_source), str(tmp_path / "new.db"))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("recovered ") and "1 persons" in lines[0]
    recovered = int(lines[0].split()[1].replace(",", ""))
    assert lines[1] == f"the damaged file lists {N:,} events: {N - recovered:,} lost"
    assert lines[2].startswith("unreadable: rows ")
    assert "Traceback" not in done.stderr


def test_recovering_into_a_store_that_holds_events_is_refused(
    damaged_source: Path, tmp_path: Path
) -> None:
    from camvault.errors import InvalidInputError
    from camvault.recover import recover_store

    with EventStore(tmp_path / "busy.db") as dest:
        dest.insert_event(Event(camera_id="porch"))
        with pytest.raises(InvalidInputError, match="empty store"):
            recover_store(damaged_source, dest)
        with pytest.raises(InvalidInputError, match="not a file"):
            recover_store(tmp_path / "missing.db", dest)


def test_opening_a_damaged_store_says_to_run_recover(damaged_source: Path) -> None:
    from camvault.errors import DatabaseError

    with damaged_source.open("r+b") as f:
        f.seek(100)  # page 1 past the file header: the schema
        f.write(b"\xa5" * 3000)
    with (
        pytest.raises(DatabaseError, match="camvault recover") as caught,
        EventStore(damaged_source) as store,
    ):
        store.count()
    assert str(damaged_source) in str(caught.value)
    done = run_cli("info", "--db", str(damaged_source))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and f"camvault recover {damaged_source} NEW.db" in line


def test_a_source_that_cannot_be_recovered_writes_nothing(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    for source, words in [
        (str(text), "is not a SQLite database"),
        ("postgresql://cam@db/camvault", "is a URL"),
        (str(tmp_path / "missing.db"), "is not a file"),
    ]:
        done = run_cli("recover", source, str(tmp_path / "new.db"))
        assert done.returncode == 1
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: invalid recover: source: ") and words in line
        assert not (tmp_path / "new.db").exists()
