"""The query filters, declared once: every surface that filters events is derived from FILTERS.

From this list come :func:`camvault.query.build_query` (validation into a ``QuerySpec``), the
query parameters of ``GET /api/events``, ``/api/count`` and ``/api/histogram`` with their
OpenAPI docs (:mod:`camvault.web.filter_params`), ``GET /api/filters`` and the dashboard's filter
form built from it, the filter options of ``camvault query``, ``stats`` and ``export``
(:mod:`camvault.cli_filters`), the README's filter table (:func:`markdown_table`, checked by a
test) and the generic clauses of each engine's WHERE builder.

Adding a filter (a zone, a licence plate, a similarity) takes exactly this:

1. One :class:`Filter` in ``FILTERS`` below: its name (the keyword, REST parameter and URL
   key), kind, whether it repeats, label and help text, examples, CLI option names, the
   ``QuerySpec`` field it fills, and, when it compares one event column, ``column`` and
   ``test``. A value that needs more than its kind's check gets a ``check`` function.
2. Its key in the ``Filters`` TypedDict and its field in ``QuerySpec`` (camvault/query.py):
   static typing needs them written out; ``tests/unit/test_filters.py`` fails until they match
   the list.
3. Its SQL in each engine, for a filter no generic ``test`` describes (SQLite:
   ``backends/sqlite_sql.where``); a filter with ``column`` and ``test`` needs none.

Nothing else: the REST parameters and docs, the CLI options and help, the dashboard form, the
README table and the argument checks follow the list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from camvault.errors import FieldProblem, InvalidQueryError
from camvault.models import TIME_RANGE, in_range
from camvault.rows import to_micros
from camvault.textquery import Node, parse

__all__ = ["FILTERS", "Filter", "Kind", "Test", "by_name", "describe", "markdown_table"]

Kind = Literal["string", "number", "time", "flag", "search"]
"""What a filter's value is: a string, a number, an instant, true/false, a full-text query."""

Test = Literal["equals", "at_least", "before", "present", "absent"]
"""How a one-column filter compares: column = value (IN for a list), >=, <, IS (NOT) NULL.

``present`` true means IS NOT NULL; ``absent`` true means IS NULL (false: the other way).
"""

Check = Callable[[str, Any, list[FieldProblem]], Any]
"""Validate one filter value: return its QuerySpec value, or record a problem and return None."""


def _strings(name: str, value: Any, problems: list[FieldProblem]) -> tuple[str, ...]:
    """Normalize a one-or-many string filter to a tuple, recording bad values."""
    if value is None:
        return ()
    values = (value,) if isinstance(value, str) else tuple(value)
    if not values or any(not isinstance(v, str) or not v for v in values):
        problems.append((name, "must be a non-empty string or a list of non-empty strings"))
        return ()
    return values


def _string(name: str, value: Any, problems: list[FieldProblem]) -> str | None:
    """Check an optional non-empty string."""
    if value is not None and (not isinstance(value, str) or not value):
        problems.append((name, "must be a non-empty string"))
        return None
    return value


def _number(name: str, value: Any, problems: list[FieldProblem]) -> float | None:
    """Check an optional number from 0 to 1 (the bounds of every numeric filter so far)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        problems.append((name, "must be a number from 0 to 1"))
        return None
    return float(value)


def _micros(name: str, value: Any, problems: list[FieldProblem]) -> int | None:
    """Convert a time bound to microseconds, recording naive or wrong-typed values."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        problems.append((name, "must be a datetime"))
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        problems.append((name, "must be timezone-aware (got a naive datetime)"))
        return None
    utc = in_range(value)
    if utc is None:
        problems.append((name, TIME_RANGE))
        return None
    return to_micros(utc)


def _flag(name: str, value: Any, problems: list[FieldProblem]) -> bool | None:
    """Check an optional boolean filter."""
    if value is not None and not isinstance(value, bool):
        problems.append((name, "must be true or false"))
        return None
    return value


