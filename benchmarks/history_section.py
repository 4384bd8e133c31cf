"""READS ON A LARGE HISTORY: camvault's analysis reads on N events against the baseline."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from rich.console import Console

from benchmarks.dataset import History, file_bytes
from benchmarks.history_import import CHUNK, Imported, import_older
from benchmarks.history_reads import Read, imported_reads, reads, windows
from benchmarks.plans import baseline_plan, plan_report
from benchmarks.report import MIB, Figure, at_most, ratio_at_least
from benchmarks.section import Section
from benchmarks.stats import Percentiles, repeat
from benchmarks.suite import Config
from benchmarks.workload import counting_logs
from camvault import EventStore

WARMUP = 10
CAMVAULT_BUDGET_S = 20.0
BASELINE_BUDGET_S = 8.0
BASELINE_MIN = 5
BASELINE_CAP_S = 2.0
"""A baseline statement still running after this long is stopped (sample = a lower bound)."""


def _size(result: Any) -> int:
    return len(result) if isinstance(result, list) else 1


def _time(read: Read, reps: int, log: Any) -> dict[str, Any]:
    """Time both sides of one read (camvault at least 200 times unless told fewer)."""
    n = read.reps or reps
    warm = min(WARMUP, n)
    out: dict[str, Any] = {"name": read.name, "goal_ms": read.goal_ms}
    sides = [("camvault", read.camvault), ("baseline", read.cap(read.baseline))]
    for side, call in sides:
        least = min(n, 200) if side == "camvault" else min(n, BASELINE_MIN)
        budget = CAMVAULT_BUDGET_S if side == "camvault" else BASELINE_BUDGET_S
        lat, result = repeat(call, n, warmup=warm, min_reps=least, budget_s=budget)
        out[side] = {"latency": lat, "rows": _size(result)}
        if side == "baseline":
            out[side]["capped"] = read.cap.hits
        if read.key == "count_person":
            out[side]["value"] = result
        log(
            f"{read.name + ', ' + side:50} p50 {lat.p50_ms:9.3f} ms  p90 {lat.p90_ms:9.3f} ms"
            f"  ({lat.n} calls, {_size(result)} rows"
            + (f", {read.cap.hits} stopped at {read.cap.seconds:g} s)" if read.cap.hits else ")")
        )
    return out


def _once(call: Callable[[int], Any]) -> Callable[[], Any]:
    return lambda: call(0)


def run(cfg: Config, console: Console, history: History) -> Section:
    """Time the reads on the loaded history and return the section."""
    log = console.log
    assert history.baseline is not None
    sizes = {"camvault": file_bytes(history.camvault), "baseline": file_bytes(history.baseline)}
    results: dict[str, dict[str, Any]] = {}
    plans: list[str] = []
    matches: dict[str, int] = {}
    con = sqlite3.connect(history.baseline, isolation_level=None, check_same_thread=False)
    with counting_logs() as logs:
        store = EventStore(history.camvault)
        try:
            todo = reads(store, con, history.end, cfg.reads_days, BASELINE_CAP_S)
            for read in todo:
                results[read.key] = _time(read, cfg.read_reps, log)
            for read in todo:
                cv: Percentiles = results[read.key]["camvault"]["latency"]
                if read.goal_ms is not None and cv.p50_ms > read.goal_ms:
                    plans.append(plan_report(store, read.name, _once(read.camvault)))
                if read.cap.hits:
                    call = _once(read.cap(read.baseline))
                    plans.append(baseline_plan(con, f"{read.name} (stopped at the cap)", call))
            for text in ("package", '"white van"'):
                matches[text] = store.count(text=text)
            imported = import_older(store, history, cfg.reads_import, log)
            for read in imported_reads(store, con, BASELINE_CAP_S):
                results[read.key] = _time(read, cfg.read_reps, log)
                cv = results[read.key]["camvault"]["latency"]
                if read.goal_ms is not None and cv.p50_ms > read.goal_ms:
                    plans.append(plan_report(store, read.name, _once(read.camvault)))
        finally:
            store.close()
            con.close()
    raw = {
        "reads": results,
        "sizes": sizes,
        "load": {
            "events": history.events,
            "camvault_s": history.camvault_s,
            "baseline_s": history.baseline_s,
            "generate_s": history.generate_s,
            "chunk_rates": history.chunk_rates,
        },
        "text_matches": matches,
        "imported": {
            "events": imported.events,
            "camvault_s": imported.camvault_s,
            "baseline_s": imported.baseline_s,
        },
        "logs": dict(logs.counts),
    }
    title = (
        f"READS ON {history.events:,} EVENTS: camvault (Event objects) vs hand-written "
        "stdlib sqlite3 (dicts)"
    )
    return Section(
        title,
        figures(history, results, sizes, imported),
        notes(cfg, history, raw, plans),
        raw,
    )


def figures(
    history: History,
    results: dict[str, dict[str, Any]],
    sizes: dict[str, int],
    imported: Imported,
) -> list[Figure]:
    """Return the history figures, with goals."""
    out = [
        ratio_at_least(
            f"bulk insert {history.events:,} ev, FTS + rollups kept",
            "events/s",
            history.camvault_rate,
            history.baseline_rate or 0.0,
            0.6,
        ),
        Figure(
            f"bulk import of {imported.events:,} older events",
            "events/s",
            imported.rate("camvault"),
            imported.rate("baseline"),
        ),
    ]
    for result in results.values():
        name, goal = result["name"], result["goal_ms"]
        cv: Percentiles = result["camvault"]["latency"]
        bl: Percentiles = result["baseline"]["latency"]
        if goal is None:
            out.append(Figure(f"{name} p50", "ms", cv.p50_ms, bl.p50_ms))
        else:
            out.append(at_most(f"{name} p50", "ms", cv.p50_ms, bl.p50_ms, goal))
        out.append(Figure(f"{name} p90", "ms", cv.p90_ms, bl.p90_ms))
    counted = results["count_person"]
    out.append(
        Figure(
            "events with a person",
            "events",
            counted["camvault"]["value"],
            counted["baseline"]["value"],
        )
    )
    out.append(Figure("database on disk", "MiB", sizes["camvault"] / MIB, sizes["baseline"] / MIB))
    return out


def _ends(history: History, side: int) -> str:
    """The rates of the first and the last chunk of one side."""
    rates = [r[side] for r in history.chunk_rates]
    first, last = rates[0], rates[-1]
    return "-" if first is None or last is None else f"{first:,.0f} -> {last:,.0f}"


def notes(cfg: Config, history: History, raw: dict[str, Any], plans: list[str]) -> list[str]:
    """Return the explanations printed under the history table."""
    reads_ = raw["reads"]
    rows = {k: (v["camvault"]["rows"], v["baseline"]["rows"]) for k, v in reads_.items()}
    calls = {k: (v["camvault"]["latency"].n, v["baseline"]["latency"].n) for k, v in reads_.items()}
    days = len(windows(history.end, cfg.reads_days))
    capped = {k: v["baseline"]["capped"] for k, v in reads_.items() if v["baseline"]["capped"]}
    return [
        f"history: {history.events:,} sample events over {cfg.reads_days} days "
        f"({history.start:%Y-%m-%d} to {history.end:%Y-%m-%d %H:%M} UTC), generated in chunks "
        f"of {cfg.reads_chunk:,} (distinct seeds, adjacent spans; "
        f"{history.generate_s:,.0f} s untimed) and streamed into both stores chunk by chunk, "
        "alternating which went first",
        f"bulk insert: camvault insert_events per chunk (full-text index and hourly rollups "
        f"maintained) {history.camvault_s:,.1f} s; baseline executemany per chunk (no FTS, no "
        f"rollups) {history.baseline_s:,.1f} s; events/s of the first and last chunk: "
        f"camvault {_ends(history, 0)}, baseline {_ends(history, 1)}",
        f"reads: after warm-up, camvault >= 200 calls each (up to {cfg.read_reps}); the "
        f"baseline up to {cfg.read_reps} within {BASELINE_BUDGET_S:g} s (at least "
        f"{BASELINE_MIN}); count 5 calls; calls (camvault, baseline) {calls}; a baseline "
        f"statement still running after {BASELINE_CAP_S:g} s was stopped (its time is then a "
        f"lower bound, its rows missing): stopped calls, warm-up included, {capped}",
        f"rows per call (camvault, baseline) {rows}",
        f"one-day windows: [t - 1 day, t) for t = the newest time and {days - 1} weekly steps "
        "back, cycled; histogram: [t - 7 days, t) by hour and label (baseline: GROUP BY over "
        "events JOIN detections, count(DISTINCT e.id))",
        "text: camvault uses its FTS5 index (porter stemming: 'package' also matches "
        "'packages'); the baseline has no full-text index and runs "
        "`llm_description LIKE '%package%' ORDER BY ts DESC LIMIT 50` (and '%white van%'), "
        "which stops as soon as 50 newest rows match: it is only fast because these words "
        f"are common; full-text matches: {raw['text_matches']}",
        f"after the reads above, {raw['imported']['events']:,} events from the week before "
        "the history were imported into both sides (insert_events / executemany per chunk of "
        f"{CHUNK:,}, "
        "newest chunk first): events arriving out of time order, as when a live store "
        "imports its past; then 'package' was timed again newest and oldest first (the "
        "baseline: the same LIKE scan, ORDER BY ts DESC or ASC); later sections use the "
        "database with these events",
        "label query: both sides filter with EXISTS over detections; without ANALYZE, SQLite "
        f"{sqlite3.sqlite_version} plans the baseline's EXISTS as a scan of every matching "
        "label in detections_label_ts for each event (see its plan below when it was "
        "stopped); camvault's adds d.ts = e.ts and NOT INDEXED to seek by primary key",
        "count: camvault count(label='person') vs the baseline's "
        "`SELECT count(DISTINCT event_rowid) FROM detections WHERE label = ?`",
        "database on disk: after closing (WAL checkpointed); camvault's includes the FTS index, "
        "rollups and the retain column",
        f"camvault log records during reads: {raw['logs']}",
        *plans,
    ]
