"""The broker URL of `camvault ingest mqtt`: what is accepted, and one clear error otherwise."""

from __future__ import annotations

import pytest

from camvault.errors import InvalidInputError
from camvault.ingest import MqttTarget, parse_mqtt_url


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("mqtt://127.0.0.1", MqttTarget("127.0.0.1", 1883)),
        ("mqtt://broker:1884", MqttTarget("broker", 1884)),
        ("mqtt://cam%40home:p%3Ass@broker", MqttTarget("broker", 1883, "cam@home", "p:ss")),
        ("mqtts://broker", MqttTarget("broker", 8883, tls=True)),
        ("mqtt://[::1]:1883/", MqttTarget("::1", 1883)),
    ],
)
def test_accepted_urls(url: str, want: MqttTarget) -> None:
    assert parse_mqtt_url(url) == want


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "expected mqtt://"),
        ("http://broker", "must start with mqtt:// or mqtts://"),
        ("broker:1883", "must start with mqtt:// or mqtts://"),
        ("mqtt://broker:99999", "port that is not a number"),
        ("mqtt://broker:abc", "port that is not a number"),
        ("mqtt://:1883", "names no host"),
        ("mqtt://broker/cameras", "has a path or query"),
    ],
)
def test_refused_urls_name_the_argument(url: str, why: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_mqtt_url(url)
    assert info.value.fields == ["url"]
    assert why in str(info.value)


def test_the_password_is_not_shown() -> None:
    assert str(parse_mqtt_url("mqtt://cam:secret@broker")) == "mqtt://broker:1883"
    assert "secret" not in repr(parse_mqtt_url("mqtt://cam:secret@broker"))
