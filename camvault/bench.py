"""A quick measurement of camvault on this machine, on a temporary database.

``camvault bench`` runs it; ``make bench`` runs the full side-by-side benchmark against a
raw-SQL baseline (``benchmarks/``), which uses the same helpers.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from camvault.models import utcnow
from camvault.sample import sample_events
from camvault.store import EventStore

__all__ = ["percentile", "quick_bench", "timed"]


def percentile(samples: list[int], q: float) -> float:
    """Return the q-th percentile (0-100) of nanosecond samples, in microseconds."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index] / 1000


def timed(call: Callable[[], Any], repeat: int) -> list[int]:
    """Run ``call`` ``repeat`` times and return each duration in nanoseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return samples


def quick_bench(events: int = 5000, bulk: int = 50_000) -> dict[str, float]:
    """Measure insert latency, bulk rate and query latency; return figures by name.

    The bulk events are a history older than the single ones, inserted after them, as an
    import into a live store is: reads are timed on that out-of-order store.
    """
    live = timedelta(days=7)
    singles = list(sample_events(events, seed=1, span=live))
    many = list(sample_events(bulk, seed=2, end=utcnow() - live, span=timedelta(days=21)))
    with (
        tempfile.TemporaryDirectory(prefix="camvault-bench-") as tmp,
        EventStore(Path(tmp) / "bench.db") as store,
    ):
        lat = []
        for ev in singles:
            start = time.perf_counter_ns()
            store.insert_event(ev)
            lat.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        store.insert_events(many)
        bulk_s = (time.perf_counter_ns() - start) / 1e9
        day_ago = utcnow() - timedelta(days=1)
        week_ago = utcnow() - timedelta(days=7)
        reads = {
            "newest 50 for a camera": lambda: store.get_recent_events(50, "front-door"),
            "label + confidence + day": lambda: store.query(
                label="person", min_confidence=0.8, since=day_ago, limit=50
            ),
            "full-text query": lambda: store.query(text="package", limit=50),
            "full-text query, oldest first": lambda: store.query(
                text="package", limit=50, order="oldest"
            ),
            "hourly counts by label, week": lambda: store.histogram(
                "hour", by="label", since=week_ago
            ),
        }
        figures = {
            "single insert p50 (us)": percentile(lat, 50),
            "single insert p99 (us)": percentile(lat, 99),
            "single inserts per second": events / (sum(lat) / 1e9),
            "bulk inserts per second": bulk / bulk_s,
        }
        for name, call in reads.items():
            figures[f"{name} p50 (us)"] = percentile(timed(call, 200), 50)
    return figures
