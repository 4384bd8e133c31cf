"""The shared workload: sample events, baseline tuples, timing statistics and scratch folders."""

from __future__ import annotations

import contextlib
import gc
import logging
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from camvault import Event
from camvault.sample import sample_events

EventTuple = tuple[Any, ...]
"""An event's fields as plain Python values, in camvault's INSERT_COLUMNS order."""


def make_events(n: int, *, seed: int, end: datetime) -> list[Event]:
    """Generate ``n`` realistic events (0-6 detections, descriptions) ending at ``end``."""
    return list(sample_events(n, seed=seed, end=end))


def spread(events: list[Event], n: int) -> list[Event]:
    """Pick ``n`` events evenly over the whole list (so over the whole time span)."""
    if n >= len(events):
        return events
    return [events[i * len(events) // n] for i in range(n)]


def to_tuple(ev: Event) -> EventTuple:
    """Return an event's data as the plain tuple the raw-SQL baseline writes."""
    objects = [
        {
            "label": o.label,
            "confidence": o.confidence,
            "bbox": None if o.bbox is None else list(o.bbox),
        }
        for o in ev.detected_objects
    ]
    return (
        ev.event_id,
        ev.timestamp,
        ev.camera_id,
        ev.motion_confidence,
        objects,
        ev.llm_description,
        ev.image_path,
        ev.json_log_path,
        ev.thumbnail_path,
        ev.person_name,
        ev.face_confidence,
        ev.face_distance,
        ev.unlock_granted,
        ev.door_action,
        ev.recording_id,
        ev.metadata,
    )


def percentile(ordered: list[int], pct: float) -> int:
    """Return the nearest-rank percentile of already sorted samples."""
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency percentiles (microseconds) and throughput of one timed loop."""

    n: int
    p50_us: float
    p99_us: float
    max_us: float
    rate: float

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a JSON-ready dict."""
        return asdict(self)


def summarize(samples_ns: list[int], total_ns: int) -> Latency:
    """Summarize per-call samples and the loop's wall time."""
    ordered = sorted(samples_ns)
    return Latency(
        n=len(ordered),
        p50_us=percentile(ordered, 50) / 1e3,
        p99_us=percentile(ordered, 99) / 1e3,
        max_us=ordered[-1] / 1e3,
        rate=len(ordered) / (total_ns / 1e9),
    )


def time_each(
    call: Callable[[Any], object], items: Iterable[Any], budget_s: float | None = None
) -> Latency:
    """Call ``call`` once per item, timing each call and the whole loop.

    With ``budget_s``, stop early once that much time has passed (after at least 5 calls).
    """
    items = list(items)
    samples = [0] * len(items)
    clock = time.perf_counter_ns
    deadline = None if budget_s is None else clock() + int(budget_s * 1e9)
    gc.collect()
    start = clock()
    for i, item in enumerate(items):
        t0 = clock()
        call(item)
        samples[i] = t1 = clock() - t0
        if deadline is not None and i >= 4 and t0 + t1 > deadline:
            del samples[i + 1 :]
            break
    return summarize(samples, clock() - start)


@contextlib.contextmanager
def scratch(tag: str) -> Iterator[Path]:
    """Yield a fresh temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"camvault-bench-{tag}-") as folder:
        yield Path(folder)


def wal_state(db: Path) -> dict[str, int]:
    """Return how often the WAL was restarted after a checkpoint, and its file size."""
    wal = db.with_name(db.name + "-wal")
    if not wal.exists():
        return {"wal_resets": 0, "wal_bytes": 0}
    with wal.open("rb") as f:
        header = f.read(16)
    resets = struct.unpack(">I", header[12:16])[0] if len(header) == 16 else 0
    return {"wal_resets": resets, "wal_bytes": wal.stat().st_size}


class LogCounter(logging.Handler):
    """Count camvault's log records by their first words instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[" ".join(record.msg.split()[:3]) if isinstance(record.msg, str) else "?"] += 1


@contextlib.contextmanager
def counting_logs() -> Iterator[LogCounter]:
    """Route the camvault logger into a counter for the duration of the block."""
    logger = logging.getLogger("camvault")
    handler, propagate = LogCounter(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
