"""Ten million events on one machine: a store of many cameras over two years, loaded beside the
raw baseline, then the reads a user runs on it, a cursor deep into it, and the oldest month
purged while a writer keeps writing.

Not in the default run (it loads for tens of minutes): ``python -m benchmarks --only scale``,
``--scale-events N`` for another size.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console

from benchmarks.baseline import EPOCH, MICRO, SELECT, Baseline, to_dict
from benchmarks.harness import Config, Latency, counting_logs, file_bytes, latency, to_tuple
from benchmarks.history import History, load_figure, loaded
from benchmarks.reads import BASELINE_CAP_S, Cap, Read, reads, rows_of, time_read
from benchmarks.report import Figure, Section, at_most
from camvault import EventStore
from camvault.models import utcnow
from camvault.sample import CAMERAS, sample_events

DAY = timedelta(days=1)
YEAR = timedelta(days=365)
MONTH = timedelta(days=30)
PAGE = 50
DEEP = 100
"""The cursor read fetches page DEEP of PAGE events, newest first."""
WRITE_GAP_S = 0.002
"""The writer during purge inserts one event, then waits this long: about 400 events/s."""
MIB = 1024 * 1024


def cameras(n: int) -> tuple[str, ...]:
    """The sample home's cameras, then numbered ones up to ``n`` in all."""
    extra = tuple(f"cam-{i:03d}" for i in range(len(CAMERAS), n))
    return (CAMERAS + extra)[: max(n, len(CAMERAS))]


def _us(t: datetime) -> int:
    return (t - EPOCH) // MICRO


def _deep_cursor(store: EventStore) -> str:
    """Walk DEEP - 1 pages newest first and return the cursor of page DEEP."""
    cursor: str | None = None
    for _ in range(DEEP - 1):
        cursor = store.query(limit=PAGE, cursor=cursor).next_cursor
        if cursor is None:
            raise RuntimeError("the store holds fewer than DEEP pages")
    assert cursor is not None
    return cursor


def _deep_key(con: sqlite3.Connection) -> tuple[int, int]:
    """The (ts, id) of the last row of page DEEP - 1 of the baseline, newest first."""
    row = con.execute(
        "SELECT ts, id FROM events ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?",
        ((DEEP - 1) * PAGE - 1,),
    ).fetchone()
    return int(row[0]), int(row[1])


def scale_reads(
    store: EventStore, con: sqlite3.Connection, history: History, days: int
) -> list[Read]:
    """The reads of the 1M section, then a year of daily counts, text oldest first, a deep page."""
    end = history.end
    year_since = max(history.start, end - YEAR)
    daily = "SELECT ts / 86400000000, count(*) FROM events WHERE ts >= ? AND ts < ? GROUP BY 1"
    oldest = f"{SELECT} WHERE llm_description LIKE ? ORDER BY ts ASC, id ASC LIMIT {PAGE}"
    deep = f"{SELECT} WHERE (ts, id) < (?, ?) ORDER BY ts DESC, id DESC LIMIT {PAGE}"
    cursor = _deep_cursor(store)
    key = _deep_key(con)
    return [
        *reads(store, con, end, days, BASELINE_CAP_S),
        Read(
            "histogram_year",
            "daily counts, 1 year",
            20.0,
            lambda _: store.histogram("day", since=year_since, until=end),
            lambda _: con.execute(daily, (_us(year_since), _us(end))).fetchall(),
            Cap(con, BASELINE_CAP_S),
        ),
        Read(
            "text_package_oldest",
            "text 'package', oldest 50",
            2.0,
            lambda _: store.query(text="package", limit=PAGE, order="oldest").events,
            lambda _: rows_of(con, oldest, ("%package%",)),
            Cap(con, BASELINE_CAP_S),
        ),
        Read(
            "cursor_deep",
            f"page {DEEP} of {PAGE} by cursor",
            2.0,
            lambda _: store.query(limit=PAGE, cursor=cursor).events,
            lambda _: [to_dict(r) for r in con.execute(deep, key)],
            Cap(con, BASELINE_CAP_S),
        ),
    ]


