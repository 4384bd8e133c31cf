"""Histograms: bucket and time-zone arithmetic, and the plan: what rollups and events to count.

Hour buckets are UTC hours (labelled in the caller's time zone); day buckets run from local
midnight to local midnight in ``tz``, through daylight-saving changes. A backend computes a
bucket number per event in SQL from the offset periods worked out here, so results always
equal a brute-force count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from camvault.errors import InvalidQueryError
from camvault.models import Bucket
from camvault.query import QuerySpec
from camvault.rollups import HOUR
from camvault.rows import from_micros, to_micros

__all__ = [
    "DAY",
    "WALK_DAYS",
    "HistogramPart",
    "HistogramSpec",
    "RollupPart",
    "RollupPlan",
    "make_spec",
    "to_buckets",
    "to_heatmap",
]

DAY = 24 * HOUR
WALK_DAYS = 3660
"""Up to this many days between the oldest and newest event in range, day buckets work out
the offsets on every day (a few milliseconds); beyond, only on the days holding events."""
BucketWidth = Literal["hour", "day"]
GroupBy = Literal["label", "camera_id", "person_name"]


@dataclass(frozen=True, slots=True)
class RollupPlan:
    """How to read a histogram from rollups: which dim, which keys, what to group by."""

    dim: str
    keys: tuple[str, ...]
    group: Literal["key", "camera_id"] | None


@dataclass(frozen=True, slots=True)
class RollupPart:
    """Count from the hourly rollups over the whole hours in [since, until) (None: open)."""

    plan: RollupPlan
    since: int | None
    until: int | None


HistogramPart = RollupPart | QuerySpec
"""One piece of a histogram: rollup hours, or the events matching a QuerySpec."""


@dataclass(frozen=True, slots=True)
class HistogramSpec:
    """A validated histogram request."""

    filters: QuerySpec
    bucket: BucketWidth
    by: GroupBy | None
    tz: tzinfo
    periods: tuple[tuple[int, int], ...]
    """(start, UTC offset) pairs in microseconds: the offset applies from start to the next."""

    @property
    def rollup(self) -> RollupPlan | None:
        """The rollup plan that answers this histogram exactly, or None to count events."""
        f = self.filters
        if not f.only_time_and_camera:
            return None
        if self.bucket == "day" and any(
            offset % HOUR or (i and start % HOUR) for i, (start, offset) in enumerate(self.periods)
        ):
            return None  # local days do not start on UTC hours (half-hour zones)
        group: Literal["key", "camera_id"] | None = "camera_id" if self.by == "camera_id" else None
        if f.labels and f.person_name is not None:
            return None
        if f.labels:
            if self.by == "label":
                return RollupPlan("label", f.labels, "key")
            if len(f.labels) == 1 and self.by in (None, "camera_id"):
                return RollupPlan("label", f.labels, group)
            return None
        if f.person_name is not None:
            if self.by == "person_name":
                return RollupPlan("person", (f.person_name,), "key")
            if self.by in (None, "camera_id"):
                return RollupPlan("person", (f.person_name,), group)
            return None
        if self.by == "label":
            return RollupPlan("label", (), "key")
        if self.by == "person_name":
            return RollupPlan("person", (), "key")
        return RollupPlan("event", (), group)

    def parts(self) -> tuple[HistogramPart, ...]:
        """Split the request into what an engine counts; their counts add up to the answer.

        The rollups answer the whole hours; events at a partial hour at either end of the
        time range are counted directly. Without a rollup plan, every event is counted.
        """
        f = self.filters
        plan = self.rollup
        if plan is None:
            return (f,)
        lo, hi = f.since, f.until
        inner_lo = None if lo is None else -(-lo // HOUR) * HOUR  # first whole hour
        inner_hi = None if hi is None else hi // HOUR * HOUR  # end of the last whole hour
        if inner_lo is not None and inner_hi is not None and inner_lo >= inner_hi:
            return (f,)  # not one whole hour inside: count the events
        out: list[HistogramPart] = [RollupPart(plan, inner_lo, inner_hi)]
        for edge_lo, edge_hi in ((lo, inner_lo), (inner_hi, hi)):
            if edge_lo is not None and edge_hi is not None and edge_lo < edge_hi:
                out.append(replace(f, since=edge_lo, until=edge_hi))
        return tuple(out)


def _zone(tz: str | tzinfo | None, what: str) -> tzinfo:
    """Resolve the ``tz`` argument of ``what``: an IANA name, a tzinfo, or None for UTC."""
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise InvalidQueryError(
        what, [("tz", "must be an IANA time zone such as 'Europe/Berlin', or 'UTC'")]
    )


def _offset(tz: tzinfo, ts: int) -> int:
    """UTC offset of ``tz`` at instant ``ts``, in microseconds."""
    offset = from_micros(ts).astimezone(tz).utcoffset() or timedelta(0)
    return to_micros(datetime(1970, 1, 1, tzinfo=UTC) + offset)


def _change(tz: tzinfo, a: int, b: int, before: int) -> int:
    """Return the first microsecond in (a, b] whose offset differs from ``before`` (at ``a``)."""
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(tz, mid) == before:
            a = mid
        else:
            b = mid
    return b


def offset_periods(tz: tzinfo, lo: int, days: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Return (start, offset) periods of ``tz`` exact at every instant of ``days`` from ``lo``.

    ``days`` are the starts of the UTC days that hold data, ascending. Between two of them
    nothing is counted, so a change of offset there starts its period at the next data day;
    a change inside a data day is found to the microsecond. The work is a few offsets per day
    that holds data, whatever the span between them.
    """
    periods = [(lo, _offset(tz, lo))]
    if not isinstance(tz, ZoneInfo):
        return tuple(periods)  # UTC and fixed offsets never change
    known = lo  # the last instant whose offset is periods[-1]'s
    for day in days:
        start, end = max(day, lo), day + DAY - 1
        if start > end:
            continue
        if start > known + 1:  # after days without events: their changes do not matter
            known = start
            if (offset := _offset(tz, start)) != periods[-1][1]:
                periods.append((start, offset))
        last = _offset(tz, end)
        while last != periods[-1][1]:  # one change a day, rarely two: find each
            known = _change(tz, known, end, periods[-1][1])
            periods.append((known, _offset(tz, known)))
        known = end
    return tuple(periods)


