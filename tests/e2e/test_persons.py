"""Persons in the browser: add, edit, remove, and a table that reads on desktop and phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camvault import EventStore, Person
from tests.e2e.conftest import SIZES, Server, fill, serve


@pytest.fixture
def people(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own with two persons, alice and bob (tests edit them)."""
    db = tmp_path / "events.db"
    fill(db, [], thumbnails=False)
    with EventStore(db) as store:
        store.upsert_person(Person(name="alice", authorized=True, notes="owner"))
        store.upsert_person(Person(name="bob", notes="neighbour, waters the plants on weekends"))
    with serve(db) as running:
        yield running


def stored(server: Server, name: str) -> Person | None:
    with EventStore(server.db) as store:
        return store.get_person(name)


@SIZES
def test_add_edit_and_remove_a_person(people: Server, page: Any) -> None:
    name = f"dave-{page.viewport_size['width']}"
    page.goto(f"{people.url}/#/persons")
    page.wait_for_selector("[data-person=alice]")
    page.fill("#person-name", name)
    page.check("#person-authorized")
    page.fill("#person-notes", "dog walker")
    page.click("#person-form button[type=submit]")
    page.wait_for_selector(f"[data-person={name}]")
    assert stored(people, name) == Person(
        name=name,
        authorized=True,
        notes="dog walker",
        created_at=stored(people, name).created_at,  # type: ignore[union-attr]
        updated_at=stored(people, name).updated_at,  # type: ignore[union-attr]
    )
    page.click(f"[aria-label='edit {name}']")
    assert page.input_value("#person-name") == name
    assert page.is_editable("#person-name") is False
    page.uncheck("#person-authorized")
    page.fill("#person-notes", "walks the dog on Tuesdays")
    page.click("#person-form button[type=submit]")
    page.wait_for_selector(f"[data-person={name}] .notes:text('walks the dog on Tuesdays')")
    edited = stored(people, name)
    assert edited is not None and not edited.authorized
    assert edited.notes == "walks the dog on Tuesdays"
    page.once("dialog", lambda d: d.accept())
    page.click(f"[aria-label='remove {name}']")
    page.wait_for_selector(f"[data-person={name}]", state="detached")
    assert stored(people, name) is None
    assert stored(people, "alice") is not None


@SIZES
def test_the_lock_toggle_saves_at_once(people: Server, page: Any) -> None:
    page.goto(f"{people.url}/#/persons")
    toggle = page.locator("input[aria-label='bob may unlock']")
    was = toggle.is_checked()
    with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith("/bob")):
        toggle.click()
    assert stored(people, "bob").authorized is (not was)  # type: ignore[union-attr]


@SIZES
def test_dates_and_notes_read_on_one_line_each(people: Server, page: Any) -> None:
    page.goto(f"{people.url}/#/persons")
    page.wait_for_selector("[data-person=alice] .updated time")
    lines = page.eval_on_selector_all(
        ".persons-table .updated time",
        """els => els.map(e => {
            const range = document.createRange();
            range.selectNodeContents(e);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            return tops.size;
        })""",
    )
    assert lines == [1, 1], "the updated date wraps"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the persons page scrolls sideways"
