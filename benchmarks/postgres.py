"""POSTGRES: camvault's PostgreSQL engine side by side with raw psycopg and a SQLAlchemy ORM.

Runs when a server is known (``CAMVAULT_BENCH_POSTGRES_URL``, else
``CAMVAULT_TEST_POSTGRES_URL``); otherwise the section is skipped with one line saying why.
Bulk insert (insert_events vs COPY, executemany and the ORM), single insert (insert_event vs
INSERTs + commit), 64 async producers vs one, and reads on a large history vs the same
queries in raw SQL. Every run uses fresh schemas, dropped afterwards. Figures are medians
of the rounds (the machine is shared and noisy); every round is in the JSON.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from rich.console import Console

from benchmarks import pg_raw, pg_reads, pg_writes
from benchmarks.harness import Config, Latency, latency, make_events, spread, to_tuple
from benchmarks.pg_common import server_url, server_version
from benchmarks.pg_orm import COMMIT_EVERY
from benchmarks.report import MIB, Figure, Section, at_most, ratio_at_least, ratio_at_most
from camvault.models import utcnow

TITLE = "POSTGRES: camvault vs raw psycopg and a SQLAlchemy ORM (medians of rounds)"
BULK_SIDES = ("camvault", "copy", "executemany", "orm")
ORM_ROUNDS = 1
"""The ORM is slow: it runs in the first round only."""
PRODUCERS = 64


def skipped(reason: str) -> Section:
    """Return an empty section whose one note says why it did not run."""
    reason = " ".join(reason.split())
    return Section(TITLE, [], [f"postgres section skipped: {reason}"], {"skipped": reason})


def run(cfg: Config, console: Console) -> Section:
    """Run the PostgreSQL section, or skip it when no server is known or reachable."""
    url, source = server_url()
    if url is None:
        return skipped(source)
    try:
        version = server_version(url)
    except psycopg.Error as exc:
        return skipped(f"cannot reach the server of {source}: {exc}")
    log = console.log
    log(f"postgres: PostgreSQL {version} from {source}")
    raw: dict[str, Any] = {"server_version": version, "url_from": source, "load_average": []}
    raw["load_average"].append(os.getloadavg()[0])
    raw["bulk"] = bulk(cfg, url, log)
    raw["single"] = single(cfg, url, log)
    raw["async"] = producers(cfg, url, log)
    with pg_reads.loaded(url, cfg.reads_events, cfg.reads_chunk, cfg.reads_days, log) as history:
        log(
            f"postgres history: {history.events:,} events loaded in {history.load_s:,.1f} s "
            f"({history.rate:,.0f} ev/s), ANALYZE {history.analyze_s:,.1f} s"
        )
        raw["load"] = {
            "events": history.events,
            "load_s": history.load_s,
            "generate_s": history.generate_s,
            "analyze_s": history.analyze_s,
            "chunk_rates": history.chunk_rates,
            "bytes": history.bytes,
        }
        raw["reads"], plans = pg_reads.run_reads(
            url, history, cfg.reads_days, cfg.pg_read_reps, log
        )
    raw["load_average"].append(os.getloadavg()[0])
    return Section(TITLE, figures(raw, cfg), [*notes(raw, cfg), *plans], raw)


def _rotated(rounds: int, sides: dict[str, Callable[[], dict[str, Any]]]) -> dict[str, list[Any]]:
    """Run every side once per round, the order rotated each round (ABC, BCA, ...)."""
    names = list(sides)
    out: dict[str, list[Any]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out[name].append(sides[name]())
    return out


def bulk(cfg: Config, url: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Time the bulk insert of ``cfg.bulk`` events on every side."""
    end = utcnow()
    log(f"postgres: generating {cfg.bulk:,} sample events over 7 days (untimed)")
    events = make_events(cfg.bulk, seed=1, end=end)
    warmup = make_events(cfg.warmup, seed=2, end=end - timedelta(days=8))
    tuples, warm_t = [to_tuple(e) for e in events], [to_tuple(e) for e in warmup]

    def side(name: str) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            if name == "camvault":
                out = pg_writes.bulk_camvault(url, events, warmup)
            elif name == "orm":
                out = pg_writes.bulk_orm(url, tuples, warm_t)
            else:
                how = pg_raw.copy_bulk if name == "copy" else pg_raw.executemany_bulk
                out = pg_writes.bulk_raw(url, how, tuples, warm_t)
            log(f"{'bulk insert, ' + name:34} {out['rate']:9,.0f} ev/s ({out['seconds']:.1f} s)")
            return out

        return go

    runs = _rotated(cfg.pg_rounds, {s: side(s) for s in BULK_SIDES if s != "orm"})
    runs["orm"] = [side("orm")() for _ in range(ORM_ROUNDS)]
    return runs


