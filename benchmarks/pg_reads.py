"""Reads on a large PostgreSQL history: camvault's calls next to the same query in raw SQL.

N sample events are generated chunk by chunk (distinct seeds, adjacent time spans, untimed)
and loaded with camvault's ``insert_events`` into a fresh schema; then ``ANALYZE`` (the
server's autovacuum may be off). Each read is timed interleaved, one camvault call then one
raw psycopg call, so both sides see the same noise of a shared machine.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from benchmarks.harness import Latency, counting_logs, latency
from benchmarks.pg_common import connect, fresh_schema, us, with_schema
from benchmarks.pg_raw import RawReader
from benchmarks.reads import windows
from camvault import EventStore
from camvault.models import utcnow
from camvault.sample import sample_events

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
WARMUP = 10
BUDGET_S = 25.0
"""A read pair is timed for at most this long (slow reads get fewer samples)."""
MIN_REPS = 20


@dataclass(slots=True)
class Loaded:
    """The loaded schema: what it holds and how long loading took."""

    schema: str
    events: int
    start: datetime
    end: datetime
    load_s: float = 0.0
    generate_s: float = 0.0
    analyze_s: float = 0.0
    chunk_rates: list[float] = field(default_factory=list)
    bytes: int = 0

    @property
    def rate(self) -> float:
        """Events per second of the load."""
        return self.events / self.load_s if self.load_s else 0.0


def analyze(url: str, schema: str) -> float:
    """ANALYZE every top-level table of ``schema`` (partitions included); return seconds."""
    start = time.perf_counter()
    with connect(url, schema) as conn:
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
            (schema,),
        ).fetchall()
        for (table,) in tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
    return time.perf_counter() - start


def schema_bytes(url: str, schema: str) -> int:
    """Bytes on disk of every table of ``schema`` with its indexes and TOAST."""
    with connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


@contextlib.contextmanager
def loaded(url: str, n: int, chunk: int, days: int, log: Callable[[str], None]) -> Iterator[Loaded]:
    """Load ``n`` events over ``days`` days with insert_events into a fresh schema."""
    with fresh_schema(url, "reads", create=False) as schema, counting_logs():
        end = utcnow().replace(microsecond=0)
        history = Loaded(schema, n, end - timedelta(days=days), end)
        chunks = max(1, math.ceil(n / chunk))
        span = timedelta(days=days) / chunks
        store = EventStore(with_schema(url, schema))
        try:
            for k in range(chunks):
                size = min(chunk, n - k * chunk)
                begin = time.perf_counter()
                events = list(
                    sample_events(size, seed=1000 + k, end=end - span * (chunks - 1 - k), span=span)
                )
                history.generate_s += time.perf_counter() - begin
                begin = time.perf_counter()
                result = store.insert_events(events)
                seconds = time.perf_counter() - begin
                if result.inserted != size:
                    raise RuntimeError(f"camvault stored {result} of {size} events")
                history.load_s += seconds
                history.chunk_rates.append(size / seconds)
                if k % 4 == 3 or k == chunks - 1:
                    done = min(n, (k + 1) * chunk)
                    rate = done / history.load_s
                    log(f"postgres history: {done:,} of {n:,} loaded ({rate:,.0f} ev/s)")
        finally:
            store.close()
        history.analyze_s = analyze(url, schema)
        history.bytes = schema_bytes(url, schema)
        yield history


@dataclass(frozen=True, slots=True)
class Read:
    """One read: its name, camvault's p50 goal, both sides' calls and how to compare answers."""

    key: str
    name: str
    goal_ms: float
    camvault: Callable[[int], Any]
    raw: Callable[[int], Any]
    same: Callable[[Any, Any], bool]


def _ids(result: Any) -> list[str]:
    return [getattr(x, "event_id", None) or x["event_id"] for x in result]


def _same_events(cv: Any, raw: Any) -> bool:
    return _ids(cv) == _ids(raw)


def _same_buckets(cv: Any, raw: Any) -> bool:
    mine = sorted((b.start, b.key, b.count) for b in cv if b.count)
    theirs = sorted((r["start"], r["key"], r["count"]) for r in raw)
    return mine == theirs


def reads(store: EventStore, raw: RawReader, history: Loaded, days: int) -> list[Read]:
    """Return the timed reads, each a camvault call and the same query in raw SQL."""
    ends = windows(history.end, days)
    end, week = history.end, history.end - WEEK

    def day(i: int) -> tuple[datetime, datetime]:
        t = ends[i % len(ends)]
        return t - DAY, t

    return [
        Read(
            "recent_camera",
            "newest 50 of front-door",
            2.0,
            lambda _: store.get_recent_events(50, camera_id="front-door"),
            lambda _: raw.recent("front-door"),
            _same_events,
        ),
        Read(
            "label_day",
            "person >= 0.8, one-day window",
            3.0,
            lambda i: (
                store.query(
                    label="person", min_confidence=0.8, since=day(i)[0], until=day(i)[1], limit=50
                ).events
            ),
            lambda i: raw.label_window(us(day(i)[0]), us(day(i)[1]), "person", 0.8),
            _same_events,
        ),
        Read(
            "histogram_week",
            "hourly counts by label, 1 week",
            10.0,
            lambda _: store.histogram("hour", by="label", since=week, until=end),
            lambda _: raw.hourly(us(week), us(end)),
            _same_buckets,
        ),
        Read(
            "text_person",
            "text 'person', newest 50",
            5.0,
            lambda _: store.query(text="person", limit=50).events,
            lambda _: raw.text("person"),
            _same_events,
        ),
        Read(
            "text_white_van",
            "text '\"white van\"', newest 50",
            5.0,
            lambda _: store.query(text='"white van"', limit=50).events,
            lambda _: raw.text('"white van"'),
            _same_events,
        ),
    ]


def time_pair(read: Read, reps: int) -> dict[str, Any]:
    """Time both sides of one read, interleaved call by call; compare their answers once."""
    for i in range(min(WARMUP, reps)):
        read.camvault(i)
        read.raw(i)
    clock = time.perf_counter_ns
    cv: list[int] = []
    rw: list[int] = []
    gc.collect()
    deadline = clock() + int(BUDGET_S * 1e9)
    cv_result: Any = None
    raw_result: Any = None
    for i in range(reps):
        t0 = clock()
        cv_result = read.camvault(i)
        t1 = clock()
        raw_result = read.raw(i)
        t2 = clock()
        cv.append(t1 - t0)
        rw.append(t2 - t1)
        if t2 > deadline and len(cv) >= MIN_REPS:
            break
    return {
        "name": read.name,
        "goal_ms": read.goal_ms,
        "camvault": latency(cv),
        "raw": latency(rw),
        "rows": (len(cv_result), len(raw_result)),
        "same": read.same(cv_result, raw_result),
        "slowest_call": max(range(len(cv)), key=cv.__getitem__),
    }


Statement = tuple[str, tuple[Any, ...]]


def capture(store: EventStore, call: Callable[[], object]) -> list[Statement]:
    """Run ``call`` once and return the SQL (and parameters) camvault's backend ran for it.

    Wraps the backend's one read helper on this store instance only; an engine without
    it yields nothing.
    """
    backend = getattr(store, "_backend", None)
    fetch = getattr(backend, "_fetch", None)
    if backend is None or fetch is None:
        return []
    seen: list[Statement] = []

    def traced(action: str, query: str, params: Any = ()) -> Any:
        seen.append((query, tuple(params)))
        return fetch(action, query, params)

    setattr(backend, "_fetch", traced)  # noqa: B010 - one instance, removed below
    try:
        call()
    finally:
        delattr(backend, "_fetch")
    return seen


def plan_report(raw: RawReader, what: str, statements: list[Statement]) -> str:
    """Describe each statement of a camvault read: its SQL, time alone and EXPLAIN ANALYZE."""
    parts = [f"query plans of camvault's {what} ({len(statements)} statement(s)):"]
    for query, params in statements:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            raw.conn.execute(query, params).fetchall()
            samples.append(time.perf_counter_ns() - t0)
        text = " ".join(query.split())
        parts.append(f"  SQL ({latency(samples).p50_ms:.2f} ms alone): {text}")
        parts.append(f"  parameters: {params!r}"[:400])
        parts.extend(f"    {line}" for line in raw.explain(query, params))
    return "\n".join(parts)


def run_reads(
    url: str, history: Loaded, days: int, reps: int, log: Callable[[str], None]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Time every read on the loaded schema; explain camvault's reads that miss their goal."""
    results: dict[str, dict[str, Any]] = {}
    plans: list[str] = []
    with counting_logs(), connect(url, history.schema) as conn:
        store = EventStore(with_schema(url, history.schema))
        try:
            raw = RawReader(conn)
            todo = reads(store, raw, history, days)
            for read in todo:
                out = results[read.key] = time_pair(read, reps)
                c: Latency = out["camvault"]
                r: Latency = out["raw"]
                log(
                    f"{read.name:36} camvault p50 {c.p50_ms:8.3f} ms  raw p50 {r.p50_ms:8.3f} ms"
                    f"  ({c.n} calls, rows {out['rows']}, same answer {out['same']})"
                )
            for read in todo:
                if results[read.key]["camvault"].p50_ms > read.goal_ms:
                    slowest = results[read.key]["slowest_call"]  # e.g. its oldest window
                    statements = capture(store, functools.partial(read.camvault, slowest))
                    plans.append(plan_report(raw, f"{read.name} (call {slowest})", statements))
        finally:
            store.close()
    return results, plans
