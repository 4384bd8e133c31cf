"""Faults made real: nothing committed is lost, errors say what to do, the store recovers.

Each test drives a real SQLite file into the fault (a size limit, file permissions, a
SIGKILL, another process holding the write lock, four writers at once, a foreign or newer
file), checks the error camvault raises, then checks that every acknowledged event is still
there, whole, and that the store works again once the cause is gone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import apsw
import pytest

from camvault import (
    DatabaseBusyError,
    DatabaseError,
    DatabaseWriteError,
    Event,
    EventStore,
    MigrationError,
)
from camvault.backends import SQLiteOptions
from camvault.backends.sqlite_errors import translate
from camvault.migrations import load_migrations
from camvault.sample import sample_events

from .conftest import (
    CHILD_TIMEOUT,
    FIXED_END,
    assert_same_event,
    child_json,
    popen_child,
    run_unprivileged,
    size_limit,
)

# -- shared checks ----------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_file_is_sound(path: Path) -> None:
    """The database passes SQLite's own integrity and foreign-key checks."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def assert_detection_rows_match(path: Path, expected: dict[str, Event]) -> None:
    """Every stored event is expected, and its detections table rows match it exactly."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        stored = [r[0] for r in conn.execute("SELECT event_id FROM events")]
        rows: dict[str, list[tuple[object, ...]]] = {}
        for event_id, *row in conn.execute(
            "SELECT e.event_id, d.idx, d.label, d.confidence, d.x1, d.y1, d.x2, d.y2, d.ts = e.ts "
            "FROM detections d JOIN events e ON e.id = d.event_rowid ORDER BY e.event_id, d.idx"
        ):
            rows.setdefault(event_id, []).append(tuple(row))
    finally:
        conn.close()
    assert not set(stored) - set(expected), "events stored that were never written"
    for event_id in stored:
        want = [
            (i, o.label, o.confidence, *(o.bbox or (None,) * 4), 1)
            for i, o in enumerate(expected[event_id].detected_objects)
        ]
        assert rows.get(event_id, []) == want, f"detections of {event_id}"


# -- a: disk full -------------------------------------------------------------------------


def test_disk_full_loses_nothing_and_a_reopened_store_works(db_path: Path) -> None:
    acknowledged: list[Event] = []
    store = EventStore(db_path, options=SQLiteOptions(pragmas=size_limit(40)))
    try:
        error: DatabaseWriteError | None = None
        for ev in sample_events(5000, seed=21, end=FIXED_END):
            try:
                assert store.insert_event(ev) is True
            except DatabaseWriteError as exc:
                failing, error = ev, exc
                break
            acknowledged.append(ev)
        assert error is not None, "the size limit was never reached"
        assert len(acknowledged) > 20
        assert not isinstance(error, DatabaseBusyError)
        assert isinstance(error.__cause__, apsw.FullError)
        message = str(error)
        assert "disk is full" in message and "size limit" in message
        assert str(db_path) in message and "nothing of this write was kept" in message

        assert store.get_event(failing.event_id) is None
        for ev in acknowledged:  # the same store still reads everything while full
            assert_same_event(store.get_event(ev.event_id), ev)
        with pytest.raises(DatabaseWriteError, match="size limit"):
            store.insert_events([failing, *sample_events(3, seed=23, end=FIXED_END)])
        assert store.get_event(failing.event_id) is None
        assert store.info()["events"] == len(acknowledged)
    finally:
        store.close()

    assert_file_is_sound(db_path)
    with EventStore(db_path, create=False) as store:  # the cause is gone: no size limit
        for ev in acknowledged:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.insert_event(failing) is True
        more = list(sample_events(300, seed=22, end=FIXED_END))
        assert store.insert_events(more).inserted == len(more)
        for ev in [*acknowledged, failing, *more]:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.info()["events"] == len(acknowledged) + 1 + len(more)


def test_full_store_recovers_in_place_after_purge(db_path: Path) -> None:
    now = datetime.now(UTC)
    recent = list(sample_events(20, seed=31, end=now, span=timedelta(hours=1)))
    old = sample_events(5000, seed=32, end=now - timedelta(days=30), span=timedelta(days=1))
    with EventStore(db_path, options=SQLiteOptions(pragmas=size_limit(40))) as store:
        assert store.insert_events(recent).inserted == len(recent)
        old_stored, blocked = 0, None
        for ev in old:
            try:
                store.insert_event(ev)
            except DatabaseWriteError as exc:
                assert "size limit" in str(exc)
                blocked = ev
                break
            old_stored += 1
        assert blocked is not None and old_stored > 20
        with pytest.raises(DatabaseWriteError, match="size limit"):  # still full
            store.insert_event(blocked)

        assert store.purge(timedelta(days=10)) == old_stored
        for ev in recent:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.insert_event(blocked) is True  # the freed pages are reused
        fresh = list(sample_events(100, seed=33, end=now, span=timedelta(minutes=5)))
        assert store.insert_events(fresh).inserted == len(fresh)
        for ev in [*recent, blocked, *fresh]:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.info()["events"] == len(recent) + 1 + len(fresh)
    assert_file_is_sound(db_path)


# -- b: read-only file and folder ---------------------------------------------------------

_READ_ONLY_CHILD = """
def describe(exc):
    return {
        "types": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc),
        "cause": type(exc.__cause__).__name__,
    }