def single(cfg: Config, url: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Time ``cfg.pg_single`` single inserts (a commit each), camvault and raw interleaved."""
    end = utcnow()
    events = spread(make_events(cfg.pg_single * 2, seed=3, end=end), cfg.pg_single)
    warmup = make_events(cfg.warmup, seed=4, end=end - timedelta(days=8))
    tuples, warm_t = [to_tuple(e) for e in events], [to_tuple(e) for e in warmup]
    out: dict[str, Any] = {"camvault": [], "raw": [], "logs": []}
    for _ in range(cfg.pg_rounds):
        pair = pg_writes.single_pair(url, events, warmup, tuples, warm_t)
        for name in ("camvault", "raw"):
            lat = latency(pair[name].pop("samples"))
            out[name].append({"latency": lat, "counts": pair[name]["counts"]})
            log(
                f"{'single insert, ' + name:34} p50 {lat.p50_us:7.0f} us  p95 {lat.p95_us:7.0f} "
                f"us  p99 {lat.p99_us:7.0f} us"
            )
        out["logs"].append(pair["logs"])
    return out


def producers(cfg: Config, url: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Time 64 AsyncEventStore producers against one task awaiting insert_event in turn."""
    end = utcnow()
    events = make_events(cfg.pg_async, seed=5, end=end)
    warmup = make_events(cfg.warmup, seed=6, end=end - timedelta(days=8))

    def side(n: int) -> Callable[[], dict[str, Any]]:
        def go() -> dict[str, Any]:
            out = pg_writes.async_camvault(url, events, warmup, n)
            lat: Latency = out["latency"]
            log(
                f"{f'AsyncEventStore, {n} task(s)':34} {out['rate']:9,.0f} ev/s  "
                f"wait p50 {lat.p50_us:7.0f} us  p99 {lat.p99_us:8.0f} us"
            )
            return out

        return go

    runs = _rotated(cfg.pg_rounds, {"sequential": side(1), "producers": side(PRODUCERS)})
    return runs


def _median(runs: list[dict[str, Any]], key: str = "rate") -> float:
    return float(statistics.median(r[key] for r in runs))


def _median_latency(runs: list[dict[str, Any]], attr: str) -> float:
    return float(statistics.median(getattr(r["latency"], attr) for r in runs))


def figures(raw: dict[str, Any], cfg: Config) -> list[Figure]:
    """Return the section's figures, with goals."""
    b = raw["bulk"]
    cv, copy, many, orm = (_median(b[s]) for s in BULK_SIDES)
    n = f"{cfg.bulk:,} ev"
    s = raw["single"]
    p50 = _median_latency(s["camvault"], "p50_us"), _median_latency(s["raw"], "p50_us")
    a = raw["async"]
    out = [
        ratio_at_least(f"bulk insert_events vs COPY ({n})", "events/s", cv, copy, 0.5),
        Figure(f"bulk insert_events vs executemany ({n})", "events/s", cv, many),
        ratio_at_least(f"bulk insert_events vs SQLAlchemy ORM ({n})", "events/s", cv, orm, 5),
        ratio_at_most("single insert p50 vs INSERT + commit", "us", *p50, 1.5),
        Figure(
            "single insert p95",
            "us",
            _median_latency(s["camvault"], "p95_us"),
            _median_latency(s["raw"], "p95_us"),
        ),
        Figure(
            "single insert p99",
            "us",
            _median_latency(s["camvault"], "p99_us"),
            _median_latency(s["raw"], "p99_us"),
        ),
        ratio_at_least(
            f"{PRODUCERS} async producers vs 1 task",
            "events/s",
            _median(a["producers"]),
            _median(a["sequential"]),
            3,
        ),
        Figure(
            f"insert wait p99, {PRODUCERS} producers vs 1 task",
            "us",
            _median_latency(a["producers"], "p99_us"),
            _median_latency(a["sequential"], "p99_us"),
        ),
    ]
    load = raw["load"]
    out.append(
        Figure(
            f"load {load['events']:,} ev, insert_events per {cfg.reads_chunk:,}",
            "events/s",
            load["events"] / load["load_s"],
            None,
        )
    )
    for r in raw["reads"].values():
        c: Latency = r["camvault"]
        w: Latency = r["raw"]
        out.append(at_most(f"{r['name']} p50", "ms", c.p50_ms, w.p50_ms, r["goal_ms"]))
    out.append(Figure("schema on disk after the load", "MiB", load["bytes"] / MIB, None))
    return out


def _counts(runs: list[dict[str, Any]]) -> Any:
    return runs[0]["counts"] if runs else None


def notes(raw: dict[str, Any], cfg: Config) -> list[str]:
    """Return the explanations printed under the section's table."""
    b, s, a, load = raw["bulk"], raw["single"], raw["async"], raw["load"]
    reads = raw["reads"]
    rounds = cfg.pg_rounds
    rates = {side: [round(r["rate"]) for r in b[side]] for side in BULK_SIDES}
    return [
        f"PostgreSQL {raw['server_version']} (URL from {raw['url_from']}); every run in "
        "fresh schemas, dropped afterwards; figures are medians of "
        f"{rounds} round(s), the order of the sides rotated each round; all runs in the JSON; "
        "the machine's 1-minute load average at the start and the end: "
        + " / ".join(f"{x:.1f}" for x in raw["load_average"]),
        f"bulk: {cfg.bulk:,} sample events (0-6 detections, descriptions) after "
        f"{cfg.warmup} warm-up events, built before timing (Events for camvault, plain tuples "
        "for the others); camvault: one insert_events call (validation, full text, rollups); "
        "COPY and executemany: camvault's own tables and indexes (a schema migrated by "
        "opening an EventStore, month partitions made before timing), event_ids + events + "
        "detections rows in one transaction, ids from camvault's sequence, no rollups; "
        f"ORM: SQLAlchemy declarative Event -> relationship -> Detection, add_all + commit "
        f"per {COMMIT_EVERY:,} events, its own tables with unique event_id and the usual "
        f"indexes, {ORM_ROUNDS} round; events/s per round {rates}",
        f"rows stored (first round) camvault {_counts(b['camvault'])}, COPY "
        f"{_counts(b['copy'])}, executemany {_counts(b['executemany'])}, ORM {_counts(b['orm'])}",
        f"single insert: {cfg.pg_single:,} events one by one after {cfg.warmup} warm-up "
        "events; camvault insert_event vs psycopg: INSERT events (id = nextval) RETURNING id, "
        "INSERT event_ids, executemany detections, in one transaction (BEGIN ... COMMIT) per "
        "event, cameras registered before timing; the two sides interleaved event by event "
        "(alternating which goes first) on two fresh schemas; percentiles per round, median "
        "of rounds; "
        f"p50 per round camvault {[round(r['latency'].p50_us) for r in s['camvault']]} us, "
        f"raw {[round(r['latency'].p50_us) for r in s['raw']]} us; camvault log records "
        f"per round (slow-insert warnings are inserts over 10 ms): {s['logs']}",
        f"async: {cfg.pg_async:,} events, AsyncEventStore with {PRODUCERS} tasks each "
        "inserting its share vs one task awaiting insert_event after insert_event; events/s "
        f"per round: {PRODUCERS} tasks {[round(r['rate']) for r in a['producers']]}, one task "
        f"{[round(r['rate']) for r in a['sequential']]}",
        f"reads: {load['events']:,} sample events over {cfg.reads_days} days loaded with "
        f"insert_events in chunks of {cfg.reads_chunk:,} ({load['load_s']:,.1f} s; "
        f"generation {load['generate_s']:,.0f} s untimed), then ANALYZE "
        f"({load['analyze_s']:,.1f} s); each read timed up to {cfg.pg_read_reps} times after "
        f"{pg_reads.WARMUP} warm-up calls (at most {pg_reads.BUDGET_S:g} s a read), one "
        "camvault call then one raw call, so both see the same noise; camvault returns Event "
        "objects (histogram: Buckets), raw psycopg dicts; calls "
        f"{ {k: r['camvault'].n for k, r in reads.items()} }",
        "raw SQL: newest = WHERE camera_id ORDER BY ts DESC, id DESC LIMIT 50; label = "
        "ts window AND EXISTS (detections d WHERE d.event_rowid = e.id AND d.ts = e.ts AND "
        "label AND confidence); histogram = SELECT ts / hour, label, count(DISTINCT "
        "event_rowid) FROM detections GROUP BY 1, 2 (camvault may answer from its rollups); "
        "text = tsv @@ websearch_to_tsquery('english', ...) AND llm_description IS NOT NULL "
        "ORDER BY ts DESC, id DESC LIMIT 50",
        "label: with d.label = %s in the EXISTS, PostgreSQL 15 may plan a merge semi join "
        "that walks the (label, ts, confidence) index from the newest match down to the "
        "window, so the time grows with the window's age (windows: the newest day, then "
        "weekly steps back, cycled); d.label = ANY(%s) was planned as a nested loop over the "
        "window's events here; a camvault read that misses its goal has its plan below, "
        "taken on its slowest call",
        "histogram: the week is [now - 7 days, now), not on hour boundaries: camvault counts "
        "the whole hours from rollup_hourly and the two partial hours from events JOIN "
        "detections; the raw query counts detections only",
        "same answer (camvault vs raw, last call): "
        f"{ {k: r['same'] for k, r in reads.items()} }; rows per call "
        f"{ {k: r['rows'] for k, r in reads.items()} }",
    ]
