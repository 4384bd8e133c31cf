"""INSERTS: single events, bulk imports, the raw driver insert, model cost, import memory.

Both sides run alternately (AB, BA, ...) on the same generated workload; the better run of
each is shown. The single-insert databases are then read back (one event, the newest 50, a
label query) on both sides.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import apsw
from rich.console import Console

from benchmarks import growth
from benchmarks.baseline import (
    EPOCH,
    MICRO,
    ApswBulk,
    Baseline,
    Prepared,
    apsw_writer,
    fingerprint,
    prepare,
    sqlean_writer,
)
from benchmarks.harness import (
    Config,
    EventTuple,
    Latency,
    alternate,
    counting_logs,
    make_events,
    scratch,
    spread,
    timed,
    to_tuple,
    wal_state,
)
from benchmarks.report import MIB, Figure, at_most, ratio_at_least
from camvault import Event, EventStore
from camvault.models import new_event_id, utcnow
from camvault.runtime import settle_heap

READ_WARMUP = 20
READ_BUDGET_S = 1.5
"""Each read is timed for at most this long (slow queries get fewer samples)."""


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What to read: event ids to fetch, how often to run each query, and 'one day ago'."""

    event_ids: Sequence[str]
    repeats: int
    since: datetime


def _read(call: Callable[[Any], Any], items: Sequence[Any]) -> dict[str, float]:
    """Warm up, then time ``call`` over ``items``; also note how many rows a call returns."""
    lat, result = timed(call, items, warmup=READ_WARMUP, budget_s=READ_BUDGET_S)
    rows = 1 if not isinstance(result, list) else len(result)
    return {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "samples": lat.n, "rows": rows}


def read_camvault(store: EventStore, plan: ReadPlan) -> dict[str, dict[str, float]]:
    """Time camvault's reads, each returning Event objects."""
    runs = range(plan.repeats)
    return {
        "get_event": _read(store.get_event, plan.event_ids),
        "recent": _read(lambda _: store.get_recent_events(limit=50), runs),
        "query": _read(
            lambda _: store.query(label="person", min_confidence=0.5, since=plan.since).events,
            runs,
        ),
    }


def read_baseline(store: Baseline, plan: ReadPlan) -> dict[str, dict[str, float]]:
    """Time the baseline's equivalent SELECTs, each returning dicts."""
    runs = range(plan.repeats)
    since = (plan.since - EPOCH) // MICRO
    return {
        "get_event": _read(store.get_event, plan.event_ids),
        "recent": _read(lambda _: store.recent(50), runs),
        "query": _read(lambda _: store.query("person", 0.5, since, 100), runs),
    }


def construct_p50(events: Sequence[Event]) -> dict[str, float]:
    """Time building and validating an Event from a plain dict (what a real caller pays)."""
    dicts = [ev.model_dump() for ev in events]
    lat, _ = timed(lambda d: Event(**d), dicts, warmup=200)
    return {"p50_us": lat.p50_us, "p99_us": lat.p99_us, "n": lat.n}


def single_camvault(
    events: Sequence[Event], warmup: Sequence[Event], plan: ReadPlan | None
) -> dict[str, Any]:
    """Insert events one by one with EventStore.insert_event (a commit each), then read."""
    with scratch("camvault") as folder, counting_logs() as logs:
        db = folder / "camvault.db"
        store = EventStore(db)
        try:
            for ev in warmup:
                store.insert_event(ev)
            lat, _ = timed(store.insert_event, events)
            wal = wal_state(db)
            schema = store.info().get("schema_version")
            reads = read_camvault(store, plan) if plan else {}
        finally:
            store.close()
        counts = fingerprint(db)
    return {
        "latency": lat,
        **wal,
        "counts": counts,
        "logs": dict(logs.counts),
        "reads": reads,
        "schema_version": schema,
    }


def single_baseline(
    events: Sequence[EventTuple], warmup: Sequence[EventTuple], plan: ReadPlan | None
) -> dict[str, Any]:
    """Insert event tuples one by one with the raw-SQL baseline, then read."""
    with scratch("baseline") as folder:
        db = folder / "baseline.db"
        store = Baseline(db)
        try:
            for ev in warmup:
                store.insert_one(ev)
            lat, _ = timed(store.insert_one, events)
            wal = wal_state(db)
            reads = read_baseline(store, plan) if plan else {}
        finally:
            store.close()
        counts = fingerprint(db)
    return {"latency": lat, **wal, "counts": counts, "logs": {}, "reads": reads}


