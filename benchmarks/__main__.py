"""Command line: ``python -m benchmarks [--only SECTIONS] [--quick] [--json PATH] ...``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks import asyncio as async_section
from benchmarks import frigate, history, inserts, postgres, reads, scale
from benchmarks import http as http_section
from benchmarks.harness import QUICK, Config
from benchmarks.report import Section, machine, print_section, print_tables, write_json

DEFAULT_JSON = Path(__file__).parent / "results" / "latest.json"
NAMES = ("inserts", "async", "reads", "http", "postgres", "frigate", "scale")
DEFAULT = NAMES[:-1]
"""The sections of a plain run; ``scale`` loads for tens of minutes and runs when asked."""


def _sections(text: str) -> tuple[str, ...]:
    """Parse a comma-separated list of section names."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(NAMES)}"
        )
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark camvault against hand-written baselines (stdlib sqlite3, "
        "aiosqlite; on PostgreSQL raw psycopg and a SQLAlchemy ORM), section by section.",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        default=DEFAULT,
        help=f"comma-separated sections to run, of {','.join(NAMES)} "
        f"(default: {','.join(DEFAULT)})",
    )
    parser.add_argument("--events", type=int, help="events for the single-insert run (20,000)")
    parser.add_argument("--bulk", type=int, help="events for the bulk-insert run (200,000)")
    parser.add_argument(
        "--growth", type=int, help="events imported chunk by chunk for the flatness run (1,000,000)"
    )
    parser.add_argument("--chunk", type=int, help="events per chunk of that run (50,000)")
    parser.add_argument(
        "--reads-events", type=int, help="events in the history database (1,000,000; quick 50,000)"
    )
    parser.add_argument(
        "--frigate-lifecycles", type=int, help="Frigate lifecycles per flat-out run (10,000)"
    )
    parser.add_argument(
        "--scale-events", type=int, help="events in the scale store (10,000,000; quick 200,000)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to save results")
    return parser.parse_args(argv)


def config(args: argparse.Namespace) -> Config:
    """Return the sizes of this run."""
    cfg = QUICK if args.quick else Config()
    if args.events is not None:
        cfg = dataclasses.replace(cfg, events=max(args.events, 1))
    if args.bulk is not None:
        cfg = dataclasses.replace(cfg, bulk=max(args.bulk, 1))
    if args.growth is not None:
        cfg = dataclasses.replace(cfg, growth=max(args.growth, 1))
    if args.chunk is not None:
        cfg = dataclasses.replace(cfg, growth_chunk=max(args.chunk, 1))
    if args.reads_events is not None:
        cfg = dataclasses.replace(cfg, reads_events=max(args.reads_events, 1_000))
    if args.frigate_lifecycles is not None:
        cfg = dataclasses.replace(cfg, frigate_lifecycles=max(args.frigate_lifecycles, 1))
    if args.scale_events is not None:
        cfg = dataclasses.replace(cfg, scale_events=max(args.scale_events, 100_000))
    return cfg


def run_sections(cfg: Config, only: tuple[str, ...], console: Console) -> dict[str, Section]:
    """Run the sections among ``only`` but inserts (run by the caller), timing each."""
    out: dict[str, Section] = {}
    standalone = {
        "async": async_section.run,
        "postgres": postgres.run,
        "frigate": frigate.run,
        "scale": scale.run,
    }
    for name, runner in standalone.items():
        if name in only:
            start = time.perf_counter()
            out[name] = runner(cfg, console)
            out[name].seconds = time.perf_counter() - start
    if "reads" not in only and "http" not in only:
        return out
    start = time.perf_counter()
    with history.loaded(
        cfg.reads_events,
        cfg.reads_chunk,
        cfg.reads_days,
        baseline="reads" in only,
        log=console.log,
    ) as loaded:
        load_s = time.perf_counter() - start
        console.log(f"history loaded in {load_s:,.0f} s (generation included)")
        for name, runner in (("reads", reads.run), ("http", http_section.run)):
            if name not in only:
                continue
            begin = time.perf_counter()
            section = runner(cfg, console, loaded)
            section.seconds = time.perf_counter() - begin + load_s
            section.raw["history_load_s"] = load_s
            out[name] = section
            load_s = 0.0  # the load is counted once, in the first section that used it
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks, print the tables and save the JSON."""
    args = parse_args(argv)
    cfg = config(args)
    only: tuple[str, ...] = args.only
    console = Console(width=None if sys.stdout.isatty() else 110)
    status = Console(stderr=True, log_path=False, width=None if sys.stderr.isatty() else 110)
    start = time.perf_counter()
    payload: dict[str, Any] = {}
    timings: dict[str, float] = {}
    if "inserts" in only:
        raw = inserts.run(cfg, status)
        timings["inserts"] = time.perf_counter() - start
        payload = {
            "figures": inserts.figures(raw, cfg.bulk),
            "drivers": inserts.driver_figures(raw),
            "notes": inserts.notes(raw, dataclasses.asdict(cfg)),
            "raw": raw,
        }
    done = run_sections(cfg, only, status)
    timings.update({name: s.seconds for name, s in done.items()})
    elapsed = time.perf_counter() - start
    info = machine()
    console.print(
        f"camvault {info['camvault']} ({info['git_commit']}) on Python {info['python']}, "
        f"{info['cpu_count']} CPUs; SQLite {info['sqlite_camvault']} vs "
        f"{info['sqlite_baseline']}; {elapsed:.0f} s",
        highlight=False,
    )
    if payload:
        print_tables(payload["figures"], payload["drivers"], payload["notes"], console)
    for section in done.values():
        print_section(section.title, section.figures, section.notes, console)
    console.print(
        "seconds per section: " + ", ".join(f"{k} {v:,.0f} s" for k, v in timings.items()),
        highlight=False,
    )
    write_json(
        args.json,
        {
            "machine": info,
            "config": dataclasses.asdict(cfg),
            "sections_run": list(only),
            "seconds": elapsed,
            "section_seconds": timings,
            **payload,
            "sections": {name: s.as_dict() for name, s in done.items()},
        },
    )
    console.print(f"saved {args.json}", highlight=False)


if __name__ == "__main__":
    main()
