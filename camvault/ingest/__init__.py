"""Live ingest: feed a store from the pipelines that already publish events (MQTT)."""

from camvault.ingest.mqtt import IngestStats, MqttTarget, consume_mqtt, parse_mqtt_url

__all__ = ["IngestStats", "MqttTarget", "consume_mqtt", "parse_mqtt_url"]