report = {"euid": os.geteuid(), "cases": {}}
for case in json.loads(sys.argv[1]):
    path = case["path"]
    out = report["cases"][case["name"]] = {
        "folder_writable": os.access(os.path.dirname(path), os.W_OK),
        "file_writable": os.access(path, os.W_OK),
    }
    try:
        store = EventStore(path, slow_insert_ms=1e9)
    except Exception as exc:
        out["open"] = describe(exc)
        continue
    out["open"] = "ok"
    try:
        out["read"] = {}
        for event_id in case["read"]:
            ev = store.get_event(event_id)
            out["read"][event_id] = None if ev is None else ev.model_dump_json()
        try:
            out["insert"] = store.insert_event(Event(event_id="from-child", camera_id="child"))
        except Exception as exc:
            out["insert"] = describe(exc)
        out["read_after_insert"] = store.get_event(case["read"][0]) is not None
    finally:
        store.close()
print(json.dumps(report))
"""


def _run_read_only_cases(cases: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    report = child_json(run_unprivileged(_READ_ONLY_CHILD, [json.dumps(cases)]))
    assert report["euid"] != 0, "the child must not run as root (root ignores permissions)"
    cases_out: dict[str, dict[str, object]] = report["cases"]
    return cases_out


def _stored_events(path: Path, n: int, seed: int) -> list[Event]:
    events = list(sample_events(n, seed=seed, end=FIXED_END))
    with EventStore(path) as store:
        assert store.insert_events(events).inserted == n
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no -wal/-shm left
    return events


def test_read_only_database_and_folder(shared_dir: Path) -> None:
    folder = shared_dir / "locked"
    folder.mkdir()
    path = folder / "events.db"
    events = _stored_events(path, 10, seed=41)
    path.chmod(0o444)
    folder.chmod(0o555)
    before = _digest(path)

    out = _run_read_only_cases(
        [{"name": "ro", "path": str(path), "read": [e.event_id for e in events]}]
    )["ro"]
    assert out["folder_writable"] is False and out["file_writable"] is False

    # Tried: camvault refuses at open, saying why. SQLite itself cannot read a WAL database
    # whose -shm file it can neither find nor create (SQLITE_READONLY_CANTINIT), so a
    # read-only open could not serve reads here either.
    opened = out["open"]
    assert opened != "ok", f"open unexpectedly succeeded: {out}"
    assert isinstance(opened, dict)
    assert "DatabaseError" in opened["types"]
    assert "read-only" in opened["message"] and str(path) in opened["message"]
    assert "writable" in opened["message"]

    assert _digest(path) == before, "a failed open changed the database file"
    folder.chmod(0o755)
    with EventStore(path, create=False) as store:  # the owner still has every event
        for ev in events:
            assert_same_event(store.get_event(ev.event_id), ev)


def test_read_only_database_in_writable_folder_reads_but_refuses_writes(
    shared_dir: Path,
) -> None:
    folder = shared_dir / "open"
    folder.mkdir()
    path = folder / "events.db"
    events = _stored_events(path, 10, seed=42)
    path.chmod(0o444)
    folder.chmod(0o777)  # the child may create -wal/-shm, but not write the database
    before = _digest(path)

    out = _run_read_only_cases(
        [{"name": "ro-file", "path": str(path), "read": [e.event_id for e in events]}]
    )["ro-file"]
    assert out["folder_writable"] is True and out["file_writable"] is False

    assert out["open"] == "ok", f"a read-only file must still open for reads: {out}"
    read = out["read"]
    assert isinstance(read, dict)
    for ev in events:
        assert read[ev.event_id] is not None, f"{ev.event_id} not readable"
        assert_same_event(Event.model_validate_json(read[ev.event_id]), ev)
    insert = out["insert"]
    assert isinstance(insert, dict), f"insert into a read-only file did not fail: {insert}"
    assert "DatabaseWriteError" in insert["types"]
    assert "read-only" in insert["message"] and str(path) in insert["message"]
    assert out["read_after_insert"] is True

    assert _digest(path) == before
    with EventStore(path, create=False) as store:
        assert store.get_event("from-child") is None
        for ev in events:
            assert_same_event(store.get_event(ev.event_id), ev)


def test_unwritable_folder_without_database_fails_at_open_naming_the_path(
    shared_dir: Path,
) -> None:
    folder = shared_dir / "nowrite"
    folder.mkdir()
    folder.chmod(0o555)
    path, nested = folder / "events.db", folder / "sub" / "events.db"

    out = _run_read_only_cases(
        [
            {"name": "new", "path": str(path), "read": []},
            {"name": "nested", "path": str(nested), "read": []},
        ]
    )
    assert out["new"]["folder_writable"] is False
    opened = out["new"]["open"]
    assert isinstance(opened, dict), f"open in an unwritable folder succeeded: {out['new']}"
    assert "DatabaseError" in opened["types"]
    assert str(path) in opened["message"] and "writable" in opened["message"]

    opened = out["nested"]["open"]
    assert isinstance(opened, dict), f"open under an unwritable folder succeeded: {out}"
    assert "DatabaseError" in opened["types"]
    assert str(nested.parent) in opened["message"]
    assert "Permission denied" in opened["message"]
    assert list(folder.iterdir()) == []


# -- c: kill -9 ---------------------------------------------------------------------------

_KILL_N, _KILL_SEED = 20_000, 51

_KILL_CHILD = f"""
import sys
from datetime import datetime
from camvault import EventStore
from camvault.sample import sample_events

