"""READS ON A LARGE HISTORY: camvault's analysis reads on N events against the baseline.

Each read is a camvault call (Event objects) and the baseline's equivalent SQL (dicts). A
camvault read that misses its goal is followed by the query plan of every statement it ran
(traced through APSW's connection hooks, on the store's own connection).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import apsw
from rich.console import Console

from benchmarks.baseline import EPOCH, MICRO, SELECT, to_dict
from benchmarks.harness import Config, Latency, counting_logs, file_bytes, timed
from benchmarks.history import IMPORT_CHUNK, History, Imported, import_older, load_figure
from benchmarks.report import MIB, Figure, Section, at_most
from camvault import EventStore
from camvault.query import Order

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOUR_US = 3_600_000_000
WARMUP = 10
CAMVAULT_BUDGET_S = 20.0
BASELINE_BUDGET_S = 8.0
BASELINE_MIN = 5
BASELINE_CAP_S = 2.0
"""A baseline statement still running after this long is stopped (sample = a lower bound)."""


class Cap:
    """Abort a baseline statement after ``seconds`` (its sample is then a lower bound)."""

    def __init__(self, con: sqlite3.Connection, seconds: float) -> None:
        self.con = con
        self.seconds = seconds
        self.hits = 0

    def __call__(self, call: Callable[[int], Any]) -> Callable[[int], Any]:
        """Wrap a baseline call so that it stops at the cap instead of running on."""

        def capped(i: int) -> Any:
            deadline = time.perf_counter() + self.seconds
            self.con.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
            try:
                return call(i)
            except sqlite3.OperationalError as exc:
                if "interrupt" not in str(exc):
                    raise
                self.hits += 1
                return None
            finally:
                self.con.set_progress_handler(None, 0)

        return capped


@dataclass(frozen=True, slots=True)
class Read:
    """One timed read: its figure name, goal on camvault's p50, and both sides' calls."""

    key: str
    name: str
    goal_ms: float | None
    camvault: Callable[[int], Any]
    baseline: Callable[[int], Any]
    cap: Cap
    reps: int | None = None
    """Repetitions when not the configured number (slow information-only reads)."""


def _us(t: datetime) -> int:
    return (t - EPOCH) // MICRO


def windows(end: datetime, days: int) -> list[datetime]:
    """Ends of the one-day windows queried: 'now', then a week earlier, ... within the data."""
    return [end - k * WEEK for k in range(8) if (k * 7 + 1) <= days]


def rows_of(con: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Run one baseline statement and return its rows as dicts."""
    return [to_dict(r) for r in con.execute(sql, params)]


def reads(
    store: EventStore, con: sqlite3.Connection, end: datetime, days: int, cap_s: float
) -> list[Read]:
    """Return the reads, each a camvault call and the baseline's equivalent SQL (capped)."""
    ends = windows(end, days)
    week = end - WEEK
    by_camera = f"{SELECT} WHERE camera_id = ? ORDER BY ts DESC, id DESC LIMIT 50"
    label_day = (
        f"{SELECT} e WHERE e.ts >= ? AND e.ts < ? AND EXISTS (SELECT 1 FROM detections d "
        "WHERE d.event_rowid = e.id AND d.label = ? AND d.confidence >= ?) "
        "ORDER BY e.ts DESC, e.id DESC LIMIT 50"
    )
    hourly = (
        f"SELECT e.ts / {HOUR_US}, d.label, count(DISTINCT e.id) FROM events e "
        "JOIN detections d ON d.event_rowid = e.id WHERE e.ts >= ? AND e.ts < ? GROUP BY 1, 2"
    )
    like = f"{SELECT} WHERE llm_description LIKE ? ORDER BY ts DESC, id DESC LIMIT 50"
    count = "SELECT count(DISTINCT event_rowid) FROM detections WHERE label = ?"

    def hist_baseline(_: int) -> list[dict[str, Any]]:
        rows = con.execute(hourly, (_us(week), _us(end)))
        return [{"start": EPOCH + h * HOUR_US * MICRO, "key": k, "count": n} for h, k, n in rows]

    def day(i: int) -> tuple[datetime, datetime]:
        t = ends[i % len(ends)]
        return t - DAY, t

    return [
        Read(
            "recent_camera",
            "newest 50 of front-door",
            1.0,
            lambda _: store.get_recent_events(50, camera_id="front-door"),
            lambda _: rows_of(con, by_camera, ("front-door",)),
            Cap(con, cap_s),
        ),
        Read(
            "label_day",
            "person >= 0.8, one-day window",
            2.0,
            lambda i: (
                store.query(
                    label="person", min_confidence=0.8, since=day(i)[0], until=day(i)[1], limit=50
                ).events
            ),
            lambda i: rows_of(con, label_day, (_us(day(i)[0]), _us(day(i)[1]), "person", 0.8)),
            Cap(con, cap_s),
        ),
        Read(
            "histogram_week",
            "hourly counts by label, 1 week",
            5.0,
            lambda _: store.histogram("hour", by="label", since=week, until=end),
            hist_baseline,
            Cap(con, cap_s),
        ),
        Read(
            "text_package",
            "text 'package', newest 50",
            2.0,
            lambda _: store.query(text="package", limit=50).events,
            lambda _: rows_of(con, like, ("%package%",)),
            Cap(con, cap_s),
        ),
        Read(
            "text_white_van",
            "text '\"white van\"', newest 50",
            2.0,
            lambda _: store.query(text='"white van"', limit=50).events,
            lambda _: rows_of(con, like, ("%white van%",)),
            Cap(con, cap_s),
        ),
        Read(
            "count_person",
            "count(label='person')",
            None,
            lambda _: store.count(label="person"),
            lambda _: con.execute(count, ("person",)).fetchone()[0],
            Cap(con, cap_s),
            reps=5,
        ),
    ]


