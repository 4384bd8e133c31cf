"""The chart and the heatmap against hand-computed counts, on an imported (past) history.

The browser runs in America/New_York: the data spans the 2024-03-10 change to daylight
saving time, and one event falls on another UTC day than its local one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest

from camvault import Event
from tests.e2e.conftest import Server, fill, serve

TZ = ZoneInfo("America/New_York")
STAMPS = [  # (UTC time, camera)
    ("2024-03-04T13:05:00", "driveway"),  # Mon 08:05 EST
    ("2024-03-04T13:40:00", "driveway"),  # Mon 08:40
    ("2024-03-04T22:10:00", "garage"),  # Mon 17:10
    ("2024-03-05T04:30:00", "garage"),  # Mon 23:30 (Tuesday in UTC)
    ("2024-03-09T15:00:00", "driveway"),  # Sat 10:00
    ("2024-03-11T12:15:00", "driveway"),  # Mon 08:15 EDT
    ("2024-03-11T12:45:00", "garage"),  # Mon 08:45
    ("2024-03-18T01:30:00", "driveway"),  # Sun 21:30 (Monday in UTC)
    ("2024-03-18T13:00:00", "garage"),  # Mon 09:00
]
TIMES = [datetime.fromisoformat(t).replace(tzinfo=UTC) for t, _ in STAMPS]
SIZES = pytest.mark.parametrize("size", ["desktop", "phone"])


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("chart") / "events.db"
    events = [
        Event(event_id=f"h{i}", camera_id=cam, timestamp=ts)
        for i, ((_, cam), ts) in enumerate(zip(STAMPS, TIMES, strict=True))
    ]
    fill(db, events, thumbnails=False)
    with serve(db) as running:
        yield running


def open_tab(new_page: Any, size: str, url: str, asked: list[dict[str, str]] | None = None) -> Any:
    """Open the dashboard in New York; ``asked`` collects the figures' requests (path, params)."""
    page = new_page(size, timezone_id="America/New_York", locale="en-US")
    if asked is not None:
        page.on(
            "request", lambda r: asked.append(figure_request(r.url)) if "/api/h" in r.url else None
        )
    page.goto(url)
    page.wait_for_selector("#chart canvas")
    return page


def figure_request(url: str) -> dict[str, str]:
    """A /api/histogram or /api/heatmap request: its path and parameters."""
    parsed = urlsplit(url)
    return {"path": parsed.path, **dict(parse_qsl(parsed.query))}


def figures(asked: list[dict[str, str]]) -> list[dict[str, str]]:
    """The heatmap's and the chart's requests (the label filter's choices come by label)."""
    return [a for a in asked if a["path"] == "/api/heatmap" or a.get("by") == "camera_id"]