def make_spec(
    filters: QuerySpec,
    bucket: str,
    by: str | None,
    tz: str | tzinfo | None,
    data_range: tuple[int, int] | None,
    *,
    what: str = "histogram",
    data_days: Callable[[int, int], Iterable[int]] | None = None,
) -> HistogramSpec:
    """Validate histogram arguments; ``data_range`` is the (oldest, newest) stored event.

    ``what`` names the caller in errors (``histogram``, ``heatmap``). ``data_days(lo, hi)``
    returns the starts of the UTC days holding events in [lo, hi): over more than WALK_DAYS,
    day buckets work out the time zone's offsets on those days only (without it, or over a
    shorter range, on every day of the range).
    """
    problems = []
    if bucket not in ("hour", "day"):
        problems.append(("bucket", "must be 'hour' or 'day'"))
    if by not in (None, "label", "camera_id", "person_name"):
        problems.append(("by", "must be 'label', 'camera_id', 'person_name' or None"))
    if problems:
        raise InvalidQueryError(what, problems)
    zone = _zone(tz, what)
    # buckets exist only where events are: the offsets matter only within the data's range
    data_lo, data_hi = data_range or (0, 0)
    lo = max(filters.since, data_lo) if filters.since is not None else data_lo
    hi = max(lo, min(filters.until, data_hi + 1) if filters.until is not None else data_hi + 1)
    periods: tuple[tuple[int, int], ...] = ((lo, 0),)
    if bucket == "day":
        every_day = range(lo - lo % DAY, hi, DAY)
        if data_days is not None and len(every_day) > WALK_DAYS:  # long: seek the data's days
            periods = offset_periods(zone, lo, data_days(lo, hi))
        else:
            periods = offset_periods(zone, lo, every_day)
    return HistogramSpec(
        filters=filters,
        bucket="hour" if bucket == "hour" else "day",
        by=by,  # type: ignore[arg-type]
        tz=zone,
        periods=periods,
    )


# Buckets are frozen dataclasses: their __init__ goes through object.__setattr__ per field.
# A week by label is ~1,200 Buckets per call, so they are built from trusted rows by writing
# the slots directly (the fields are checked against these names at import).
_new = object.__new__
_SET_START, _SET_KEY, _SET_COUNT = (getattr(Bucket, f).__set__ for f in ("start", "key", "count"))
if tuple(f.name for f in fields(Bucket)) != ("start", "key", "count"):  # pragma: no cover
    raise ImportError("to_buckets writes Bucket's fields (start, key, count) by hand")


def _bucket(start: datetime, key: str | None, count: int) -> Bucket:
    """Build a Bucket from trusted values without the frozen dataclass's __init__."""
    b: Bucket = _new(Bucket)
    _SET_START(b, start)
    _SET_KEY(b, key)
    _SET_COUNT(b, count)
    return b


def _bucket_start(width: BucketWidth, number: int, tz: tzinfo) -> datetime:
    """Return the start of bucket ``number`` (hours or days since the epoch) in ``tz``."""
    if width == "hour":
        return from_micros(number * HOUR).astimezone(tz)
    return datetime.combine(date(1970, 1, 1) + timedelta(days=number), time(0), tz)


def to_buckets(spec: HistogramSpec, rows: list[tuple[int, str | None, int]]) -> list[Bucket]:
    """Turn (bucket number, key, count) rows into Buckets ordered by start, then key."""
    # sort by bucket number: same-zone datetimes compare by wall clock and would misplace
    # the repeated hour when daylight saving ends; (number, key) is unique, so the plain
    # tuple order is that order unless a key is None
    try:
        ordered = sorted(rows)
    except TypeError:
        ordered = sorted(rows, key=lambda r: (r[0], r[1] or ""))
    width, tz = spec.bucket, spec.tz
    starts: dict[int, datetime] = {}  # a week by label is 1,183 rows but only 168 hours
    out = []
    for number, key, count in ordered:
        if count <= 0:
            continue
        start = starts.get(number)
        if start is None:
            start = starts[number] = _bucket_start(width, number, tz)
        out.append(_bucket(start, key, count))
    return out


def to_heatmap(spec: HistogramSpec, rows: list[tuple[int, str | None, int]]) -> list[list[int]]:
    """Fold the rows of an hour histogram into 7 x 24 counts (weekday, Monday first; hour).

    Each UTC hour counts under the weekday and hour of day its start has in ``spec.tz``:
    exact wherever the offset is whole hours (through daylight-saving changes); where it is
    not (India +5:30, Nepal +5:45), the cell of local hour h holds the UTC hour that starts
    within h (in India 15:30 to 16:30 for the 15:00 cell).
    """
    grid = [[0] * 24 for _ in range(7)]
    tz = spec.tz
    for number, _, count in rows:
        local = _bucket_start("hour", number, tz)
        grid[local.weekday()][local.hour] += count
    return grid
