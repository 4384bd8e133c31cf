"""The histogram plan: rollups answer whole hours, events the partial hours at the edges."""

from __future__ import annotations

from datetime import UTC, datetime

from camvault.histogram import RollupPart, RollupPlan, make_spec
from camvault.query import QuerySpec, build_query
from camvault.rows import to_micros


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC)


def test_partial_hours_at_both_ends_are_counted_from_events() -> None:
    spec = make_spec(build_query(since=at(10, 30), until=at(14, 15)), "hour", None, None, None)
    rollup, first, last = spec.parts()
    assert rollup == RollupPart(RollupPlan("event", (), None), to_micros(at(11)), to_micros(at(14)))
    assert isinstance(first, QuerySpec) and isinstance(last, QuerySpec)
    assert (first.since, first.until) == (to_micros(at(10, 30)), to_micros(at(11)))
    assert (last.since, last.until) == (to_micros(at(14)), to_micros(at(14, 15)))


def test_whole_hours_need_no_edges_and_an_open_range_no_bounds() -> None:
    whole = make_spec(build_query(since=at(10), until=at(12)), "hour", "label", None, None)
    assert whole.parts() == (
        RollupPart(RollupPlan("label", (), "key"), to_micros(at(10)), to_micros(at(12))),
    )
    open_range = make_spec(build_query(), "day", "camera_id", None, None)
    assert open_range.parts() == (RollupPart(RollupPlan("event", (), "camera_id"), None, None),)


def test_less_than_an_hour_or_filters_rollups_lack_count_events() -> None:
    short = make_spec(build_query(since=at(10, 5), until=at(10, 50)), "hour", None, None, None)
    assert short.parts() == (short.filters,)
    text = make_spec(build_query(text="heron"), "hour", None, None, None)
    assert text.parts() == (text.filters,)