def bulk_camvault(events: Sequence[Event], warmup: Sequence[Event]) -> dict[str, Any]:
    """Import events in one insert_events call; return its rate, and with text indexing."""
    with scratch("camvault-bulk") as folder, counting_logs():
        store = EventStore(folder / "camvault.db")
        try:
            store.insert_events(warmup)
            store.query(text="parcel", limit=1)
            start = time.perf_counter_ns()
            result = store.insert_events(events)
            elapsed = time.perf_counter_ns() - start
            store.query(text="parcel", limit=1)  # indexes what the background has not reached
            indexed = time.perf_counter_ns() - start
        finally:
            store.close()
    if result.inserted != len(events):
        raise RuntimeError(f"camvault stored {result} of {len(events)} events")
    return {
        "rate": len(events) / (elapsed / 1e9),
        "seconds": elapsed / 1e9,
        "indexed_rate": len(events) / (indexed / 1e9),
    }


def bulk_baseline(events: Sequence[EventTuple], warmup: Sequence[EventTuple]) -> dict[str, Any]:
    """Import event tuples in one transaction with the APSW baseline and return its rate."""
    with scratch("baseline-bulk") as folder:
        store = ApswBulk(folder / "baseline.db")
        try:
            store.insert_bulk(warmup)
            start = time.perf_counter_ns()
            store.insert_bulk(events)
            elapsed = time.perf_counter_ns() - start
        finally:
            store.close()
    return {"rate": len(events) / (elapsed / 1e9), "seconds": elapsed / 1e9}


def _stream(pool: Sequence[Event], n: int) -> Iterator[Event]:
    """Yield ``n`` events cycled from ``pool``, each a copy under a fresh event_id."""
    for i in range(n):
        yield pool[i % len(pool)].model_copy(update={"event_id": new_event_id()})


def import_memory(pool: Sequence[Event], n: int) -> dict[str, Any]:
    """Measure peak traced Python memory and SQLite's high water of a generator import."""
    with scratch("camvault-memory") as folder, counting_logs():
        store = EventStore(folder / "camvault.db")
        try:
            tracemalloc.start()
            apsw.memory_high_water(True)
            start = time.perf_counter()
            result = store.insert_events(_stream(pool, n))
            seconds = time.perf_counter() - start
            python_peak = tracemalloc.get_traced_memory()[1]
            sqlite_peak = apsw.memory_high_water()
        finally:
            tracemalloc.stop()
            store.close()
    if result.inserted != n:
        raise RuntimeError(f"camvault stored {result} of {n} events")
    return {
        "events": n,
        "python_peak_bytes": python_peak,
        "sqlite_high_water_bytes": sqlite_peak,
        "seconds_traced": seconds,
    }


def run_driver(
    name: str, folder: Path, warmup: Sequence[Prepared], rows: Sequence[Prepared]
) -> Latency:
    """Time the raw insert of ``rows`` (commit per event) with one driver."""
    opener = apsw_writer if name == "apsw" else sqlean_writer
    insert, close = opener(folder / "driver.db")
    try:
        for p in warmup:
            insert(p)
        return timed(insert, rows)[0]
    finally:
        close()


def _line(what: str, lat: Latency) -> str:
    """Describe one timed loop in a progress line."""
    return (
        f"{what:28} p50 {lat.p50_us:7.1f} us  p99 {lat.p99_us:8.1f} us  "
        f"max {lat.max_us:9.1f} us  {lat.rate:9,.0f} ev/s"
    )