class Writer(threading.Thread):
    """Insert one event at a time until stopped, timing each insert."""

    def __init__(self, insert: Callable[[Any], None], items: list[Any]) -> None:
        super().__init__(daemon=True)
        self._insert = insert
        self._items = items
        self.samples: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        clock = time.perf_counter_ns
        for item in self._items:
            if self.stop.is_set():
                return
            t0 = clock()
            self._insert(item)
            self.samples.append(clock() - t0)
            self.stop.wait(WRITE_GAP_S)


def _baseline_purge(con: sqlite3.Connection, before: int) -> int:
    """Delete the baseline's events before ``before`` in batches of 1,000, as a user would."""
    removed = 0
    while True:
        con.execute("BEGIN IMMEDIATE")
        n = con.execute(
            "DELETE FROM events WHERE id IN "
            "(SELECT id FROM events WHERE ts < ? ORDER BY ts LIMIT 1000)",
            (before,),
        ).rowcount
        con.execute("COMMIT")
        removed += n
        if n < 1000:
            return removed


def purge_under_load(history: History, store: EventStore) -> dict[str, Any]:
    """Purge the oldest month on both sides while a writer inserts single events."""
    assert history.baseline is not None
    cut = history.start + MONTH
    live = list(sample_events(200_000, seed=777, end=utcnow(), span=timedelta(hours=1)))
    out: dict[str, Any] = {}

    def camvault_purge() -> int:
        return int(store.purge(older_than=utcnow() - cut))

    baseline = Baseline(history.baseline, create=False)
    purger = sqlite3.connect(history.baseline, isolation_level=None, check_same_thread=False)
    purger.execute("PRAGMA busy_timeout = 10000")
    baseline.con.execute("PRAGMA busy_timeout = 10000")
    sides: list[tuple[str, Callable[[Any], None], list[Any], Callable[[], int]]] = [
        ("camvault", store.insert_event, live[:100_000], camvault_purge),
        (
            "baseline",
            baseline.insert_one,
            [to_tuple(e) for e in live[100_000:]],
            lambda: _baseline_purge(purger, _us(cut)),
        ),
    ]
    try:
        for side, insert, items, purge in sides:
            writer = Writer(insert, items)
            writer.start()
            time.sleep(1.0)  # the writer's own pace before the purge starts
            before = len(writer.samples)
            start = time.perf_counter()
            removed = purge()
            seconds = time.perf_counter() - start
            during = writer.samples[before:]
            writer.stop.set()
            writer.join()
            out[side] = {
                "removed": removed,
                "seconds": seconds,
                "writer_before": latency(writer.samples[:before]),
                "writer_during": latency(during),
            }
    finally:
        baseline.close()
        purger.close()
    return out


def run(cfg: Config, console: Console) -> Section:
    """Load the scale store beside the baseline, time the reads and the purge under load."""
    log = console.log
    results: dict[str, dict[str, Any]] = {}
    names = cameras(cfg.scale_cameras)
    with loaded(
        cfg.scale_events,
        cfg.reads_chunk,
        cfg.scale_days,
        baseline=True,
        log=log,
        cameras=names,
    ) as history:
        assert history.baseline is not None
        for path in (history.camvault, history.baseline):
            analyze = sqlite3.connect(path)
            analyze.execute("ANALYZE")
            analyze.close()
        sizes = {
            "camvault": file_bytes(history.camvault),
            "baseline": file_bytes(history.baseline),
        }
        con = sqlite3.connect(history.baseline, isolation_level=None, check_same_thread=False)
        with counting_logs() as logs:
            store = EventStore(history.camvault)
            try:
                for read in scale_reads(store, con, history, cfg.scale_days):
                    results[read.key] = time_read(read, cfg.read_reps, log)
                con.close()
                purged = purge_under_load(history, store)
            finally:
                store.close()
    for side, p in purged.items():
        log(
            f"purge {side}: {p['removed']:,} events in {p['seconds']:.1f} s; writer p50/p99 "
            f"{p['writer_during'].p50_ms:.3f}/{p['writer_during'].p99_ms:.3f} ms during, "
            f"{p['writer_before'].p50_ms:.3f}/{p['writer_before'].p99_ms:.3f} ms before"
        )
    raw = {
        "events": history.events,
        "cameras": len(names),
        "days": cfg.scale_days,
        "reads": results,
        "purge": purged,
        "sizes": sizes,
        "load": {
            "camvault_s": history.camvault_s,
            "baseline_s": history.baseline_s,
            "generate_s": history.generate_s,
            "chunk_rates": history.chunk_rates,
        },
        "logs": dict(logs.counts),
    }
    title = (
        f"TEN MILLION: {history.events:,} events, {len(names)} cameras, {cfg.scale_days} days: "
        "camvault (Event objects) vs hand-written stdlib sqlite3 (dicts)"
    )
    return Section(title, figures(history, results, purged, sizes), notes(history, raw), raw)


