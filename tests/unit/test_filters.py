"""The filter list is the one definition: static types, the spec and the README agree with it."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from camvault import InvalidQueryError
from camvault.filters import FILTERS, Filter, by_name, describe, markdown_table
from camvault.query import Filters, QuerySpec, build_query
from camvault.textquery import Term

README = Path(__file__).resolve().parents[2] / "README.md"


def _members(annotation: object) -> set[object]:
    """Return the members of a union annotation (one member for a plain type)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


def test_the_typed_dict_names_the_same_filters_in_the_same_order() -> None:
    assert list(typing.get_type_hints(Filters)) == [f.name for f in FILTERS]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.name)
def test_the_typed_dict_type_of_each_filter_fits_the_list(f: typing.Any) -> None:
    members = _members(typing.get_type_hints(Filters)[f.name])
    assert type(None) in members
    assert f.python_type in members
    if f.repeats:
        assert Iterable[f.python_type] in members
    else:
        assert len(members) == 2


def test_each_filter_fills_a_field_of_the_spec() -> None:
    fields = {x.name for x in dataclasses.fields(QuerySpec)}
    assert {f.field for f in FILTERS} <= fields
    assert len({f.field for f in FILTERS}) == len(FILTERS)
    assert fields - {f.field for f in FILTERS} == {"limit", "after", "order"}


def test_build_query_fills_the_spec_through_the_list() -> None:
    since = datetime(2026, 11, 20, tzinfo=UTC)
    spec = build_query(
        camera_id="a",
        label=["person", "car"],
        min_confidence=1,
        since=since,
        person_name="alice",
        door_action="unlock",
        unlock_granted=False,
        has_thumbnail=True,
        text="van",
    )
    assert spec.camera_ids == ("a",)
    assert spec.labels == ("person", "car")
    assert spec.min_confidence == 1.0 and isinstance(spec.min_confidence, float)
    assert spec.since == 1_795_132_800_000_000  # 2026-11-20T00:00Z, by hand
    assert spec.until is None
    assert spec.person_name == "alice"
    assert spec.door_actions == ("unlock",)
    assert spec.unlock_granted is False
    assert spec.has_thumbnail is True
    assert spec.text == Term("van", phrase=False, prefix=False)  # parsed once, here
    assert not spec.only_time_and_camera
    assert build_query(camera_id="a", label="b", person_name="c").only_time_and_camera


def test_every_bad_filter_is_named() -> None:
    with pytest.raises(InvalidQueryError) as err:
        build_query(
            camera_id="",
            label=[1],  # type: ignore[list-item]
            min_confidence=2,
            since=datetime(2026, 1, 1),  # naive on purpose
            person_name="",
            door_action=[],
            unlock_granted="yes",  # type: ignore[arg-type]
            has_thumbnail=1,  # type: ignore[arg-type]
            zone=["porch", ""],
            license_plate="A*B",
            source=[""],
            in_progress="no",  # type: ignore[arg-type]
            text=" ",
        )
    assert sorted(err.value.fields) == sorted(f.name for f in FILTERS if f.name != "until")


def test_the_readme_filter_table_is_the_list() -> None:
    text = README.read_text()
    block = re.search(r"<!-- filters -->\n(.*?)\n<!-- /filters -->", text, re.S)
    assert block is not None, "README lacks the generated filter table"
    assert block.group(1) == markdown_table()


def test_the_readme_cli_table_names_every_filter_option() -> None:
    row = next(line for line in README.read_text().splitlines() if "`camvault query" in line)
    for f in FILTERS:
        for option in f.cli:
            for name in option.split("/"):
                assert f"{name}" in row, name


def test_the_json_description_has_every_filter() -> None:
    described = describe()
    assert [d["name"] for d in described] == [f.name for f in FILTERS]
    camera = next(d for d in described if d["name"] == "camera_id")
    assert camera["choices"] == {"url": "/api/cameras", "field": "camera_id"}
    assert camera["repeats"] is True and camera["type"] == "string"
    assert by_name("text").kind == "search"
    with pytest.raises(KeyError):
        by_name("colour")


def test_a_filter_with_its_own_check_uses_it() -> None:
    def zone(name: str, value: str | None, problems: list[tuple[str, str]]) -> str | None:
        if value not in (None, "porch", "yard"):
            problems.append((name, "is not a zone"))
            return None
        return value

    f = Filter("zone", "string", "In this zone", "Zone", "zone", ("--zone",), check=zone)
    problems: list[tuple[str, str]] = []
    assert f.validate("yard", problems) == "yard" and not problems
    assert f.validate("moon", problems) is None
    assert problems == [("zone", "is not a zone")]