def imported_reads(store: EventStore, con: sqlite3.Connection, cap_s: float) -> list[Read]:
    """The text reads timed again after an older history was imported, both orders."""

    def read(order: Order, direction: str) -> Read:
        like = f"{SELECT} WHERE llm_description LIKE ? ORDER BY ts {direction}, id {direction}"
        return Read(
            f"text_package_imported_{order}",
            f"text 'package', {order} 50, after the import",
            2.0,
            lambda _: store.query(text="package", limit=50, order=order).events,
            lambda _: rows_of(con, f"{like} LIMIT 50", ("%package%",)),
            Cap(con, cap_s),
        )

    return [read("newest", "DESC"), read("oldest", "ASC")]


Traced = list[tuple[apsw.Connection, str, tuple[Any, ...]]]


class Tracer:
    """Collect every APSW connection opened while active, to trace the SQL a read runs."""

    def __init__(self) -> None:
        self.connections: list[apsw.Connection] = []

    def __enter__(self) -> Tracer:
        apsw.connection_hooks.append(self._opened)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        apsw.connection_hooks.remove(self._opened)

    def _opened(self, conn: apsw.Connection) -> None:
        self.connections.append(conn)

    def capture(self, call: Callable[[], object]) -> Traced:
        """Run ``call`` once and return (connection, SQL, bindings) of what it executed."""
        call()  # make sure every connection the read uses is open
        seen: Traced = []

        def tracer(conn: apsw.Connection) -> Callable[[apsw.Cursor, str, Any], bool]:
            def trace(_cursor: apsw.Cursor, sql: str, bindings: Any) -> bool:
                seen.append((conn, sql, tuple(bindings or ())))
                return True

            return trace

        live = [c for c in self.connections if _is_open(c)]
        for conn in live:
            conn.exec_trace = tracer(conn)
        try:
            call()
        finally:
            for conn in live:
                conn.exec_trace = None
        return seen


def _is_open(conn: apsw.Connection) -> bool:
    try:
        conn.filename  # noqa: B018 - raises once the connection is closed
    except apsw.ConnectionClosedError:
        return False
    return True


def explain(conn: apsw.Connection, sql: str, bindings: tuple[Any, ...]) -> list[str]:
    """Return SQLite's query plan of one statement as indented lines."""
    rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", bindings).fetchall()
    depth: dict[int, int] = {0: 0}
    lines = []
    for node, parent, _, detail in rows:
        depth[int(node or 0)] = depth.get(int(parent or 0), 0) + 1
        lines.append("  " * depth[int(node or 0)] + str(detail))
    return lines


def _sql_ms(conn: apsw.Connection, sql: str, bindings: tuple[Any, ...]) -> tuple[float, int]:
    """Median milliseconds (of 5 runs) of a statement alone in SQLite, and its row count."""
    lat, rows = timed(lambda _: len(conn.execute(sql, bindings).fetchall()), range(5))
    return lat.p50_ms, rows


