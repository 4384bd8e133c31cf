"""HTTP: `camvault serve` (uvicorn in a subprocess) measured from here with httpx.

Ingest posts to a fresh database; the reads run on the history database, and the same reads
in this process (no HTTP, no JSON) fill the baseline column.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter
from rich.console import Console

from benchmarks.harness import Config, Latency, counting_logs, latency, make_events, scratch, timed
from benchmarks.history import History
from benchmarks.report import Figure, Section, at_most
from camvault import EventStore
from camvault.models import utcnow
from camvault.web.api import PageOut, stored

HOST = "127.0.0.1"
STARTUP_S = 60.0
STOP_S = 30.0
SERVE = (
    "import sys, uvicorn\n"
    "from camvault.web.app import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host=sys.argv[2], port=int(sys.argv[3]),\n"
    "            log_level='warning', access_log=False)\n"
)
TIMEOUT = httpx.Timeout(30.0)
JSON = {"content-type": "application/json"}
WARM_POSTS = 50
WARM_GETS = 20
TITLE = (
    "HTTP: camvault serve (uvicorn subprocess, loopback, httpx client); "
    "baseline column = the same read in-process, no HTTP"
)
PAGE = TypeAdapter(PageOut)
"""Encodes a page as GET /api/events does."""


@dataclass(frozen=True, slots=True)
class Server:
    """A running server: its base URL and process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far; None off Linux."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / ticks


def free_port() -> int:
    """Return a port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[-2000:] or "(no output)"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /api/healthz until it answers 200, the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/api/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {STARTUP_S:g} s:\n{_tail(log)}")


@contextlib.contextmanager
def serving(db: Path) -> Iterator[Server]:
    """Serve ``db`` (no token) and yield the server; it is stopped afterwards."""
    port = free_port()
    log = db.with_name(f"{db.name}.server.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(db), HOST, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://{HOST}:{port}"
            _wait_healthy(url, proc, log)
            yield Server(url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_S)


def _client(url: str) -> httpx.AsyncClient:
    """One client with one connection: a worker of its own (httpx's shared pool is slower)."""
    return httpx.AsyncClient(base_url=url, timeout=TIMEOUT, limits=httpx.Limits(max_connections=1))


def _cpu(server: Server, start_cpu: float | None, wall_ns: int, calls: int) -> dict[str, Any]:
    """CPU use of both processes during a timed loop that started at ``start_cpu``."""
    end_cpu = server.cpu_seconds()
    used = None if start_cpu is None or end_cpu is None else end_cpu - start_cpu
    return {
        "server_cpu_ms_per_request": None if used is None else used * 1e3 / max(calls, 1),
        "server_cpu_share": None if used is None else used / (wall_ns / 1e9),
    }


async def _post_all(
    server: Server, bodies: Sequence[bytes], per_body: int, workers: int
) -> dict[str, Any]:
    """POST every body from ``workers`` concurrent clients; time each request and the whole."""
    samples: list[int] = []
    failures: list[str] = []
    clock = time.perf_counter_ns
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_client(server.url)) for _ in range(workers)]
        for i, body in enumerate(bodies[:WARM_POSTS]):  # also opens every connection
            r = await clients[i % workers].post("/api/events", content=body, headers=JSON)
            r.raise_for_status()
        todo = iter(bodies[WARM_POSTS:])

        async def worker(client: httpx.AsyncClient) -> None:
            for body in todo:
                t0 = clock()
                r = await client.post("/api/events", content=body, headers=JSON)
                samples.append(clock() - t0)
                if r.status_code != 200 or r.json()["inserted"] != per_body:
                    failures.append(f"{r.status_code} {r.text[:200]}")

        gc.collect()
        cpu, client_cpu, start = server.cpu_seconds(), time.process_time(), clock()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = clock() - start
        client_share = (time.process_time() - client_cpu) / (elapsed / 1e9)
        used = _cpu(server, cpu, elapsed, len(samples))
        stored = (await clients[0].get("/api/count")).json()["count"]
    n = (len(bodies) - WARM_POSTS) * per_body
    return {
        "events": n,
        "requests": len(samples),
        "rate": n / (elapsed / 1e9),
        "requests_per_s": len(samples) / (elapsed / 1e9),
        "latency": latency(samples),
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "stored": stored,
        "client_cpu_share": client_share,
        **used,
    }


