"""Command line: ``python -m benchmarks [--events N] [--bulk N] [--quick] [--json PATH]``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from rich.console import Console

from benchmarks import summary
from benchmarks.report import machine, print_tables, write_json
from benchmarks.suite import Config, run

DEFAULT_JSON = Path(__file__).parent / "results" / "latest.json"
QUICK = Config(
    events=1_000,
    bulk=5_000,
    warmup=100,
    memory_small=2_000,
    memory_large=20_000,
    read_ids=200,
    read_repeats=30,
    construct=500,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark camvault against a hand-written stdlib sqlite3 baseline.",
    )
    parser.add_argument("--events", type=int, help="events for the single-insert run (20,000)")
    parser.add_argument("--bulk", type=int, help="events for the bulk-insert run (100,000)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to save results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks, print the tables and save the JSON."""
    args = parse_args(argv)
    cfg = QUICK if args.quick else Config()
    if args.events is not None:
        cfg = dataclasses.replace(cfg, events=max(args.events, 1))
    if args.bulk is not None:
        cfg = dataclasses.replace(cfg, bulk=max(args.bulk, 1))
    console = Console(width=None if sys.stdout.isatty() else 110)
    status = Console(stderr=True, log_path=False, width=None if sys.stderr.isatty() else 110)
    start = time.perf_counter()
    raw = run(cfg, status)
    elapsed = time.perf_counter() - start
    config = dataclasses.asdict(cfg)
    figures, drivers = summary.figures(raw, cfg.bulk), summary.driver_figures(raw)
    notes = summary.notes(raw, config)
    info = machine()
    console.print(
        f"camvault {info['camvault']} ({info['git_commit']}) on Python {info['python']}, "
        f"{info['cpu_count']} CPUs; SQLite {info['sqlite_camvault']} vs "
        f"{info['sqlite_baseline']}; {elapsed:.0f} s",
        highlight=False,
    )
    print_tables(figures, drivers, notes, console)
    write_json(
        args.json,
        {
            "machine": info,
            "config": config,
            "seconds": elapsed,
            "figures": figures,
            "drivers": drivers,
            "notes": notes,
            "raw": raw,
        },
    )
    console.print(f"saved {args.json}", highlight=False)


if __name__ == "__main__":
    main()
