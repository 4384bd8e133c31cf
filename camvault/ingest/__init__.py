"""Live ingest: feed a store from the pipelines that already publish events (MQTT, Frigate)."""

from camvault.ingest.frigate import FrigateStats, consume_frigate
from camvault.ingest.mqtt import IngestStats, MqttTarget, consume_mqtt, parse_mqtt_url

__all__ = [
    "FrigateStats",
    "IngestStats",
    "MqttTarget",
    "consume_frigate",
    "consume_mqtt",
    "parse_mqtt_url",
]