def ingest(cfg: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """POST single events (16 at a time) and batches (4 at a time) to a fresh database."""
    n_single = cfg.http_single + WARM_POSTS
    n_batch = (cfg.http_batches + WARM_POSTS) * cfg.http_batch_size
    log(f"http: generating {n_single + n_batch:,} sample events (untimed)")
    events = make_events(n_single + n_batch, seed=21, end=utcnow())
    single = [e.model_dump_json().encode() for e in events[:n_single]]
    rest, size = events[n_single:], cfg.http_batch_size
    batches = [
        b"[" + b",".join(e.model_dump_json().encode() for e in rest[i : i + size]) + b"]"
        for i in range(0, len(rest), size)
    ]
    out: dict[str, Any] = {}
    with scratch("http-ingest") as folder, serving(folder / "camvault.db") as server:
        out["single"] = asyncio.run(_post_all(server, single, 1, 16))
        log(_line("POST 1 event, concurrency 16", out["single"]))
        out["batch"] = asyncio.run(_post_all(server, batches, size, 4))
        log(_line(f"POST {size} events, concurrency 4", out["batch"]))
    return out


def _line(what: str, out: dict[str, Any]) -> str:
    lat: Latency = out["latency"]
    return (
        f"{what:34} {out['rate']:9,.0f} ev/s  {out['requests_per_s']:7,.0f} req/s  "
        f"p50 {lat.p50_ms:7.2f} ms  p99 {lat.p99_us / 1e3:7.2f} ms  failures {out['failures']}  "
        f"CPU: client {out['client_cpu_share']:.0%}, server {_share(out)}"
    )


def _share(out: dict[str, Any]) -> str:
    share = out.get("server_cpu_share")
    return "?" if share is None else f"{share:.0%}"


def _paths(history: History) -> dict[str, str]:
    since = (history.end - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    return {
        "events": "/api/events?limit=50",
        "events_person": "/api/events?label=person&limit=50",
        "histogram": f"/api/histogram?bucket=hour&by=label&since={since}",
        "cameras": "/api/cameras",
    }


def _page_json(store: EventStore) -> bytes:
    """Query the newest 50 and encode them as GET /api/events does."""
    page = store.query(limit=50)
    events = [stored(store.thumbnails_dir, e) for e in page.events]
    return PAGE.dump_json(PageOut(events=events, next_cursor=page.next_cursor))


def in_process(history: History, reps: int) -> dict[str, Latency]:
    """Time the same reads on an EventStore in this process (no HTTP, no JSON)."""
    since = history.end - timedelta(days=7)
    with counting_logs():
        store = EventStore(history.camvault)
        try:
            calls: dict[str, Callable[[int], Any]] = {
                "events": lambda _: store.query(limit=50),
                "events_person": lambda _: store.query(label="person", limit=50),
                "histogram": lambda _: store.histogram("hour", by="label", since=since),
                "cameras": lambda _: store.list_cameras(),
                "events_json": lambda _: _page_json(store),
            }
            return {
                key: timed(call, range(reps), warmup=WARM_GETS)[0] for key, call in calls.items()
            }
        finally:
            store.close()


async def _get_all(server: Server, paths: dict[str, str], reps: int) -> dict[str, Any]:
    """GET each path ``reps`` times, one request at a time, after a warm-up."""
    out: dict[str, Any] = {}
    clock = time.perf_counter_ns
    async with _client(server.url) as client:
        for key, path in paths.items():
            for _ in range(WARM_GETS):
                (await client.get(path)).raise_for_status()
            samples: list[int] = []
            gc.collect()
            cpu, start = server.cpu_seconds(), clock()
            for _ in range(reps):
                t0 = clock()
                r = await client.get(path)
                samples.append(clock() - t0)
                r.raise_for_status()
            used = _cpu(server, cpu, clock() - start, reps)
            body = r.json()
            rows = len(body["events"]) if isinstance(body, dict) else len(body)
            out[key] = {
                "latency": latency(samples),
                "rows": rows,
                "bytes": len(r.content),
                **used,
            }
    return out


def reads(cfg: Config, history: History, log: Callable[[str], None]) -> dict[str, Any]:
    """Serve the history database and time the GETs; also the same reads in-process."""
    paths = _paths(history)
    local = in_process(history, cfg.http_reads)
    with serving(history.camvault) as server:
        remote = asyncio.run(_get_all(server, paths, cfg.http_reads))
    for key, path in paths.items():
        lat: Latency = remote[key]["latency"]
        log(
            f"GET {path[:60]:60} p50 {lat.p50_ms:7.3f} ms  p90 {lat.p90_ms:7.3f} ms  "
            f"(in-process p50 {local[key].p50_ms:.3f} ms; server CPU "
            f"{remote[key]['server_cpu_ms_per_request'] or 0:.2f} ms/request)"
        )
    return {"paths": paths, "http": remote, "in_process": local}


def run(cfg: Config, console: Console, history: History) -> Section:
    """Run the HTTP section (ingest on a fresh database, reads on the history)."""
    raw = {"ingest": ingest(cfg, console.log), "reads": reads(cfg, history, console.log)}
    return Section(TITLE, figures(cfg, raw), notes(cfg, history, raw), raw)


def figures(cfg: Config, raw: dict[str, Any]) -> list[Figure]:
    """Return the HTTP figures, with the goal on GET /api/events."""
    single, batch = raw["ingest"]["single"], raw["ingest"]["batch"]
    http, local = raw["reads"]["http"], raw["reads"]["in_process"]
    out = [
        Figure("POST /api/events, 1 event, concurrency 16", "events/s", single["rate"], None),
        Figure(
            f"POST /api/events, {cfg.http_batch_size} events, concurrency 4",
            "events/s",
            batch["rate"],
            None,
        ),
        Figure("POST 1 event, request p50", "ms", single["latency"].p50_ms, None),
        Figure("POST 1 event, request p99", "ms", single["latency"].p99_us / 1e3, None),
        Figure("POST 1 event, server CPU/request", "ms", single["server_cpu_ms_per_request"], None),
    ]
    for key, name, goal in (
        ("events", "GET /api/events?limit=50", 5.0),
        ("events_person", "GET /api/events?label=person&limit=50", None),
        ("histogram", "GET /api/histogram hour by label, 7 days", None),
        ("cameras", "GET /api/cameras (5 rows: web stack floor)", None),
    ):
        h: Latency = http[key]["latency"]
        lp: Latency = local[key]
        if goal is None:
            out.append(Figure(f"{name} p50", "ms", h.p50_ms, lp.p50_ms))
        else:
            out.append(at_most(f"{name} p50", "ms", h.p50_ms, lp.p50_ms, goal))
        out.append(Figure(f"{name} p90", "ms", h.p90_ms, lp.p90_ms))
    return out


def notes(cfg: Config, history: History, raw: dict[str, Any]) -> list[str]:
    """Return the explanations printed under the HTTP table."""
    single, batch = raw["ingest"]["single"], raw["ingest"]["batch"]
    http = raw["reads"]["http"]
    return [
        "server: python -c 'uvicorn.run(create_app(path), host=127.0.0.1, port=<free>, "
        "log_level=warning, access_log=False)' in a subprocess, no token, on the same 2 CPUs "
        "as the httpx client; request bodies were serialized before timing",
        f"ingest on a fresh database after {WARM_POSTS} warm-up posts: {single['requests']:,} "
        f"single-event posts ({single['failures']} failed), then {batch['requests']:,} posts "
        f"of {cfg.http_batch_size} ({batch['failures']} failed); the server stored "
        f"{batch['stored']:,} events in all; request p50/p99 of a batch "
        f"{batch['latency'].p50_ms:.1f} / {batch['latency'].p99_us / 1e3:.1f} ms",
        f"reads on the {history.events:,}-event history database (served by a second server), "
        f"one request at a time, {cfg.http_reads} times each after {WARM_GETS} warm-ups; "
        f"paths {raw['reads']['paths']}",
        f"CPU during ingest (share of one core, of 2): httpx client "
        f"{single['client_cpu_share']:.0%} single / {batch['client_cpu_share']:.0%} batches; "
        f"server {_share(single)} / {_share(batch)}; server CPU per batch request "
        f"{batch['server_cpu_ms_per_request'] or 0:.1f} ms; a client near 100% means "
        "the client, not the server, sets the rate (each worker has its own AsyncClient "
        "with one connection: httpx's shared pool was slower at 16)",
        "server CPU per GET (ms): "
        f"{ {k: round(v['server_cpu_ms_per_request'] or 0, 2) for k, v in http.items()} }; "
        "in-process query(limit=50) + encoding the page as the API does: "
        f"{raw['reads']['in_process']['events_json'].p50_ms:.2f} ms p50",
        "baseline column of the GET rows: the same EventStore call in this process (query / "
        "histogram, Event objects, no HTTP or JSON), so ratio = cost of serving over HTTP; "
        f"rows and bytes per response: "
        f"{ {k: (v['rows'], v['bytes']) for k, v in http.items()} }",
    ]