def local_midnight(day: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def per_day(start: datetime, end: datetime) -> list[int]:
    """Events per local day from ``start``'s day up to (not including) ``end``'s midnight."""
    days = []
    day = local_midnight(start)
    while day < end:
        nxt = local_midnight(day + timedelta(days=1, hours=2))
        days.append(sum(day <= t < nxt for t in TIMES))
        day = nxt
    return days


def table(page: Any) -> list[tuple[str, int]]:
    rows = page.eval_on_selector_all(
        "#chart-table tbody tr",
        "rs => rs.map(r => [r.cells[0].dataset.start, +r.cells[1].textContent])",
    )
    return [(datetime.fromisoformat(s.replace("Z", "+00:00")).isoformat(), n) for s, n in rows]


@SIZES
def test_the_chart_covers_the_whole_history_per_day_with_empty_days(
    history: Server, new_page: Any, size: str
) -> None:
    asked: list[dict[str, str]] = []
    page = open_tab(new_page, size, history.url, asked)
    period = page.inner_text("#period")
    assert period == "Mar 4, 2024 \u2013 Mar 18, 2024, per day, 9 events"
    assert page.locator("#chart .u-axis").count() == 2  # time and count
    # fifteen days: the day buckets are the answer, no hour of the history is asked for
    tz = "America/New_York"
    assert sorted(figures(asked), key=lambda a: a["path"]) == [
        {"path": "/api/heatmap", "tz": tz},
        {"path": "/api/histogram", "bucket": "day", "by": "camera_id", "tz": tz},
    ]
    rows = table(page)
    expected = per_day(TIMES[0].astimezone(TZ), local_midnight(datetime(2024, 3, 19)))
    assert expected == [4, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 1, 1]  # the hand count
    assert [n for _, n in rows] == expected
    assert rows[0][0] == local_midnight(datetime(2024, 3, 4)).astimezone(UTC).isoformat()
    assert rows[-1][0] == local_midnight(datetime(2024, 3, 18)).astimezone(UTC).isoformat()


@SIZES
def test_two_days_are_shown_per_hour_with_every_hour(
    history: Server, new_page: Any, size: str
) -> None:
    since = local_midnight(datetime(2024, 3, 4)).astimezone(UTC)
    until = since + timedelta(hours=48)
    url = f"{history.url}/#/?since={since:%Y-%m-%dT%H:%M:%SZ}&until={until:%Y-%m-%dT%H:%M:%SZ}"
    asked: list[dict[str, str]] = []
    page = open_tab(new_page, size, url, asked)
    assert (
        page.inner_text("#period")
        == "Mar 4, 2024, 12:00 AM \u2013 Mar 6, 2024, 12:00 AM, per hour, 4 events"
    )
    rows = table(page)
    assert len(rows) == 48
    busy = {i: n for i, (_, n) in enumerate(rows) if n}
    assert busy == {8: 2, 17: 1, 23: 1}
    assert [a["bucket"] for a in figures(asked) if a["path"] == "/api/histogram"] == ["hour"]


@SIZES
def test_a_short_history_is_asked_per_day_then_per_hour_within_those_days(
    history: Server, new_page: Any, size: str
) -> None:
    until = datetime(2024, 3, 6, tzinfo=UTC)  # Mar 5 19:00 local; no since: from the data
    asked: list[dict[str, str]] = []
    page = open_tab(new_page, size, f"{history.url}/#/?until={until:%Y-%m-%dT%H:%M:%SZ}", asked)
    assert page.inner_text("#period").endswith(", per hour, 4 events")
    rows = table(page)
    first = datetime(2024, 3, 4, 8, tzinfo=TZ)  # the first event's hour, to the end
    assert rows[0][0] == first.astimezone(UTC).isoformat()
    assert len(rows) == (until - first).total_seconds() / 3600 == 35
    assert {i: n for i, (_, n) in enumerate(rows) if n} == {0: 2, 9: 1, 15: 1}
    charts = [a for a in figures(asked) if a["path"] == "/api/histogram"]
    assert [a["bucket"] for a in charts] == ["day", "hour"]
    midnight = local_midnight(datetime(2024, 3, 4)).astimezone(UTC)
    assert datetime.fromisoformat(charts[1]["since"].replace("Z", "+00:00")) == midnight
    assert datetime.fromisoformat(charts[1]["until"].replace("Z", "+00:00")) == until


@SIZES
def test_dragging_across_the_chart_zooms_into_that_period(
    history: Server, new_page: Any, size: str
) -> None:
    page = open_tab(new_page, size, history.url)
    over = page.locator("#chart .u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.10, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.50, y, steps=8)
    page.mouse.up()
    page.wait_for_function("() => location.hash.includes('until=')")
    # the axis runs from Mar 4 00:00 to Mar 19 00:00 local: 10% is Mar 5 11:54, 50% is
    # Mar 11 12:30; the range snaps out to whole days
    lo, hi = local_midnight(datetime(2024, 3, 4)), local_midnight(datetime(2024, 3, 19))
    at = [lo.astimezone(UTC) + (hi - lo) * f for f in (0.10, 0.50)]
    assert at[0].astimezone(TZ).date().day == 5 and at[1].astimezone(TZ).date().day == 11
    since = local_midnight(datetime(2024, 3, 5))
    until = local_midnight(datetime(2024, 3, 12))
    page.wait_for_function("() => document.querySelector('#count')?.textContent === '3 events'")
    params = page.evaluate(
        "() => Object.fromEntries(new URLSearchParams(location.hash.split('?')[1]))"
    )
    assert datetime.fromisoformat(params["since"].replace("Z", "+00:00")) == since
    assert datetime.fromisoformat(params["until"].replace("Z", "+00:00")) == until
    assert [n for _, n in table(page)] == [0, 0, 0, 0, 1, 0, 2]
    assert page.inner_text("#period") == "Mar 5, 2024 \u2013 Mar 11, 2024, per day, 3 events"
    page.click("#zoom-out")
    page.wait_for_function("() => document.querySelector('#count')?.textContent === '9 events'")


@SIZES
def test_the_heatmap_counts_events_by_local_weekday_and_hour(
    history: Server, new_page: Any, size: str
) -> None:
    page = open_tab(new_page, size, history.url)
    cells = page.eval_on_selector_all(
        "#heatmap td",
        "cs => cs.map(c => [+c.dataset.day, +c.dataset.hour, +c.dataset.count, c.title])",
    )
    assert len(cells) == 7 * 24
    expected = [[0] * 24 for _ in range(7)]
    for t in TIMES:
        local = t.astimezone(TZ)
        expected[local.weekday()][local.hour] += 1
    assert expected[0][8] == 4 and expected[6][21] == 1  # Mondays 08:00, Sunday 21:30
    got = [[0] * 24 for _ in range(7)]
    for day, hour, count, title in cells:
        got[day][hour] = count
        assert title.endswith(f": {count} event" + ("" if count == 1 else "s"))
    assert got == expected
    assert page.get_attribute("#heatmap td[data-day='0'][data-hour='8']", "title") == (
        "Mon 08:00\u201309:00: 4 events"
    )
