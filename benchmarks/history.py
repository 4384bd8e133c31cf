"""The history database: N sample events loaded into camvault and the baseline, then an older
week imported into both (events arriving out of time order).

Events are generated in chunks with distinct seeds over adjacent time spans (untimed) and
streamed into both stores, so N events never sit in memory at once. Only the insert calls
are timed. Both files live in a temporary folder deleted when the block ends. The reads and
HTTP sections run on it.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.baseline import Baseline
from benchmarks.harness import counting_logs, scratch, to_tuple
from benchmarks.report import Figure, ratio_at_least
from camvault import EventStore
from camvault.models import utcnow
from camvault.sample import CAMERAS, sample_events

IMPORT_SPAN = timedelta(days=7)
"""The imported events cover the week before the loaded history."""
IMPORT_CHUNK = 10_000
"""Events per insert call of the import."""


@dataclass(slots=True)
class History:
    """Where the loaded databases are, what they hold and how long loading took."""

    camvault: Path
    baseline: Path | None
    events: int
    start: datetime
    end: datetime
    camvault_s: float = 0.0
    baseline_s: float = 0.0
    generate_s: float = 0.0
    chunk_rates: list[tuple[float, float | None]] = field(default_factory=list)
    """(camvault, baseline) events/s of every chunk, in load order."""

    @property
    def camvault_rate(self) -> float:
        return self.events / self.camvault_s

    @property
    def baseline_rate(self) -> float | None:
        return self.events / self.baseline_s if self.baseline and self.baseline_s else None


def load_figure(history: History) -> Figure:
    """The load's rate beside the baseline's: full-text and rollups kept, goal >= 0.6x."""
    return ratio_at_least(
        f"bulk insert {history.events:,} ev, FTS + rollups kept",
        "events/s",
        history.camvault_rate,
        history.baseline_rate or 0.0,
        0.6,
    )


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@contextlib.contextmanager
def loaded(
    n: int,
    chunk: int,
    days: int,
    *,
    baseline: bool,
    log: Callable[[str], None],
    cameras: tuple[str, ...] = CAMERAS,
) -> Iterator[History]:
    """Load ``n`` events over ``days`` days from ``cameras`` into fresh databases, closed
    when yielded."""
    with scratch("history") as folder:
        end = utcnow().replace(microsecond=0)
        history = History(
            folder / "camvault.db",
            folder / "baseline.db" if baseline else None,
            n,
            end - timedelta(days=days),
            end,
        )
        chunks = max(1, math.ceil(n / chunk))
        span = timedelta(days=days) / chunks
        cv = EventStore(history.camvault)
        bl = Baseline(history.baseline) if history.baseline else None
        try:
            with counting_logs():
                for k in range(chunks):
                    size = min(chunk, n - k * chunk)
                    _load_chunk(history, cv, bl, k, chunks, size, span, cameras)
                    if k % 4 == 3 or k == chunks - 1:
                        done = min(n, (k + 1) * chunk)
                        log(
                            f"history: {done:,} of {n:,} events loaded "
                            f"(camvault {done / history.camvault_s:,.0f} ev/s"
                            + (f", baseline {done / history.baseline_s:,.0f} ev/s)" if bl else ")")
                        )
        finally:
            cv.close()
            if bl is not None:
                bl.close()
        yield history


def _load_chunk(
    history: History,
    cv: EventStore,
    bl: Baseline | None,
    k: int,
    chunks: int,
    size: int,
    span: timedelta,
    cameras: tuple[str, ...],
) -> None:
    """Generate one chunk (untimed) and insert it into both stores, alternating who goes first."""
    start = time.perf_counter()
    events = list(
        sample_events(
            size,
            seed=1000 + k,
            end=history.end - span * (chunks - 1 - k),
            span=span,
            cameras=cameras,
        )
    )
    tuples = [to_tuple(e) for e in events] if bl is not None else []
    history.generate_s += time.perf_counter() - start

    def camvault() -> None:
        result = cv.insert_events(events)
        if result.inserted != size:
            raise RuntimeError(f"camvault stored {result} of {size} events")

    sides: list[tuple[str, Callable[[], None]]] = [("camvault", camvault)]
    if bl is not None:
        sides.append(("baseline", lambda: bl.insert_bulk(tuples)))
    if k % 2:
        sides.reverse()
    seconds = {side: _timed(call) for side, call in sides}
    history.camvault_s += seconds["camvault"]
    history.baseline_s += seconds.get("baseline", 0.0)
    bl_s = seconds.get("baseline")
    history.chunk_rates.append((size / seconds["camvault"], size / bl_s if bl_s else None))


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
    chunks = max(1, -(-n // IMPORT_CHUNK))
    step = IMPORT_SPAN / chunks
    try:
        for k in range(chunks):  # the newest chunk first, as an import walking back does
            size = min(IMPORT_CHUNK, n - k * IMPORT_CHUNK)
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
