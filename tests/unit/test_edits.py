"""Changing a stored event (keep forever) and forgetting a person, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from camvault import Event, InvalidQueryError, Person

MakeEvent = Callable[..., Event]


def test_retain_is_set_returned_and_kept_by_purge(api_store: Any, make_event: MakeEvent) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    kept, dropped = make_event(timestamp=old), make_event(timestamp=old)
    api_store.insert_events([kept, dropped])
    updated = api_store.update_event(kept.event_id, retain=True)
    assert updated == kept.model_copy(update={"retain": True})
    assert api_store.get_event(kept.event_id).retain is True
    assert api_store.purge(timedelta(days=30)) == 1
    assert api_store.get_event(kept.event_id) is not None
    assert api_store.get_event(dropped.event_id) is None
    assert api_store.update_event(kept.event_id, retain=False).retain is False


def test_updating_a_missing_event_is_none(api_store: Any) -> None:
    assert api_store.update_event("no-such-id", retain=True) is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"colour": "red"}, "colour", "is not an Event field"),
        ({"retain": "yes"}, "retain", "true or false"),
        ({}, "changes", "at least one field"),
    ],
)
def test_bad_changes_name_the_field_and_write_nothing(
    api_store: Any, make_event: MakeEvent, changes: dict[str, Any], field: str, message: str
) -> None:
    ev = make_event()
    api_store.insert_event(ev)
    with pytest.raises(InvalidQueryError) as info:
        api_store.update_event(ev.event_id, **changes)
    assert field in info.value.fields and message in str(info.value)
    assert api_store.get_event(ev.event_id) == ev
    with pytest.raises(InvalidQueryError, match="event_id"):
        api_store.update_event("", retain=True)


def test_delete_person(api_store: Any, make_event: MakeEvent) -> None:
    api_store.upsert_person(Person(name="alice", authorized=True))
    api_store.upsert_person(Person(name="bob"))
    ev = make_event(person_name="alice")
    api_store.insert_event(ev)
    assert api_store.delete_person("alice") is True
    assert [p.name for p in api_store.list_persons()] == ["bob"]
    assert api_store.delete_person("alice") is False
    assert api_store.get_event(ev.event_id) == ev  # their events stay
    with pytest.raises(InvalidQueryError, match="name"):
        api_store.delete_person("")