def _flatness(history: History, side: int) -> float:
    """The slowest chunk's rate over the first chunk's rate."""
    rates = [r[side] or 0.0 for r in history.chunk_rates]
    return min(rates) / rates[0] if rates and rates[0] else 0.0


def figures(
    history: History,
    results: dict[str, dict[str, Any]],
    purged: dict[str, Any],
    sizes: dict[str, int],
) -> list[Figure]:
    """Return the scale figures, with the issue's goals."""
    out = [
        load_figure(history),
        Figure(
            "slowest 50k chunk / first chunk",
            "ratio",
            _flatness(history, 0),
            _flatness(history, 1),
            ">= 0.75",
            _flatness(history, 0) >= 0.75,
        ),
    ]
    for result in results.values():
        cv: Latency = result["camvault"]["latency"]
        bl: Latency = result["baseline"]["latency"]
        goal = result["goal_ms"]
        name = f"{result['name']} p50"
        out.append(
            Figure(name, "ms", cv.p50_ms, bl.p50_ms)
            if goal is None
            else at_most(name, "ms", cv.p50_ms, bl.p50_ms, goal)
        )
    cv_p, bl_p = purged["camvault"], purged["baseline"]
    out += [
        Figure("purge of the oldest month", "s", cv_p["seconds"], bl_p["seconds"]),
        at_most(
            "writer p99 during purge",
            "ms",
            cv_p["writer_during"].p99_ms,
            bl_p["writer_during"].p99_ms,
            50.0,
        ),
        Figure(
            "database per event",
            "bytes",
            sizes["camvault"] / history.events,
            sizes["baseline"] / history.events,
        ),
        Figure("database on disk", "MiB", sizes["camvault"] / MIB, sizes["baseline"] / MIB),
    ]
    return out


def notes(history: History, raw: dict[str, Any]) -> list[str]:
    """Return the explanations printed under the scale table."""
    rows = {k: (v["camvault"]["rows"], v["baseline"]["rows"]) for k, v in raw["reads"].items()}
    purge = raw["purge"]
    return [
        f"store: {history.events:,} sample events from {raw['cameras']} cameras over "
        f"{raw['days']} days ({history.start:%Y-%m-%d} to {history.end:%Y-%m-%d}), loaded in "
        f"chunks beside the baseline (no FTS, no rollups) as in the reads section; generation "
        f"{raw['load']['generate_s']:,.0f} s untimed; ANALYZE run on both after the load",
        f"rows per call (camvault, baseline) {rows}",
        f"daily counts: histogram('day') over the newest 365 days vs GROUP BY ts / day; deep "
        f"page: page {DEEP} of {PAGE}, camvault by its cursor, the baseline by (ts, id) keyset",
        "purge: the oldest 30 days; camvault purge(older_than=...) in its small transactions, "
        "the baseline DELETE ... LIMIT 1000 per transaction; meanwhile one thread inserts single "
        f"events ({WRITE_GAP_S * 1000:g} ms apart); removed (camvault, baseline) "
        f"{purge['camvault']['removed']:,} / {purge['baseline']['removed']:,}",
        "database per event: files after closing (WAL checkpointed), camvault's including its "
        "full-text index, rollups and zone table",
        f"camvault log records: {raw['logs']}",
    ]
