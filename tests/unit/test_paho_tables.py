"""paho's packet decoder with shared property tables decodes exactly what paho's own does."""

from __future__ import annotations

import struct

import paho.mqtt._packet as paho_packet
import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.exception import MQTTException
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from camvault.ingest import paho_tables
from camvault.ingest.paho_tables import SharedTableProperties


def _publish_body(topic: bytes, mid: int, properties: bytes, payload: bytes) -> bytes:
    """A QoS 1 MQTT 5 PUBLISH after its fixed header: topic, packet id, properties, payload."""
    return struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + properties + payload


def _properties(**values: object) -> Properties:
    """PUBLISH properties set the way a publisher sets them, on paho's own class."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(props, name, value)
    return props


CASES = [
    {},
    {"PayloadFormatIndicator": 1},
    {"MessageExpiryInterval": 3600, "ContentType": "application/json"},
    {"ResponseTopic": "frigate/replies", "CorrelationData": b"\x00\x01abc"},
    {"UserProperty": [("camera", "front_door"), ("camera", "driveway"), ("zone", "porch")]},
    {"TopicAlias": 7, "SubscriptionIdentifier": [300]},
]


@pytest.mark.parametrize("values", CASES, ids=lambda v: ",".join(v) or "none")
def test_a_publish_decodes_to_the_same_properties_and_payload(
    values: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = _properties(**values).pack()  # type: ignore[no-untyped-call]
    body = _publish_body(b"frigate/events", 4242, packed, b'{"type": "new"}')
    monkeypatch.setattr(paho_packet, "Properties", Properties)
    theirs = paho_packet.decode_publish(0x32, body, MQTTProtocolVersion.MQTTv5)
    paho_tables.install()
    assert paho_packet.Properties is SharedTableProperties
    ours = paho_packet.decode_publish(0x32, body, MQTTProtocolVersion.MQTTv5)
    assert isinstance(ours.properties, SharedTableProperties)
    assert (ours.topic, ours.mid, ours.payload) == (theirs.topic, theirs.mid, theirs.payload)
    assert ours.payload == b'{"type": "new"}'
    assert ours.properties.json() == theirs.properties.json()  # type: ignore[union-attr]
    for name, value in values.items():
        assert getattr(ours.properties, name) == value
    assert ours.properties.pack() == packed  # type: ignore[union-attr]


def test_decoding_again_clears_what_the_last_packet_set() -> None:
    props = SharedTableProperties(PacketTypes.PUBLISH)
    props.unpack(_properties(ContentType="text/plain", MessageExpiryInterval=5).pack())  # type: ignore[no-untyped-call]
    props.unpack(_properties(PayloadFormatIndicator=1).pack())  # type: ignore[no-untyped-call]
    assert props.json() == {"PayloadFormatIndicator": 1}  # type: ignore[no-untyped-call]
    assert props.packetType == PacketTypes.PUBLISH
    props.clear()
    assert props.isEmpty()  # type: ignore[no-untyped-call]


def test_a_property_a_packet_may_not_carry_is_refused_as_paho_refuses_it() -> None:
    props = SharedTableProperties(PacketTypes.PUBLISH)
    with pytest.raises(MQTTException, match="does not apply to packet type Publish"):
        props.SessionExpiryInterval = 60
