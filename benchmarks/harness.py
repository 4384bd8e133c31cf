"""The shared harness: sizes, the workload, timing loops with their percentiles, scratch folders.

Every section times its calls with ``timed`` and summarizes them with ``latency``, which
takes its percentiles from ``camvault bench``'s own helper: one definition for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from camvault import Event
from camvault.bench import percentile
from camvault.sample import sample_events

T = TypeVar("T")
EventTuple = tuple[Any, ...]
"""An event's fields as plain Python values, in camvault's INSERT_COLUMNS order."""
WARMUP_NS = 1_000_000_000
"""A warm-up stops after the call that passes this long."""


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes of every part of the run."""

    events: int = 20_000
    bulk: int = 200_000
    growth: int = 1_000_000
    growth_chunk: int = 50_000
    warmup: int = 500
    rounds: int = 2
    memory_small: int = 20_000
    memory_large: int = 200_000
    read_ids: int = 2_000
    read_repeats: int = 300
    construct: int = 5_000
    async_events: int = 20_000
    async_single: int = 5_000
    reads_events: int = 1_000_000
    reads_chunk: int = 50_000
    reads_import: int = 50_000
    reads_days: int = 60
    read_reps: int = 300
    http_single: int = 3_000
    http_batches: int = 300
    http_batch_size: int = 100
    http_reads: int = 300
    pg_rounds: int = 3
    pg_single: int = 2_000
    pg_async: int = 5_000
    pg_read_reps: int = 300
    frigate_lifecycles: int = 10_000
    frigate_rounds: int = 2
    frigate_light: int = 500
    scale_events: int = 10_000_000
    scale_days: int = 730
    scale_cameras: int = 100


QUICK = Config(
    events=1_000,
    bulk=5_000,
    growth=20_000,
    growth_chunk=5_000,
    warmup=100,
    memory_small=2_000,
    memory_large=20_000,
    read_ids=200,
    read_repeats=30,
    construct=500,
    async_events=2_000,
    async_single=1_000,
    reads_events=50_000,
    reads_import=5_000,
    read_reps=200,
    http_single=500,
    http_batches=50,
    http_reads=200,
    pg_rounds=1,
    pg_single=300,
    pg_async=1_000,
    pg_read_reps=50,
    frigate_lifecycles=500,
    frigate_rounds=1,
    frigate_light=100,
    scale_events=200_000,
)
"""Small sizes for a smoke run (``--quick``)."""


def alternate(
    rounds: int, first: Callable[[], T], second: Callable[[], T]
) -> tuple[list[T], list[T]]:
    """Run two sides ``rounds`` times each, swapping which goes first every round (AB BA ...)."""
    a: list[T] = []
    b: list[T] = []
    for r in range(rounds):
        if r % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency percentiles (microseconds) of ``n`` timed calls, and their rate per second."""

    n: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float
    rate: float = 0.0
    p95_us: float = 0.0

    @property
    def p50_ms(self) -> float:
        """p50 in milliseconds."""
        return self.p50_us / 1e3

    @property
    def p90_ms(self) -> float:
        """p90 in milliseconds."""
        return self.p90_us / 1e3

    @property
    def p99_ms(self) -> float:
        """p99 in milliseconds."""
        return self.p99_us / 1e3

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a JSON-ready dict."""
        return asdict(self)


def latency(samples_ns: list[int], total_ns: int | None = None) -> Latency:
    """Summarize per-call samples in nanoseconds; ``total_ns`` (the loop's wall time) gives rate."""
    if not samples_ns:
        return Latency(0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(samples_ns)
    return Latency(
        n=len(ordered),
        p50_us=percentile(ordered, 50),
        p90_us=percentile(ordered, 90),
        p99_us=percentile(ordered, 99),
        max_us=ordered[-1] / 1e3,
        rate=len(ordered) / (total_ns / 1e9) if total_ns else 0.0,
        p95_us=percentile(ordered, 95),
    )


async def produce_all(
    insert: Callable[[Any], Awaitable[Any]], events: Sequence[Any], producers: int
) -> tuple[float, Latency]:
    """Insert ``events`` from ``producers`` concurrent tasks; return events/s and the latency."""
    samples: list[int] = []
    clock = time.perf_counter_ns

    async def produce(share: Sequence[Any]) -> None:
        for ev in share:
            t0 = clock()
            await insert(ev)
            samples.append(clock() - t0)

    gc.collect()
    start = clock()
    await asyncio.gather(*(produce(events[i::producers]) for i in range(producers)))
    elapsed = clock() - start
    return len(events) / (elapsed / 1e9), latency(samples, elapsed)


def timed(
    call: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    warmup: int = 0,
    min_reps: int = 5,
    budget_s: float | None = None,
) -> tuple[Latency, Any]:
    """Call ``call`` once per item, timing each call; return the latency and the last result.

    The first ``warmup`` items are called untimed first (stopping once a call passes one
    second). With ``budget_s``, timing stops once that much time has passed, but never before
    ``min_reps`` samples.
    """
    items = list(items)
    clock = time.perf_counter_ns
    result: Any = None
    warm_until = clock() + WARMUP_NS
    for item in items[:warmup]:
        result = call(item)
        if clock() > warm_until:
            break
    gc.collect()
    samples: list[int] = []
    start = clock()
    deadline = None if budget_s is None else start + int(budget_s * 1e9)
    for item in items:
        t0 = clock()
        result = call(item)
        t1 = clock()
        samples.append(t1 - t0)
        if deadline is not None and len(samples) >= min_reps and t1 > deadline:
            break
    return latency(samples, clock() - start), result


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


@contextlib.contextmanager
def scratch(tag: str) -> Iterator[Path]:
    """Yield a fresh temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"camvault-bench-{tag}-") as folder:
        yield Path(folder)


def file_bytes(db: Path) -> int:
    """Bytes on disk of a database with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


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
        """Count one record."""
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
