"""The parts of the live Frigate consumer: per-object lanes, URL checks, paging of /api/events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from camvault.aio import AsyncEventStore
from camvault.errors import InvalidInputError
from camvault.ingest.frigate import consume_frigate, frigate_topics
from camvault.ingest.frigate_http import FrigateApi, check_frigate_url
from camvault.ingest.frigate_state import Lanes
from tests.frigate_fake import FakeFrigate, frigate_fake_fixture
from tests.frigate_payloads import api_event

_ = frigate_fake_fixture  # the frigate_fake fixture, used by name


async def test_a_lane_runs_its_work_in_the_order_taken_and_lanes_run_side_by_side() -> None:
    lanes = Lanes()
    log: list[str] = []
    gate = asyncio.Event()

    async def work(name: str, wait: bool) -> None:
        if wait:
            await gate.wait()
        log.append(name)

    first = lanes.take("a")
    second = lanes.take("a")
    other = lanes.take("b")
    runs = [
        asyncio.create_task(second.run(lambda: work("a2", False))),  # started first, runs second
        asyncio.create_task(first.run(lambda: work("a1", True))),
        asyncio.create_task(other.run(lambda: work("b1", False))),
    ]
    await asyncio.sleep(0.01)
    assert log == ["b1"]  # lane b does not wait for lane a
    gate.set()
    await asyncio.gather(*runs)
    assert log == ["b1", "a1", "a2"]
    assert len(lanes) == 0  # finished lanes are forgotten


async def test_a_failing_ticket_lets_the_next_one_run() -> None:
    lanes = Lanes()
    first, second = lanes.take("a"), lanes.take("a")

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "ran"

    results = await asyncio.gather(first.run(boom), second.run(fine), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] == "ran"


async def test_only_a_later_state_at_least_as_new_supersedes() -> None:
    lanes = Lanes()
    new = lanes.take("a", rank=1.0)
    note = lanes.take("a")  # a description: not the whole object
    assert not new.superseded
    older = lanes.take("a", rank=0.5)  # out of order: older than what waits ahead of it
    assert not new.superseded and not older.superseded
    update = lanes.take("a", rank=2.0)
    assert new.superseded and note.superseded and older.superseded and not update.superseded
    same = lanes.take("a", rank=2.0)  # a repeat: the later copy is applied
    assert update.superseded and not same.superseded
    assert not lanes.take("b", rank=0.0).superseded


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "expected http://host:5000"),
        ("frigate:5000", "must start with http:// or https://"),
        ("mqtt://frigate", "must start with http:// or https://"),
        ("http://frigate:99999", "port that is not a number"),
        ("http://:5000", "names no host"),
        ("http://frigate:5000/?x=1", "has a query"),
    ],
)
def test_bad_frigate_urls_name_the_argument(url: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_frigate_url(url)
    assert info.value.fields == ["frigate_url"]
    assert why in str(info.value)


def test_a_frigate_url_loses_its_trailing_slash() -> None:
    assert check_frigate_url("http://frigate:5000/") == "http://frigate:5000"
    assert check_frigate_url("https://nvr.home/frigate/") == "https://nvr.home/frigate"


def test_topics_under_the_prefix() -> None:
    assert frigate_topics("frigate") == [
        "frigate/events",
        "frigate/tracked_object_update",
        "frigate/reviews",
    ]
    assert frigate_topics("home/nvr/") == [
        "home/nvr/events",
        "home/nvr/tracked_object_update",
        "home/nvr/reviews",
    ]
    for bad in ("", "/", "frigate/+", "#"):
        with pytest.raises(InvalidInputError) as info:
            frigate_topics(bad)
        assert info.value.fields == ["topic_prefix"]


async def test_paging_yields_every_event_once_even_when_a_page_ends_inside_a_tie(
    frigate_fake: FakeFrigate,
) -> None:
    # 7 events, the 3rd to 5th (newest first) sharing one start time; pages of 3
    starts = [100.0, 101.0, 102.0, 102.0, 102.0, 103.0, 104.0]
    ids = [f"e{n}" for n in range(len(starts))]
    frigate_fake.add_event(
        *(
            api_event("0.14", i, start_time=s, end_time=s + 1)
            for i, s in zip(ids, starts, strict=True)
        )
    )
    api = FrigateApi(frigate_fake.url)
    try:
        pages = [page async for page in api.events(after=99.0, page=3)]
    finally:
        await api.close()
    got = [row["id"] for page in pages for row in page]
    assert sorted(got) == sorted(ids)
    assert len(got) == len(set(got))
    queries = [parse_qs(q) for path, q in frigate_fake.requests if path == "/api/events"]
    assert all(q["after"] == ["99.0"] and q["limit"] == ["3"] for q in queries)


async def test_frames_come_from_the_detect_sizes(frigate_fake: FakeFrigate) -> None:
    frigate_fake.cameras["garage"] = (640, 480)
    api = FrigateApi(frigate_fake.url)
    try:
        assert await api.frames() == {"front_door": (1280, 720), "garage": (640, 480)}
        assert await api.snapshot("nobody") is None  # 404: Frigate has none
    finally:
        await api.close()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mqtt_url": "http://broker:1883"}, "url"),
        ({"frigate_url": "frigate:5000"}, "frigate_url"),
        ({"topic_prefix": "frigate/+"}, "topic_prefix"),
    ],
)
async def test_consume_frigate_refuses_bad_arguments_before_connecting(
    tmp_path: Path, kwargs: dict[str, str], field: str
) -> None:
    arguments = {"mqtt_url": "mqtt://127.0.0.1:1", "frigate_url": "http://127.0.0.1:1"}
    arguments.update(kwargs)
    async with AsyncEventStore(tmp_path / "events.db") as store:
        with pytest.raises(InvalidInputError) as info:
            await consume_frigate(
                store,
                arguments["mqtt_url"],
                arguments["frigate_url"],
                topic_prefix=arguments.get("topic_prefix", "frigate"),
            )
        assert info.value.fields == [field]
        assert await store.count() == 0
