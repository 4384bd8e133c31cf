"""A misspelt keyword argument is an InvalidQueryError naming it, the valid ones, a close match."""

from __future__ import annotations

from typing import Any

import pytest

from camvault import InvalidQueryError

FILTERS = (
    "camera_id, label, min_confidence, since, until, person_name, door_action, "
    "unlock_granted, has_thumbnail, zone, license_plate, source, in_progress, text"
)


@pytest.mark.parametrize(
    ("call", "bad", "close", "valid"),
    [
        (lambda s: s.query(labels="person"), "labels", "label", f"limit, cursor, order, {FILTERS}"),
        (lambda s: s.query(camera="a"), "camera", "camera_id", f"limit, cursor, order, {FILTERS}"),
        (lambda s: s.count(sinse=None), "sinse", "since", FILTERS),
        (lambda s: s.histogram("day", by_="label"), "by_", "by", f"bucket, by, tz, {FILTERS}"),
        (lambda s: s.histogram(timezone="UTC"), "timezone", "tz", f"bucket, by, tz, {FILTERS}"),
        (lambda s: s.count(zones="porch"), "zones", "zone", FILTERS),
        (lambda s: s.count(plate="AB1"), "plate", "license_plate", FILTERS),
        (lambda s: s.count(zone="a", colour="red"), "colour", None, FILTERS),
    ],
)
def test_a_misspelt_argument_is_named_with_the_valid_ones(
    api_store: Any, call: Any, bad: str, close: str | None, valid: str
) -> None:
    with pytest.raises(InvalidQueryError) as err:
        call(api_store)
    assert err.value.fields == [bad]
    message = str(err.value)
    assert f"valid: {valid})" in message
    if close is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean {close!r}?" in message


def test_every_unknown_argument_is_reported_at_once(api_store: Any) -> None:
    with pytest.raises(InvalidQueryError) as err:
        api_store.query(labels="person", cameras="a", limit=5)
    assert err.value.fields == ["labels", "cameras"]
