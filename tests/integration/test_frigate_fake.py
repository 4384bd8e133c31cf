"""The fake Frigate answers like Frigate's API, over real HTTP, and obeys the tests' controls."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.frigate_fake import FakeFrigate, frigate_fake_fixture  # noqa: F401 - the fixture
from tests.frigate_payloads import START, api_event, jpeg_bytes, make_id


def test_config_gives_each_cameras_detect_frame() -> None:
    with FakeFrigate({"front_door": (1280, 720), "garage": (640, 480)}) as fake:
        config = httpx.get(f"{fake.url}/api/config").json()
    detect = {name: cam["detect"] for name, cam in config["cameras"].items()}
    assert detect["garage"]["width"] == 640 and detect["garage"]["height"] == 480
    assert detect["front_door"]["width"] == 1280 and detect["front_door"]["height"] == 720


def test_events_filter_and_sort_like_frigate(frigate_fake: FakeFrigate) -> None:
    ids = [make_id(START + n, n) for n in range(5)]
    frigate_fake.add_event(
        *(
            api_event(
                "0.16",
                eid,
                start_time=START + n,
                end_time=None if n == 4 else START + n + 1,
                camera="garage" if n == 1 else "front_door",
            )
            for n, eid in enumerate(ids)
        )
    )

    def listed(**params: object) -> list[str]:
        answer = httpx.get(f"{frigate_fake.url}/api/events", params=params)  # type: ignore[arg-type]
        answer.raise_for_status()
        return [item["id"] for item in answer.json()]

    assert listed() == ids[::-1]  # newest first
    assert listed(after=START + 2) == [ids[4], ids[3]]  # strictly after
    assert listed(before=START + 1) == [ids[0]]
    assert listed(limit=2) == [ids[4], ids[3]]
    assert listed(in_progress=1) == [ids[4]]
    assert listed(in_progress=0) == ids[3::-1]
    assert listed(camera="garage") == [ids[1]]
    assert listed(cameras="garage,front_door", after=START + 3) == [ids[4]]
    one = httpx.get(f"{frigate_fake.url}/api/events/{ids[2]}")
    assert one.json()["id"] == ids[2]
    assert httpx.get(f"{frigate_fake.url}/api/events/nope").status_code == 404
    assert frigate_fake.count("/api/events") == 8
    assert ("/api/events", "limit=2") in frigate_fake.requests


def test_media_are_real_images_in_the_asked_format(frigate_fake: FakeFrigate) -> None:
    eid = make_id(START)
    frigate_fake.add_event(api_event("0.16", eid))
    base = f"{frigate_fake.url}/api/events/{eid}"
    assert httpx.get(f"{base}/snapshot.jpg").status_code == 404  # no media yet
    frigate_fake.set_media(
        eid,
        snapshot=jpeg_bytes((255, 0, 0), (64, 48)),
        thumbnail=Image.new("RGB", (32, 32), (0, 0, 255)),
    )
    for name, fmt, size in [
        ("snapshot.jpg", "JPEG", (64, 48)),
        ("thumbnail.jpg", "JPEG", (32, 32)),
        ("thumbnail.webp", "WEBP", (32, 32)),
    ]:
        answer = httpx.get(f"{base}/{name}")
        assert answer.status_code == 200
        with Image.open(io.BytesIO(answer.content)) as img:
            assert (img.format, img.size) == (fmt, size)
    assert frigate_fake.count(f"/api/events/{eid}/thumbnail.webp") == 1


@pytest.mark.parametrize("mode", ["refuse", "503"])
def test_down_then_up(frigate_fake: FakeFrigate, mode: str) -> None:
    url = f"{frigate_fake.url}/api/config"
    assert httpx.get(url).status_code == 200
    frigate_fake.down(mode)
    if mode == "refuse":
        with pytest.raises(httpx.ConnectError):
            httpx.get(url)
    else:
        assert httpx.get(url).status_code == 503
    frigate_fake.up()
    assert httpx.get(url).status_code == 200
    assert frigate_fake.url.endswith(str(httpx.URL(url).port))
