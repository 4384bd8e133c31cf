"""The benchmark plan: generate the workload once, run both sides alternately, keep the best."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from rich.console import Console

from benchmarks import drivers, inserts
from benchmarks.reads import ReadPlan
from benchmarks.report import MIB
from benchmarks.workload import Latency, make_events, scratch, spread, to_tuple
from camvault.models import utcnow

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes of every part of the run."""

    events: int = 20_000
    bulk: int = 100_000
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

    construct = inserts.construct_p50(events[: cfg.construct])
    log(f"Event(**dict) construct+validate p50 {construct['p50_us']:.1f} us")

    def single(side: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            if side == "camvault":
                out = inserts.single_camvault(events, warmup, plan)
            else:
                out = inserts.single_baseline(tuples, warm_t, plan)
            log(_line(f"single insert {side}", out["latency"]))
            return out

        return go

    bl_single, cv_single = alternate(cfg.rounds, single("baseline"), single("camvault"))

    prepared = [drivers.prepare(t) for t in tuples]
    warm_p = [drivers.prepare(t) for t in warm_t]

    def driver(name: str) -> Callable[[], Latency]:
        def go() -> Latency:
            with scratch("driver") as folder:
                lat = drivers.run_driver(name, folder, warm_p, prepared)
            log(_line(f"raw insert on {name}", lat))
            return lat

        return go

    apsw_runs, sqlean_runs = alternate(cfg.rounds, driver("apsw"), driver("sqlean.py"))

    def bulk_run(side: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            if side == "camvault":
                out = inserts.bulk_camvault(bulk, warmup)
            else:
                out = inserts.bulk_baseline(bulk_t, warm_t)
            log(f"{'bulk insert ' + side:28} {out['rate']:9,.0f} ev/s")
            return out

        return go

    bl_bulk, cv_bulk = alternate(cfg.rounds, bulk_run("baseline"), bulk_run("camvault"))

    memory = []
    for n in (cfg.memory_small, cfg.memory_large):
        memory.append(inserts.import_memory(events[:2000], n))
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
    }