store = EventStore(sys.argv[1], slow_insert_ms=1e9)
batch = []
for i, ev in enumerate(
    sample_events({_KILL_N}, seed={_KILL_SEED}, end=datetime.fromisoformat(sys.argv[2]))
):
    ev.event_id = f"kill-{{i:06d}}"
    if i % 10 < 7:
        if store.insert_event(ev):
            print(ev.event_id, flush=True)
    else:
        batch.append(ev)
        if len(batch) == 3:
            if store.insert_events(batch).inserted == 3:
                print("\\n".join(e.event_id for e in batch), flush=True)
            batch = []
"""


def test_kill_9_loses_no_acknowledged_event(db_path: Path, tmp_path: Path) -> None:
    args = [str(db_path), FIXED_END.isoformat()]
    with popen_child(_KILL_CHILD, args, stderr_path=tmp_path / "child.err") as (proc, lines):
        printed = []
        while len(printed) < 300:
            line = lines.next()
            assert line is not None, (tmp_path / "child.err").read_text()
            printed.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=CHILD_TIMEOUT) == -signal.SIGKILL
        printed += lines.rest()  # acknowledged before the kill, read after it

    acknowledged = [i for i in printed if re.fullmatch(r"kill-\d{6}", i)]
    assert len(acknowledged) >= 300 and len(set(acknowledged)) == len(acknowledged)
    last = max(int(i.removeprefix("kill-")) for i in acknowledged)
    expected: dict[str, Event] = {}
    for i, ev in enumerate(
        islice(sample_events(_KILL_N, seed=_KILL_SEED, end=FIXED_END), last + 20)
    ):
        ev.event_id = f"kill-{i:06d}"
        expected[ev.event_id] = ev

    assert_file_is_sound(db_path)
    assert_detection_rows_match(db_path, expected)
    with EventStore(db_path, create=False) as store:
        for event_id in acknowledged:
            assert_same_event(store.get_event(event_id), expected[event_id])
        assert store.insert_event(Event(camera_id="front-door", event_id="after-kill"))
    assert_file_is_sound(db_path)


# -- d: another process holds the write lock ----------------------------------------------

_LOCK_CHILD = """
import sys, time
import apsw