def run(cfg: Config, console: Console) -> dict[str, Any]:
    """Run every benchmark and return the raw results of every round."""
    log = console.log
    end = utcnow()
    log(f"generating {max(cfg.events, cfg.bulk):,} sample events over 7 days (untimed)")
    bulk = make_events(max(cfg.events, cfg.bulk), seed=1, end=end)
    events = spread(bulk, cfg.events)
    bulk = bulk[: cfg.bulk]
    warmup = make_events(cfg.warmup, seed=2, end=end - timedelta(days=8))
    tuples, warm_t, bulk_t = ([to_tuple(e) for e in x] for x in (events, warmup, bulk))
    ids = random.Random(5).sample([e.event_id for e in events], min(cfg.read_ids, len(events)))
    plan = ReadPlan(ids, cfg.read_repeats, end - timedelta(days=1))

    # the generated events live through the section: frozen, full collections skip them
    # (both sides run in this process, so both are spared the same pauses)
    settle_heap()
    construct = construct_p50(events[: cfg.construct])
    log(f"Event(**dict) construct+validate p50 {construct['p50_us']:.1f} us")

    def single(side: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            if side == "camvault":
                out = single_camvault(events, warmup, plan)
            else:
                out = single_baseline(tuples, warm_t, plan)
            log(_line(f"single insert {side}", out["latency"]))
            return out

        return go

    bl_single, cv_single = alternate(cfg.rounds, single("baseline"), single("camvault"))

    prepared = [prepare(t) for t in tuples]
    warm_p = [prepare(t) for t in warm_t]

    def driver(name: str) -> Callable[[], Latency]:
        def go() -> Latency:
            with scratch("driver") as folder:
                lat = run_driver(name, folder, warm_p, prepared)
            log(_line(f"raw insert on {name}", lat))
            return lat

        return go

    apsw_runs, sqlean_runs = alternate(cfg.rounds, driver("apsw"), driver("sqlean.py"))

    def bulk_run(side: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            if side == "camvault":
                out = bulk_camvault(bulk, warmup)
            else:
                out = bulk_baseline(bulk_t, warm_t)
            extra = f" ({out['indexed_rate']:,.0f} with indexing)" if "indexed_rate" in out else ""
            log(f"{'bulk insert ' + side:28} {out['rate']:9,.0f} ev/s{extra}")
            return out

        return go

    bl_bulk, cv_bulk = alternate(cfg.rounds, bulk_run("baseline"), bulk_run("camvault"))

    log(f"importing {cfg.growth:,} events in chunks of {cfg.growth_chunk:,} on both sides")
    grown = growth.run(cfg.growth, cfg.growth_chunk, console)

    memory = []
    for n in (cfg.memory_small, cfg.memory_large):
        memory.append(import_memory(events[:2000], n))
        log(
            f"generator import of {n:,}: Python peak "
            f"{memory[-1]['python_peak_bytes'] / MIB:.1f} MiB, SQLite high water "
            f"{memory[-1]['sqlite_high_water_bytes'] / MIB:.1f} MiB"
        )
    return {
        "construct": construct,
        "memory": memory,
        "single": {"camvault": cv_single, "baseline": bl_single},
        "bulk": {"camvault": cv_bulk, "baseline": bl_bulk},
        "drivers": {"apsw": apsw_runs, "sqlean.py": sqlean_runs},
        "growth": grown,
    }


def best_reads(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Keep, for each read, the round with the lowest p50."""
    ops = runs[0]["reads"]
    return {op: min((r["reads"][op] for r in runs), key=lambda x: x["p50_us"]) for op in ops}


def figures(raw: dict[str, Any], bulk_n: int) -> list[Figure]:
    """Return the camvault/baseline figures, with goals."""
    cv = max(raw["single"]["camvault"], key=lambda r: r["latency"].rate)
    bl = max(raw["single"]["baseline"], key=lambda r: r["latency"].rate)
    c, b = cv["latency"], bl["latency"]
    cr, br = best_reads(raw["single"]["camvault"]), best_reads(raw["single"]["baseline"])
    cv_bulk = max(r["rate"] for r in raw["bulk"]["camvault"])
    cv_indexed = max(r["indexed_rate"] for r in raw["bulk"]["camvault"])
    bl_bulk = max(r["rate"] for r in raw["bulk"]["baseline"])
    out = [
        at_most("single insert p50", "us", c.p50_us, b.p50_us, 100),
        at_most("single insert p99", "us", c.p99_us, b.p99_us, 1000),
        Figure("single insert max", "us", c.max_us, b.max_us),
        ratio_at_least("single insert rate", "events/s", c.rate, b.rate, 0.5),
        ratio_at_least(f"bulk insert rate ({bulk_n:,} ev)", "events/s", cv_bulk, bl_bulk, 0.6),
        ratio_at_least(
            f"bulk insert + text indexing ({bulk_n:,} ev)", "events/s", cv_indexed, bl_bulk, 0.6
        ),
        Figure("Event(**dict) build+validate p50", "us", raw["construct"]["p50_us"], None),
        Figure("get_event p50", "us", cr["get_event"]["p50_us"], br["get_event"]["p50_us"]),
        Figure("get_recent_events(50) p50", "us", cr["recent"]["p50_us"], br["recent"]["p50_us"]),
        Figure("query(person>=0.5, 1 day) p50", "us", cr["query"]["p50_us"], br["query"]["p50_us"]),
        Figure("WAL restarts, single insert", "resets", cv["wal_resets"], bl["wal_resets"]),
        Figure("WAL file after single insert", "MiB", cv["wal_bytes"] / MIB, bl["wal_bytes"] / MIB),
    ]
    out += growth.figures(raw["growth"])
    for m in raw["memory"]:
        n = f"{m['events'] // 1000:,}k ev"
        out.append(Figure(f"import Python peak, {n}", "MiB", m["python_peak_bytes"] / MIB, None))
        out.append(
            Figure(f"import SQLite peak, {n}", "MiB", m["sqlite_high_water_bytes"] / MIB, None)
        )
    return out


def driver_figures(raw: dict[str, Any]) -> list[Figure]:
    """Return the APSW/sqlean.py figures of the raw hot-path insert."""
    ap: Latency = max(raw["drivers"]["apsw"], key=lambda r: r.rate)
    sq: Latency = max(raw["drivers"]["sqlean.py"], key=lambda r: r.rate)
    return [
        Figure("p50", "us", ap.p50_us, sq.p50_us),
        Figure("p99", "us", ap.p99_us, sq.p99_us),
        Figure("max", "us", ap.max_us, sq.max_us),
        Figure("rate", "events/s", ap.rate, sq.rate),
    ]


def notes(raw: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    """Return the explanations printed under the tables."""
    cv_runs, bl_runs = raw["single"]["camvault"], raw["single"]["baseline"]
    cv = max(cv_runs, key=lambda r: r["latency"].rate)
    bl = max(bl_runs, key=lambda r: r["latency"].rate)
    small, large = raw["memory"]
    rows = {op: r["rows"] for op, r in best_reads(cv_runs).items()}
    bl_rows = {op: r["rows"] for op, r in best_reads(bl_runs).items()}
    return [
        f"each side ran {cfg['rounds']}x, alternating which went first (AB, BA, ...); shown is "
        "the run with the higher rate (reads: the lower p50 per read); all runs are in the JSON",
        f"single insert: {cfg['events']:,} events after {cfg['warmup']} warm-up events, a commit "
        f"each, checkpoints included (WAL restarted {cv['wal_resets']}x camvault, "
        f"{bl['wal_resets']}x baseline)",
        f"identical rows stored: {cv['counts'] == bl['counts']} (camvault {_show(cv['counts'])}; "
        f"baseline {_show(bl['counts'])})",
        f"camvault ran its own schema v{cv.get('schema_version')} and pragmas (foreign_keys, "
        "cache_size, background checkpoints); the baseline has migration 0001's tables and "
        "indexes with only journal_mode=WAL and synchronous=NORMAL",
        f"camvault log records in its single-insert runs: {[r['logs'] for r in cv_runs]}",
        "inputs were built before timing (Events / tuples); a caller building an Event from a "
        f"dict pays {raw['construct']['p50_us']:.1f} us (p50) on top of insert_event",
        f"reads: Event objects (camvault) vs dicts with parsed JSON (baseline); rows per call "
        f"camvault {rows}, baseline {bl_rows}",
        f"memory: insert_events over a generator of {small['events']:,} vs {large['events']:,} "
        "events (copies of 2,000 sample events under fresh ids); flat = the same peak for 10x",
        "bulk: one insert_events call against a hand-tuned APSW import of the same rows "
        "(executemany of prebuilt rows, migration 0001's tables, no full text or rollups); "
        "'+ text indexing' also times the text query that indexes what the background indexer "
        "has not reached by the time insert_events returns",
        f"growth: {raw['growth']['total']:,} events over {raw['growth']['days']} days, one "
        f"insert_events per chunk of {raw['growth']['chunk']:,} on each side (alternating which "
        "goes first), camvault's chunk time including the indexing of its descriptions; "
        "per-chunk rates are in the JSON",
    ]


def _show(counts: dict[str, Any]) -> str:
    """Describe a database fingerprint."""
    return f"{counts['events']:,} events, {counts['detections']:,} detections, {counts['sha256']}"
