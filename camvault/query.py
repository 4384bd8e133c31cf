"""Query arguments: validated once into a :class:`QuerySpec` that every backend runs.

Cursors are opaque to callers: an url-safe token that encodes the keyset position
``(timestamp, internal id)`` of the last event of a page. Paging by keyset stays exact when
events arrive between pages: nothing is skipped and nothing is returned twice.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict, Unpack

from camvault.errors import FieldProblem, InvalidQueryError
from camvault.filters import FILTERS as FILTER_LIST
from camvault.textquery import Node

__all__ = [
    "FILTERS",
    "MAX_LIMIT",
    "Filters",
    "Order",
    "QuerySpec",
    "build_query",
    "check_arguments",
    "decode_cursor",
    "encode_cursor",
]

MAX_LIMIT = 1000
_CURSOR = struct.Struct(">qq")
_CURSOR_VERSION = b"\x01"


Order = Literal["newest", "oldest"]


class Filters(TypedDict, total=False):
    """The filters shared by query(), count(), histogram() and export; all combinable.

    The static twin of camvault.filters.FILTERS (a test keeps the two equal).
    """

    camera_id: str | Iterable[str] | None
    label: str | Iterable[str] | None
    min_confidence: float | None
    since: datetime | None
    until: datetime | None
    person_name: str | None
    door_action: str | Iterable[str] | None
    unlock_granted: bool | None
    has_thumbnail: bool | None
    zone: str | Iterable[str] | None
    license_plate: str | None
    source: str | Iterable[str] | None
    in_progress: bool | None
    text: str | None


FILTERS: tuple[str, ...] = tuple(f.name for f in FILTER_LIST)
"""The names of the filters, in the order of camvault.filters.FILTERS."""

_MEANT = {"timezone": "tz", "time_zone": "tz", "tzinfo": "tz", "plate": "license_plate"}
"""Words for an argument that spelling alone would not suggest (``timezone`` is close to the
``zone`` filter, but means ``tz``; ``plate`` is close to ``label``)."""


def check_arguments(what: str, given: Iterable[str], extra: Sequence[str] = ()) -> None:
    """Raise InvalidQueryError naming each argument of ``what`` that is not a filter or extra.

    The message lists the valid arguments and suggests the closest one for a misspelling.
    """
    valid = (*extra, *FILTERS)
    problems: list[FieldProblem] = []
    for name in given:
        if name in valid:
            continue
        meant = _MEANT.get(name)
        close = [meant] if meant in valid else difflib.get_close_matches(name, valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append((name, f"is not an argument of {what}() ({hint}valid: {', '.join(valid)})"))
    if problems:
        raise InvalidQueryError(what, problems)


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A validated query: every filter in storage units (timestamps in microseconds)."""

    camera_ids: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    min_confidence: float | None = None
    """With labels: a detection of one of them at least this confident; alone: any detection."""
    since: int | None = None
    """Inclusive lower bound, microseconds since the epoch."""
    until: int | None = None
    """Exclusive upper bound, microseconds since the epoch."""
    person_name: str | None = None
    door_actions: tuple[str, ...] = ()
    unlock_granted: bool | None = None
    has_thumbnail: bool | None = None
    zones: tuple[str, ...] = ()
    license_plate: str | None = None
    """A plate, or a prefix of plates when it ends with ``*``."""
    sources: tuple[str, ...] = ()
    in_progress: bool | None = None
    text: Node | None = None
    """The parsed full-text query over llm_description (see :mod:`camvault.textquery`)."""
    limit: int = 100
    after: tuple[int, int] | None = None
    """Keyset position from a cursor: only events past (ts, id) in the query's order."""
    order: Order = "newest"

    @property
    def only_time_and_camera(self) -> bool:
        """True when no filter other than cameras, labels, person and time is set."""
        return not any(f.is_set(getattr(self, f.field)) for f in FILTER_LIST if not f.rollup)


def encode_cursor(ts: int, rowid: int) -> str:
    """Return the opaque cursor for the keyset position ``(ts, rowid)``."""
    raw = _CURSOR_VERSION + _CURSOR.pack(ts, rowid)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Return the keyset position of a cursor, or raise InvalidQueryError."""
    problem = "is not a cursor returned by query() (pass next_cursor unchanged)"
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise InvalidQueryError("query", [("cursor", problem)])
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidQueryError("query", [("cursor", problem)]) from None
    if len(raw) != 1 + _CURSOR.size or raw[:1] != _CURSOR_VERSION:
        raise InvalidQueryError("query", [("cursor", problem)])
    ts, rowid = _CURSOR.unpack(raw[1:])
    return ts, rowid


def build_query(
    *,
    limit: int = 100,
    cursor: str | None = None,
    order: str = "newest",
    max_limit: int = MAX_LIMIT,
    what: str = "query",
    extra: Sequence[str] = (),
    **filters: Unpack[Filters],
) -> QuerySpec:
    """Validate query arguments into a QuerySpec; raise InvalidQueryError naming each bad one.

    A keyword that is not a filter is named first, as an argument of ``what()`` whose other
    arguments are ``extra``.
    """
    check_arguments(what, filters, extra)
    problems: list[FieldProblem] = []
    given: dict[str, Any] = dict(filters)
    values = {f.field: f.validate(given.get(f.name), problems) for f in FILTER_LIST}
    lo, hi = values["since"], values["until"]
    if lo is not None and hi is not None and lo > hi:
        problems.append(("until", "must not be before since"))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        problems.append(("limit", f"must be a whole number from 1 to {max_limit}"))
    if order not in ("newest", "oldest"):
        problems.append(("order", "must be 'newest' or 'oldest'"))
    after = None
    if cursor is not None:
        try:
            after = decode_cursor(cursor)
        except InvalidQueryError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidQueryError("query", problems)
    return QuerySpec(
        **values, limit=limit, after=after, order="oldest" if order == "oldest" else "newest"
    )