path, mode = sys.argv[1], sys.argv[2]
conn = apsw.Connection(path)
conn.set_busy_timeout(10_000)
conn.execute("BEGIN IMMEDIATE")
conn.execute(
    "INSERT INTO persons (name, authorized, notes, created_at, updated_at) "
    "VALUES (?, 0, NULL, 0, 0)",
    (f"lock-holder-{mode}",),
)
print("locked", flush=True)
if mode == "sleep":
    time.sleep(0.7)
else:
    sys.stdin.readline()  # hold the lock until the parent says so
released = time.monotonic()
conn.execute("COMMIT")
print(f"committed {released!r}", flush=True)
conn.close()
"""


def _committed_at(line: str | None) -> float:
    assert line is not None and line.startswith("committed "), f"child printed {line!r}"
    return float(line.split()[1])


def test_insert_waits_for_another_process_holding_the_write_lock(
    db_path: Path, tmp_path: Path
) -> None:
    before = list(sample_events(5, seed=61, end=FIXED_END))
    waiting = Event(camera_id="front-door", event_id="waited-for-lock")
    with EventStore(db_path) as store:
        store.insert_events(before)
        err = tmp_path / "child.err"
        with popen_child(_LOCK_CHILD, [str(db_path), "sleep"], stderr_path=err) as (proc, lines):
            lines.expect("locked")
            started = time.monotonic()
            assert store.insert_event(waiting) is True
            finished = time.monotonic()
            released = _committed_at(lines.next())
            assert proc.wait(timeout=CHILD_TIMEOUT) == 0, err.read_text()
        assert started < released, "the insert was not made while the lock was held"
        assert released < finished, "the insert finished before the other process let go"
        assert_same_event(store.get_event(waiting.event_id), waiting)
        for ev in before:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.get_person("lock-holder-sleep") is not None  # its write was kept too


def test_insert_gives_up_after_busy_timeout_and_works_once_the_lock_is_free(
    db_path: Path, tmp_path: Path
) -> None:
    first = Event(camera_id="front-door", event_id="before-lock")
    blocked = Event(camera_id="front-door", event_id="blocked-by-lock")
    batch = list(sample_events(3, seed=62, end=FIXED_END))
    with EventStore(db_path, options=SQLiteOptions(busy_timeout=0.2)) as store:
        assert store.insert_event(first)
        err = tmp_path / "child.err"
        args = [str(db_path), "hold"]
        with popen_child(_LOCK_CHILD, args, stderr_path=err, stdin=True) as (proc, lines):
            lines.expect("locked")
            started = time.monotonic()
            with pytest.raises(DatabaseBusyError) as caught:
                store.insert_event(blocked)
            waited = time.monotonic() - started
            assert isinstance(caught.value, DatabaseWriteError)
            message = str(caught.value)
            assert "busy timeout" in message and str(db_path) in message
            assert 0.15 <= waited < 2.5, f"waited {waited:.2f} s with busy_timeout=0.2"
            with pytest.raises(DatabaseBusyError):
                store.insert_events(batch)
            # reads do not wait behind the other process's write lock
            assert store.get_event(blocked.event_id) is None
            assert_same_event(store.get_event(first.event_id), first)

            assert proc.stdin is not None
            proc.stdin.write("release\n")
            proc.stdin.flush()
            _committed_at(lines.next())
            assert proc.wait(timeout=CHILD_TIMEOUT) == 0, err.read_text()

        assert store.insert_event(blocked) is True  # it was not stored before
        assert store.insert_events(batch).inserted == len(batch)
        for ev in [first, blocked, *batch]:
            assert_same_event(store.get_event(ev.event_id), ev)
        assert store.get_person("lock-holder-hold") is not None


# -- e: four processes, one file ----------------------------------------------------------

_WRITERS, _PER_WRITER = 4, 500


def _writer_events(k: int) -> list[Event]:
    cameras = (f"cam-{k}", "shared")
    events = list(sample_events(_PER_WRITER, seed=100 + k, end=FIXED_END, cameras=cameras))
    for i, ev in enumerate(events):
        ev.event_id = f"w{k}-{i:03d}"
    return events


_WRITER_CHILD = f"""
import json, sys
from datetime import datetime
from camvault import EventStore
from camvault.sample import sample_events

