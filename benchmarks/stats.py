"""Percentiles of timed calls, for the sections that report p50 / p90 / p99."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.workload import percentile

WARMUP_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Latency percentiles of ``n`` samples, in microseconds."""

    n: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float

    @property
    def p50_ms(self) -> float:
        return self.p50_us / 1e3

    @property
    def p90_ms(self) -> float:
        return self.p90_us / 1e3

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a JSON-ready dict."""
        return asdict(self)


def percentiles(samples_ns: list[int]) -> Percentiles:
    """Summarize samples in nanoseconds."""
    ordered = sorted(samples_ns)
    if not ordered:
        return Percentiles(0, 0.0, 0.0, 0.0, 0.0)
    return Percentiles(
        n=len(ordered),
        p50_us=percentile(ordered, 50) / 1e3,
        p90_us=percentile(ordered, 90) / 1e3,
        p99_us=percentile(ordered, 99) / 1e3,
        max_us=ordered[-1] / 1e3,
    )


def repeat(
    call: Callable[[int], Any], reps: int, *, warmup: int, min_reps: int, budget_s: float
) -> tuple[Percentiles, Any]:
    """Call ``call(i)`` ``reps`` times after ``warmup`` calls; return percentiles, last result.

    Warm-up stops after one call once it has taken a second. Timing stops early once
    ``budget_s`` has passed, but never before ``min_reps`` samples.
    """
    result: Any = None
    clock = time.perf_counter_ns
    warm_until = clock() + WARMUP_NS
    for i in range(warmup):
        result = call(i)
        if clock() > warm_until:
            break
    gc.collect()
    deadline = clock() + int(budget_s * 1e9)
    samples: list[int] = []
    for i in range(reps):
        t0 = clock()
        result = call(i)
        t1 = clock()
        samples.append(t1 - t0)
        if len(samples) >= min_reps and t1 > deadline:
            break
    return percentiles(samples), result