def _short(bindings: tuple[Any, ...], width: int = 160) -> str:
    text = repr(bindings)
    return text if len(text) <= width else f"{text[:width]}... ({len(text):,} chars)"


def plan_report(tracer: Tracer, what: str, call: Callable[[], object]) -> str:
    """Describe every statement a read runs: SQL, bindings, time alone, rows and plan."""
    start = time.perf_counter()
    call()
    total = (time.perf_counter() - start) * 1e3
    parts = [f"query plan of camvault's {what}:"]
    in_sql = 0.0
    for conn, sql, bindings in tracer.capture(call):
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        ms, rows = _sql_ms(conn, sql, bindings)
        in_sql += ms
        parts.append(f"  SQL ({ms:.2f} ms alone in SQLite, {rows:,} rows): {sql}")
        parts.append(f"  bindings: {_short(bindings)}")
        parts.extend(f"  {line}" for line in explain(conn, sql, bindings))
    parts.insert(
        1,
        f"  one call took {total:.2f} ms; its statements alone (fetching rows included) "
        f"{in_sql:.2f} ms; the rest ({max(total - in_sql, 0):.2f} ms) is Python around them",
    )
    return "\n".join(parts)


def baseline_plan(con: sqlite3.Connection, what: str, call: Callable[[], object]) -> str:
    """Describe the statements a baseline read runs, with their query plans."""
    seen: list[str] = []
    con.set_trace_callback(seen.append)
    try:
        call()
    finally:
        con.set_trace_callback(None)
    parts = [f"query plan of the baseline's {what}:"]
    for sql in seen:
        parts.append(f"  SQL: {sql}")
        rows = con.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        depth: dict[int, int] = {0: 0}
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            parts.append("  " + "  " * depth[node] + str(detail))
    return "\n".join(parts)


def _size(result: Any) -> int:
    return len(result) if isinstance(result, list) else 1


def time_read(read: Read, reps: int, log: Any) -> dict[str, Any]:
    """Time both sides of one read (camvault at least 200 times unless told fewer)."""
    n = read.reps or reps
    warm = min(WARMUP, n)
    out: dict[str, Any] = {"name": read.name, "goal_ms": read.goal_ms}
    sides = [("camvault", read.camvault), ("baseline", read.cap(read.baseline))]
    for side, call in sides:
        least = min(n, 200) if side == "camvault" else min(n, BASELINE_MIN)
        budget = CAMVAULT_BUDGET_S if side == "camvault" else BASELINE_BUDGET_S
        lat, result = timed(call, range(n), warmup=warm, min_reps=least, budget_s=budget)
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
    with counting_logs() as logs, Tracer() as tracer:
        store = EventStore(history.camvault)
        try:
            todo = reads(store, con, history.end, cfg.reads_days, BASELINE_CAP_S)
            for read in todo:
                results[read.key] = time_read(read, cfg.read_reps, log)
            for read in todo:
                cv: Latency = results[read.key]["camvault"]["latency"]
                if read.goal_ms is not None and cv.p50_ms > read.goal_ms:
                    plans.append(plan_report(tracer, read.name, _once(read.camvault)))
                if read.cap.hits:
                    call = _once(read.cap(read.baseline))
                    plans.append(baseline_plan(con, f"{read.name} (stopped at the cap)", call))
            for text in ("package", '"white van"'):
                matches[text] = store.count(text=text)
            imported = import_older(store, history, cfg.reads_import, log)
            for read in imported_reads(store, con, BASELINE_CAP_S):
                results[read.key] = time_read(read, cfg.read_reps, log)
                cv = results[read.key]["camvault"]["latency"]
                if read.goal_ms is not None and cv.p50_ms > read.goal_ms:
                    plans.append(plan_report(tracer, read.name, _once(read.camvault)))
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
        load_figure(history),
        Figure(
            f"bulk import of {imported.events:,} older events",
            "events/s",
            imported.rate("camvault"),
            imported.rate("baseline"),
        ),
    ]
    for result in results.values():
        name, goal = result["name"], result["goal_ms"]
        cv: Latency = result["camvault"]["latency"]
        bl: Latency = result["baseline"]["latency"]
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
        f"{IMPORT_CHUNK:,}, "
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