def _plate(name: str, value: Any, problems: list[FieldProblem]) -> str | None:
    """Check a licence plate: exact, or a prefix when it ends with ``*`` (``AB1*``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip("*"):
        problems.append((name, "must be a plate, or the start of one followed by * (AB1*)"))
        return None
    if "*" in value[:-1]:
        problems.append((name, "may hold * only at its end (AB1* matches plates starting AB1)"))
        return None
    return value


def _search(name: str, value: Any, problems: list[FieldProblem]) -> Node | None:
    """Parse a full-text query into camvault's own tree (see :mod:`camvault.textquery`)."""
    if value is None:
        return None
    try:
        return parse(value)
    except InvalidQueryError as exc:
        problems.extend((name, problem) for _, problem in exc.problems)
        return None


_CHECKS: dict[Kind, Check] = {
    "string": _string,
    "number": _number,
    "time": _micros,
    "flag": _flag,
    "search": _search,
}
_PYTHON: dict[Kind, type] = {
    "string": str,
    "number": float,
    "time": datetime,
    "flag": bool,
    "search": str,
}


@dataclass(frozen=True, slots=True)
class Filter:
    """One query filter: what it is called and means everywhere, and how its value is checked."""

    name: str
    """Keyword of query()/count()/histogram(), REST parameter and dashboard URL key."""
    kind: Kind
    help: str
    """What it selects, one sentence without a final stop (CLI help, OpenAPI, dashboard)."""
    label: str
    """Its name in the dashboard's form."""
    field: str
    """The QuerySpec field it fills."""
    cli: tuple[str, ...]
    """CLI option declarations: ("--camera", "-c"), or ("--granted/--not-granted",) for a flag."""
    examples: tuple[Any, ...] = ()
    repeats: bool = False
    """One value or a list (a repeated REST parameter or CLI option)."""
    column: str | None = None
    """The events column a generic ``test`` compares; None when engines write bespoke SQL."""
    test: Test | None = None
    choices: tuple[str, str] | None = None
    """Where the dashboard finds the values to offer: (API path, field of each item)."""
    placeholder: str = ""
    """The dashboard's word for "no filter": all, anyone, any."""
    minimum: float | None = None
    maximum: float | None = None
    rollup: bool = False
    """True when the hourly rollups can answer a histogram with this filter set."""
    check: Check | None = None
    """A check of its own, instead of the kind's (and a repeating filter's) one."""

    @property
    def python_type(self) -> type:
        """The Python type of one value (a list of them when it repeats)."""
        return _PYTHON[self.kind]

    def validate(self, value: Any, problems: list[FieldProblem]) -> Any:
        """Return the QuerySpec value of ``value``, recording a problem when it is invalid."""
        if self.check is not None:
            return self.check(self.name, value, problems)
        if self.repeats:
            return _strings(self.name, value, problems)
        return _CHECKS[self.kind](self.name, value, problems)

    def is_set(self, spec_value: Any) -> bool:
        """Return True when a QuerySpec value of this filter narrows anything."""
        return spec_value is not None and spec_value != ()


