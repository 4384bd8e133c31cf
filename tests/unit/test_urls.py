"""Stores open from a path or a URL; engine options come in the URL or an options object."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from camvault import (
    AsyncEventStore,
    DatabaseError,
    DatabaseWriteError,
    Event,
    EventStore,
    InvalidInputError,
)
from camvault.backends import SQLiteOptions


def test_a_path_and_its_urls_open_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ev = Event(camera_id="c")
    with EventStore("events.db") as store:
        store.insert_event(ev)
    urls = ("sqlite:///events.db", f"sqlite:///{tmp_path}/events.db", tmp_path / "events.db")
    for target in urls:
        with EventStore(target) as store:
            assert store.get_event(ev.event_id) == ev
            assert store.info()["path"] == str(tmp_path / "events.db")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["events.db"]


def test_url_options_reach_the_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/events.db?durability=full&busy_timeout=2"
    with EventStore(url) as store:
        info = store.info()
    assert (info["synchronous"], info["busy_timeout"]) == ("FULL", 2.0)
    with EventStore(tmp_path / "events.db") as store:
        info = store.info()
    assert (info["synchronous"], info["busy_timeout"]) == ("NORMAL", 5.0)


def test_an_options_object_and_the_url_combine_the_url_winning(tmp_path: Path) -> None:
    options = SQLiteOptions(durability="full", busy_timeout=7)
    with EventStore(tmp_path / "a.db", options=options) as store:
        assert (store.info()["synchronous"], store.info()["busy_timeout"]) == ("FULL", 7.0)
    with EventStore(f"sqlite:///{tmp_path}/a.db?busy_timeout=0.5", options=options) as store:
        assert (store.info()["synchronous"], store.info()["busy_timeout"]) == ("FULL", 0.5)


def test_pragmas_apply_from_the_url_and_from_options(tmp_path: Path) -> None:
    # 60 pages of 4 KiB hold the schema but not 1 MB of descriptions: the pragma took effect
    big = [Event(camera_id="c", llm_description="x" * 50_000) for _ in range(20)]
    for store in (
        EventStore(f"sqlite:///{tmp_path}/u.db?pragma.max_page_count=60"),
        EventStore(tmp_path / "o.db", options=SQLiteOptions(pragmas={"max_page_count": 60})),
    ):
        with store:
            with pytest.raises(DatabaseWriteError):
                store.insert_events(big)
            assert store.count() == 0


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("durabilty=full", ["durabilty"]),
        ("durability=full&colour=red&x=1", ["colour", "x"]),
        ("busy_timeout=soon", ["busy_timeout"]),
        ("checkpoint_pages=0", ["checkpoint_pages"]),
        ("durability=sometimes", ["durability"]),
        ("durability=full&durability=normal", ["durability"]),
    ],
)
def test_bad_url_options_are_named_and_nothing_is_created(
    tmp_path: Path, query: str, fields: list[str]
) -> None:
    with pytest.raises(InvalidInputError) as exc:
        EventStore(f"sqlite:///{tmp_path}/events.db?{query}")
    assert [f for f in exc.value.fields if f] == fields
    assert not (tmp_path / "events.db").exists()


def test_bad_options_objects_are_refused_by_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as exc:
        SQLiteOptions(durability="often", busy_timeout=-1)  # type: ignore[arg-type]
    assert exc.value.fields == ["durability", "busy_timeout"]
    with pytest.raises(InvalidInputError) as exc:
        EventStore(tmp_path / "events.db", options="durability=full")  # type: ignore[arg-type]
    assert exc.value.fields == ["options"]
    assert not (tmp_path / "events.db").exists()


def test_the_old_engine_keywords_still_work_with_a_deprecation_warning(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match=r"durability=, pragmas=\) is deprecated") as seen:
        store = EventStore(
            tmp_path / "events.db", durability="full", busy_timeout=3, pragmas={"cache_size": -4000}
        )
    assert seen[0].filename == __file__  # points at the caller's line
    with store:
        assert (store.info()["synchronous"], store.info()["busy_timeout"]) == ("FULL", 3.0)
    with pytest.raises(ValueError, match="durability"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        EventStore(tmp_path / "events.db", durability="sometimes")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EventStore(tmp_path / "events.db").close()  # the new way warns about nothing


async def test_the_async_store_warns_at_the_callers_line_too(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="busy_timeout=") as seen:
        astore = AsyncEventStore(tmp_path / "events.db", busy_timeout=1.5)
    assert seen[0].filename == __file__
    async with astore:
        assert (await astore.info())["busy_timeout"] == 1.5
    url = f"sqlite:///{tmp_path}/events.db?durability=full"
    async with AsyncEventStore(url) as astore:
        assert (await astore.info())["synchronous"] == "FULL"


def test_thumbnails_live_beside_the_file_unless_given(tmp_path: Path) -> None:
    with EventStore(f"sqlite:///{tmp_path}/cam.db?durability=full") as store:
        assert store.thumbnails_dir == tmp_path / "cam-thumbnails"
    with EventStore(tmp_path / "cam.db", thumbnails_dir=tmp_path / "pics") as store:
        assert store.thumbnails_dir == tmp_path / "pics"
        assert store.info()["thumbnails_dir"] == str(tmp_path / "pics")


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(DatabaseError, match=r"unsupported database URL scheme 'mysql'.*sqlite://"):
        EventStore("mysql://user@host/events")


def test_engines_are_imported_only_when_a_store_of_that_kind_opens(tmp_path: Path) -> None:
    code = (
        "import sys, camvault\n"
        "assert 'apsw' not in sys.modules and 'camvault.backends.sqlite' not in sys.modules\n"
        f"camvault.EventStore({str(tmp_path / 'e.db')!r}).close()\n"
        "assert 'apsw' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