path, k, end = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
events = list(sample_events({_PER_WRITER}, seed=100 + k, end=end, cameras=(f"cam-{{k}}", "shared")))
for i, ev in enumerate(events):
    ev.event_id = f"w{{k}}-{{i:03d}}"
print("ready", flush=True)
assert sys.stdin.readline() == "go\\n"
inserted = 0
with EventStore(path, slow_insert_ms=1e9) as store:  # all four create the file at once
    i = 0
    while i < len(events):
        if (i // 50) % 2 == 0:
            inserted += store.insert_event(events[i])
            i += 1
        else:
            chunk = events[i : i + 10]
            inserted += store.insert_events(chunk).inserted
            i += len(chunk)
print(json.dumps({{"inserted": inserted}}), flush=True)
"""


def test_four_processes_writing_one_new_file(db_path: Path, tmp_path: Path) -> None:
    from contextlib import ExitStack

    assert not db_path.exists()
    with ExitStack() as stack:
        children = [
            stack.enter_context(
                popen_child(
                    _WRITER_CHILD,
                    [str(db_path), str(k), FIXED_END.isoformat()],
                    stderr_path=tmp_path / f"writer-{k}.err",
                    stdin=True,
                )
            )
            for k in range(_WRITERS)
        ]
        for _, lines in children:
            lines.expect("ready")
        for proc, _ in children:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for k, (proc, lines) in enumerate(children):
            err = (tmp_path / f"writer-{k}.err").read_text
            assert proc.wait(timeout=CHILD_TIMEOUT) == 0, err()
            done = lines.rest()
            assert done and json.loads(done[-1]) == {"inserted": _PER_WRITER}, err()

    expected = {ev.event_id: ev for k in range(_WRITERS) for ev in _writer_events(k)}
    assert len(expected) == _WRITERS * _PER_WRITER
    assert_file_is_sound(db_path)
    assert_detection_rows_match(db_path, expected)
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        counts = Counter(r[0] for r in conn.execute("SELECT event_id FROM events"))
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    finally:
        conn.close()
    assert set(counts) == set(expected) and set(counts.values()) == {1}
    applied = [(m.version,) for m in load_migrations("sqlite")]
    assert versions == applied, "the schema was not migrated exactly once"
    with EventStore(db_path, create=False) as store:
        for event_id, ev in expected.items():
            assert_same_event(store.get_event(event_id), ev)
        cameras = [c.camera_id for c in store.list_cameras()]
        assert sorted(cameras) == sorted([f"cam-{k}" for k in range(_WRITERS)] + ["shared"])


# -- f: engine errors become camvault errors that say what to do --------------------------


_ENGINE_TEXT = {
    apsw.IOError: "disk I/O error",
    apsw.FullError: "database or disk is full",
    apsw.ReadOnlyError: "attempt to write a readonly database",
    apsw.CantOpenError: "unable to open database file",
    apsw.BusyError: "database is locked",
    apsw.LockedError: "database table is locked",
    apsw.NotADBError: "file is not a database",
    apsw.CorruptError: "database disk image is malformed",
    apsw.PermissionsError: "access permission denied",
    apsw.SQLError: "no such table: evnts",
}


@pytest.mark.parametrize(
    ("engine_error", "write", "expected", "advice"),
    [
        (apsw.IOError, True, DatabaseWriteError, "disk I/O error; check the disk"),
        (apsw.IOError, False, DatabaseError, "disk I/O error; check the disk"),
        (apsw.FullError, True, DatabaseWriteError, "free space (or raise the limit) and retry"),
        (apsw.ReadOnlyError, True, DatabaseWriteError, "read-only; make the file"),
        (apsw.ReadOnlyError, False, DatabaseError, "folder writable by this user"),
        (apsw.CantOpenError, False, DatabaseError, "its folder exists and is writable"),
        (apsw.BusyError, True, DatabaseBusyError, "retry, or raise busy_timeout"),
        (apsw.LockedError, True, DatabaseBusyError, "retry, or raise busy_timeout"),
        (apsw.NotADBError, True, DatabaseError, "not a SQLite database"),
        (apsw.CorruptError, False, DatabaseError, "run 'camvault recover /data/ev.db NEW.db'"),
        (apsw.PermissionsError, True, DatabaseWriteError, "check the file's and folder's"),
        (apsw.SQLError, False, DatabaseError, "SQLError: no such table: evnts"),
        (apsw.SQLError, True, DatabaseWriteError, "SQLError: no such table: evnts"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) and issubclass(v, apsw.Error) else None,
)
def test_translate_maps_engine_errors(
    engine_error: type[apsw.Error], write: bool, expected: type[DatabaseError], advice: str
) -> None:
    err = translate(
        engine_error(_ENGINE_TEXT[engine_error]), "insert an event", "/data/ev.db", write=write
    )
    assert type(err) is expected
    message = str(err)
    assert message.startswith("insert an event (/data/ev.db) failed: ")
    assert advice in message


def test_translate_keeps_not_a_database_out_of_write_errors() -> None:
    # a file that is not a database is not something a retry or more space would fix
    err = translate(apsw.NotADBError("file is not a database"), "x", "/p", write=True)
    assert not isinstance(err, DatabaseWriteError)


# -- g: files camvault must not use ------------------------------------------------------


def test_database_from_a_newer_camvault_is_refused_and_left_intact(db_path: Path) -> None:
    events = list(sample_events(10, seed=71, end=FIXED_END))
    with EventStore(db_path) as store:
        store.insert_events(events)
    conn = apsw.Connection(str(db_path))
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', 'x', 0)")
    conn.close()

    with pytest.raises(MigrationError) as caught:
        EventStore(db_path)
    message = str(caught.value)
    assert "v99" in message and "upgrade camvault" in message and str(db_path) in message
    assert not list(db_path.parent.glob("*.bak")), "refusing must not migrate or back up"

    conn = apsw.Connection(str(db_path))
    assert conn.execute("SELECT count(*) FROM events").fetchall() == [(len(events),)]
    conn.execute("DELETE FROM schema_migrations WHERE version = 99")
    conn.close()
    with EventStore(db_path, create=False) as store:
        for ev in events:
            assert_same_event(store.get_event(ev.event_id), ev)


def _foreign_database(path: Path) -> None:
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE foo (x INTEGER, y TEXT); INSERT INTO foo VALUES (1, 'keep me')")
    conn.close()


def test_foreign_sqlite_file_is_refused(db_path: Path) -> None:
    _foreign_database(db_path)
    with pytest.raises(MigrationError) as caught:
        EventStore(db_path)
    message = str(caught.value)
    assert "not a camvault one" in message and "foo" in message and str(db_path) in message
    conn = apsw.Connection(str(db_path))
    try:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_schema")] == ["foo"]
        assert conn.execute("SELECT * FROM foo").fetchall() == [(1, "keep me")]
    finally:
        conn.close()


def test_foreign_sqlite_file_is_left_as_it_was(db_path: Path) -> None:
    # camvault refuses the file; it must not change it either (here: its journal mode,
    # which other programs using the file depend on)
    _foreign_database(db_path)
    before = _digest(db_path)
    with pytest.raises(MigrationError):
        EventStore(db_path)
    conn = apsw.Connection(str(db_path))
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchall()[0][0]
    finally:
        conn.close()
    assert mode == "delete", f"refusing the file switched its journal mode to {mode!r}"
    assert _digest(db_path) == before


def test_file_that_is_not_sqlite_is_refused_untouched(db_path: Path) -> None:
    data = b"this is not a database\n" + os.urandom(8192)
    db_path.write_bytes(data)
    with pytest.raises(DatabaseError) as caught:
        EventStore(db_path)
    assert not isinstance(caught.value, MigrationError)
    message = str(caught.value)
    assert "not a SQLite database" in message and str(db_path) in message
    assert db_path.read_bytes() == data
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_directory_path_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "events.db"
    folder.mkdir()
    with pytest.raises(DatabaseError) as caught:
        EventStore(folder)
    assert "folder" in str(caught.value) and str(folder) in str(caught.value)
    assert list(folder.iterdir()) == []