FILTERS: tuple[Filter, ...] = (
    Filter(
        "camera_id",
        "string",
        "Events of this camera",
        "Camera",
        "camera_ids",
        ("--camera", "-c"),
        examples=("front-door", "driveway"),
        repeats=True,
        column="camera_id",
        test="equals",
        choices=("/api/cameras", "camera_id"),
        placeholder="all",
        rollup=True,
    ),
    Filter(
        "label",
        "string",
        "Events with a detection of this label (min_confidence then applies to it)",
        "Label",
        "labels",
        ("--label", "-l"),
        examples=("person", "car"),
        repeats=True,
        choices=("/api/histogram?bucket=day&by=label", "key"),
        placeholder="all",
        rollup=True,
    ),
    Filter(
        "min_confidence",
        "number",
        "A detection at least this confident, from 0 to 1 (of the labels given, else of any)",
        "Min. confidence",
        "min_confidence",
        ("--min-confidence",),
        examples=(0.7,),
        placeholder="any",
        minimum=0.0,
        maximum=1.0,
    ),
    Filter(
        "since",
        "time",
        "From this time on (inclusive), between 1970 and 2200 UTC",
        "From",
        "since",
        ("--since",),
        examples=("2026-11-20T00:00:00Z",),
        column="ts",
        test="at_least",
        rollup=True,
    ),
    Filter(
        "until",
        "time",
        "Before this time (exclusive), between 1970 and 2200 UTC",
        "To",
        "until",
        ("--until",),
        examples=("2026-11-21T00:00:00Z",),
        column="ts",
        test="before",
        rollup=True,
    ),
    Filter(
        "person_name",
        "string",
        "Events where face recognition saw this person",
        "Person",
        "person_name",
        ("--person",),
        examples=("alice",),
        column="person_name",
        test="equals",
        choices=("/api/persons", "name"),
        placeholder="anyone",
        rollup=True,
    ),
    Filter(
        "door_action",
        "string",
        "What the lock did: unlock, lock, denied, none",
        "Door action",
        "door_actions",
        ("--door-action",),
        examples=("unlock", "denied"),
        repeats=True,
        column="door_action",
        test="equals",
        placeholder="any",
    ),
    Filter(
        "unlock_granted",
        "flag",
        "Whether the smart lock granted the unlock",
        "Unlock granted",
        "unlock_granted",
        ("--granted/--not-granted",),
        examples=(True,),
        column="unlock_granted",
        test="equals",
        placeholder="any",
    ),
    Filter(
        "has_thumbnail",
        "flag",
        "Whether the event has a thumbnail",
        "Thumbnail",
        "has_thumbnail",
        ("--with-thumbnail/--without-thumbnail",),
        examples=(True,),
        column="thumbnail_path",
        test="present",
        placeholder="any",
    ),
    Filter(
        "zone",
        "string",
        "Events whose object entered this zone",
        "Zone",
        "zones",
        ("--zone",),
        examples=("driveway", "porch"),
        repeats=True,
        placeholder="any",
    ),
    Filter(
        "license_plate",
        "string",
        "Events with this licence plate, or plates starting so when it ends with * (AB1*)",
        "Licence plate",
        "license_plate",
        ("--plate",),
        examples=("AB123CD", "AB1*"),
        placeholder="any",
        check=_plate,
    ),
    Filter(
        "source",
        "string",
        "Where the event came from: frigate, mqtt, api, import",
        "Source",
        "sources",
        ("--source",),
        examples=("frigate", "mqtt"),
        repeats=True,
        column="source",
        test="equals",
        placeholder="any",
    ),
    Filter(
        "in_progress",
        "flag",
        "Whether the event is still in progress (it has no end_time yet)",
        "In progress",
        "in_progress",
        ("--in-progress/--ended",),
        examples=(True,),
        column="end_time",
        test="absent",
        placeholder="any",
    ),
    Filter(
        "text",
        "search",
        'Full text of the description: words, "phrases", prefix*, AND / OR / NOT, parentheses',
        "Search",
        "text",
        ("--text", "-t"),
        examples=('package OR "red van"', "deliv*"),
        placeholder='package, "red van", deliv*',
    ),
)
"""Every filter, in the order arguments, options, parameters and form fields are listed."""

_BY_NAME = {f.name: f for f in FILTERS}


def by_name(name: str) -> Filter:
    """Return the filter called ``name`` (KeyError when there is none)."""
    return _BY_NAME[name]


def describe() -> list[dict[str, Any]]:
    """Return the filters as JSON-ready dicts (``GET /api/filters``; the dashboard's form)."""
    out = []
    for f in FILTERS:
        out.append(
            {
                "name": f.name,
                "type": f.kind,
                "repeats": f.repeats,
                "label": f.label,
                "help": f.help,
                "examples": list(f.examples),
                "placeholder": f.placeholder,
                "minimum": f.minimum,
                "maximum": f.maximum,
                "choices": None
                if f.choices is None
                else {"url": f.choices[0], "field": f.choices[1]},
            }
        )
    return out


_VALUE = {
    "string": "text",
    "number": "number",
    "time": "aware datetime",
    "flag": "true / false",
    "search": "full-text query",
}


def _cli(f: Filter) -> str:
    """Return the CLI options of a filter as the README writes them: ``-c/--camera``."""
    if f.kind == "flag":
        return f"`{f.cli[0]}`"
    return "`" + "/".join(sorted(f.cli, key=len)) + "`"


def markdown_table() -> str:
    """Return the README's filter table (a test keeps the README equal to it)."""
    lines = ["| filter | value | CLI option | meaning |", "|---|---|---|---|"]
    for f in FILTERS:
        value = _VALUE[f.kind] + (", one or a list" if f.repeats else "")
        lines.append(f"| `{f.name}` | {value} | {_cli(f)} | {f.help} |")
    return "\n".join(lines)
