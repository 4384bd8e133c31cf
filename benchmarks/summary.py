"""Reduce every round to the figures of the table: the better run of each side, and notes."""

from __future__ import annotations

from typing import Any

from benchmarks.report import MIB, Figure, at_most, ratio_at_least
from benchmarks.workload import Latency


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
    bl_bulk = max(r["rate"] for r in raw["bulk"]["baseline"])
    out = [
        at_most("single insert p50", "us", c.p50_us, b.p50_us, 100),
        at_most("single insert p99", "us", c.p99_us, b.p99_us, 1000),
        Figure("single insert max", "us", c.max_us, b.max_us),
        ratio_at_least("single insert rate", "events/s", c.rate, b.rate, 0.5),
        ratio_at_least(f"bulk insert rate ({bulk_n:,} ev)", "events/s", cv_bulk, bl_bulk, 0.6),
        Figure("Event(**dict) build+validate p50", "us", raw["construct"]["p50_us"], None),
        Figure("get_event p50", "us", cr["get_event"]["p50_us"], br["get_event"]["p50_us"]),
        Figure("get_recent_events(50) p50", "us", cr["recent"]["p50_us"], br["recent"]["p50_us"]),
        Figure("query(person>=0.5, 1 day) p50", "us", cr["query"]["p50_us"], br["query"]["p50_us"]),
        Figure("WAL restarts, single insert", "resets", cv["wal_resets"], bl["wal_resets"]),
        Figure("WAL file after single insert", "MiB", cv["wal_bytes"] / MIB, bl["wal_bytes"] / MIB),
    ]
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
    ]


def _show(counts: dict[str, Any]) -> str:
    """Describe a database fingerprint."""
    return f"{counts['events']:,} events, {counts['detections']:,} detections, {counts['sha256']}"
