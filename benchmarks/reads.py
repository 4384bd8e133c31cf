"""Read benchmarks on the stored data: one event, the newest 50, and a label query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.baseline import EPOCH, MICRO, Baseline
from benchmarks.workload import time_each
from camvault import EventStore

WARMUP = 20
BUDGET_S = 1.5
"""Each read is timed for at most this long (slow queries get fewer samples)."""


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What to read: event ids to fetch, how often to run each query, and 'one day ago'."""

    event_ids: Sequence[str]
    repeats: int
    since: datetime


def _time(call: Callable[[Any], Any], items: Sequence[Any]) -> dict[str, float]:
    """Warm up, then time ``call`` over ``items``; also note how many rows a call returns."""
    for item in items[:WARMUP]:
        result = call(item)
    lat = time_each(call, items, BUDGET_S)
    rows = 1 if not isinstance(result, list) else len(result)
    return {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "samples": lat.n, "rows": rows}


def read_camvault(store: EventStore, plan: ReadPlan) -> dict[str, dict[str, float]]:
    """Time camvault's reads, each returning Event objects."""
    runs = range(plan.repeats)
    return {
        "get_event": _time(store.get_event, plan.event_ids),
        "recent": _time(lambda _: store.get_recent_events(limit=50), runs),
        "query": _time(
            lambda _: store.query(label="person", min_confidence=0.5, since=plan.since).events,
            runs,
        ),
    }


def read_baseline(store: Baseline, plan: ReadPlan) -> dict[str, dict[str, float]]:
    """Time the baseline's equivalent SELECTs, each returning dicts."""
    runs = range(plan.repeats)
    since = (plan.since - EPOCH) // MICRO
    return {
        "get_event": _time(store.get_event, plan.event_ids),
        "recent": _time(lambda _: store.recent(50), runs),
        "query": _time(lambda _: store.query("person", 0.5, since, 100), runs),
    }
