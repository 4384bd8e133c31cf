"""GROWTH: the bulk rate per chunk as a store grows to a million events, and memory per chunk.

Each chunk is generated (untimed), then imported into both stores with one call each,
alternating which side goes first. Rates are given by wall time and by the process's CPU
time: on a machine shared with other work, the CPU rates are the ones that hold still.
camvault's chunk time includes indexing that chunk's descriptions (a text query right after
the import indexes what the background indexer has not reached yet), so no indexing work
hides in the untimed gaps between chunks.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from rich.console import Console

from benchmarks.baseline import ApswBulk
from benchmarks.harness import counting_logs, scratch, to_tuple
from benchmarks.report import MIB, Figure, ratio_at_least
from camvault import EventStore
from camvault.models import utcnow
from camvault.sample import sample_events

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk's rates (events/s, by wall and by CPU time) and resident memory after it."""

    events: int
    camvault: float
    camvault_insert: float
    baseline: float
    camvault_cpu: float
    baseline_cpu: float
    rss_bytes: int


def rss_bytes() -> int:
    """Return this process's resident memory now (not its peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _seconds(call: Callable[[], Any]) -> tuple[float, float]:
    """Return how long one call took: wall seconds and CPU seconds of this process."""
    start, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - start, time.process_time() - cpu


def run(total: int, chunk: int, console: Console) -> dict[str, Any]:
    """Import ``total`` events in chunks of ``chunk`` into camvault and the APSW baseline."""
    days = max(7, total // 15_000)  # about 15,000 events a day, a busy small business
    events = sample_events(total, seed=11, end=utcnow(), span=timedelta(days=days))
    chunks: list[Chunk] = []
    with scratch("growth") as folder, counting_logs():
        store = EventStore(folder / "camvault.db")
        baseline = ApswBulk(folder / "baseline.db")
        try:
            for n in itertools.count():
                part = list(itertools.islice(events, chunk))
                if not part:
                    break
                tuples = [to_tuple(e) for e in part]
                timings: dict[str, tuple[float, float]] = {}
                for side in ("camvault", "baseline") if n % 2 == 0 else ("baseline", "camvault"):
                    if side == "camvault":
                        timings["insert"] = _seconds(partial(store.insert_events, part))
                        timings["index"] = _seconds(lambda: store.query(text="parcel", limit=1))
                    else:
                        timings["baseline"] = _seconds(partial(baseline.insert_bulk, tuples))
                insert, index, base = timings["insert"], timings["index"], timings["baseline"]
                done = Chunk(
                    events=(n + 1) * chunk,
                    camvault=len(part) / (insert[0] + index[0]),
                    camvault_insert=len(part) / insert[0],
                    baseline=len(part) / base[0],
                    camvault_cpu=len(part) / (insert[1] + index[1]),
                    baseline_cpu=len(part) / base[1],
                    rss_bytes=rss_bytes(),
                )
                chunks.append(done)
                console.log(
                    f"chunk {n + 1:3} to {done.events:>9,}: camvault {done.camvault:8,.0f} ev/s "
                    f"(insert alone {done.camvault_insert:8,.0f}), baseline "
                    f"{done.baseline:8,.0f} ev/s; by CPU {done.camvault_cpu:8,.0f} vs "
                    f"{done.baseline_cpu:8,.0f}; RSS {done.rss_bytes / MIB:4.0f} MiB"
                )
        finally:
            store.close()
            baseline.close()
    return {"total": total, "chunk": chunk, "days": days, "chunks": [asdict(c) for c in chunks]}


def figures(raw: dict[str, Any]) -> list[Figure]:
    """Return the flatness figures: first and last chunk, the worst against the first, memory."""
    chunks = raw["chunks"]
    first, last = chunks[0], chunks[-1]
    n = f"{raw['total']:,} ev"
    out = []
    clocks = (("wall", "camvault", "baseline"), ("CPU", "camvault_cpu", "baseline_cpu"))
    for clock, cv, bl in clocks:
        cv_total = sum(raw["chunk"] / c[cv] for c in chunks)
        bl_total = sum(raw["chunk"] / c[bl] for c in chunks)
        worst_cv = min(c[cv] for c in chunks) / first[cv]
        worst_bl = min(c[bl] for c in chunks) / first[bl]
        out += [
            ratio_at_least(
                f"bulk rate over {n}, indexing included, by {clock}",
                "events/s",
                raw["total"] / cv_total,
                raw["total"] / bl_total,
                0.6,
            ),
            Figure(f"first chunk rate, by {clock}", "events/s", first[cv], first[bl]),
            Figure(f"last chunk rate, by {clock}", "events/s", last[cv], last[bl]),
            Figure(
                f"worst / first chunk rate, by {clock}",
                "x",
                worst_cv,
                worst_bl,
                ">= 0.75",
                worst_cv >= 0.75,
            ),
        ]
    out += [
        Figure("RSS after first chunk", "MiB", first["rss_bytes"] / MIB, None),
        Figure("RSS after last chunk", "MiB", last["rss_bytes"] / MIB, None),
    ]
    return out
