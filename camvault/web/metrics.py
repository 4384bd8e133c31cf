"""Prometheus metrics of one server: inserts, duplicates, failures, latency, events stored."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

__all__ = ["Metrics"]


class Metrics:
    """The server's counters, in a registry of its own (two apps never share one)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created is noise
        self.registry = CollectorRegistry()
        self.inserts = Counter(
            "camvault_inserts", "Events inserted through the API.", registry=self.registry
        )
        self.duplicates = Counter(
            "camvault_duplicates", "Posted events already stored.", registry=self.registry
        )
        self.failures = Counter(
            "camvault_insert_failures", "Posted events that were refused.", registry=self.registry
        )
        self.insert_seconds = Histogram(
            "camvault_insert_seconds",
            "Time to store one posted event (a batch's time divided by its size).",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0),
            registry=self.registry,
        )
        self.events_stored = Gauge(
            "camvault_events_stored", "Events in the database.", registry=self.registry
        )

    def render(self) -> bytes:
        """Render the metrics in Prometheus text format."""
        return generate_latest(self.registry)
