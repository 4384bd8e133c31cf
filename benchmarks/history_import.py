"""An older history imported into the loaded one: events arriving out of time order.

A live store that imports its past receives events older than everything it holds. Both
sides get the same older events in bulk, chunk by chunk, newest chunk first (timed); the
history section then times the text reads again (``history_reads.imported_reads``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from benchmarks.baseline import Baseline
from benchmarks.dataset import History
from benchmarks.workload import to_tuple
from camvault import EventStore
from camvault.sample import sample_events

SPAN = timedelta(days=7)
"""The imported events cover the week before the loaded history."""
CHUNK = 10_000
"""Events per insert call of the import."""


@dataclass(slots=True)
class Imported:
    """How many older events were imported and how long each side took."""

    events: int = 0
    camvault_s: float = 0.0
    baseline_s: float = 0.0

    def rate(self, side: str) -> float:
        """Events per second of one side."""
        seconds = self.camvault_s if side == "camvault" else self.baseline_s
        return self.events / seconds if seconds else 0.0


def import_older(
    store: EventStore, history: History, n: int, log: Callable[[str], None]
) -> Imported:
    """Insert ``n`` events from the week before the history into both sides, in chunks."""
    assert history.baseline is not None
    baseline = Baseline(history.baseline, create=False)
    done = Imported()
    chunks = max(1, -(-n // CHUNK))
    step = SPAN / chunks
    try:
        for k in range(chunks):  # the newest chunk first, as an import walking back does
            size = min(CHUNK, n - k * CHUNK)
            end = history.start - step * k
            events = list(sample_events(size, seed=5000 + k, end=end, span=step))
            tuples = [to_tuple(e) for e in events]
            start = time.perf_counter()
            result = store.insert_events(events)
            done.camvault_s += time.perf_counter() - start
            if result.inserted != size:
                raise RuntimeError(f"camvault stored {result} of {size} older events")
            start = time.perf_counter()
            baseline.insert_bulk(tuples)
            done.baseline_s += time.perf_counter() - start
            done.events += size
    finally:
        baseline.close()
    log(
        f"imported {done.events:,} older events (camvault {done.rate('camvault'):,.0f} ev/s, "
        f"baseline {done.rate('baseline'):,.0f} ev/s)"
    )
    return done
