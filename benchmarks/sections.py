"""Run the selected sections in order; the history database is built once for reads and http."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from benchmarks import async_section, dataset, history_section, httpbench
from benchmarks.section import Section
from benchmarks.suite import Config

NAMES = ("inserts", "async", "reads", "http")


def run(cfg: Config, only: tuple[str, ...], console: Console) -> dict[str, Section]:
    """Run the new sections among ``only`` (inserts is run by the caller) and time each."""
    out: dict[str, Section] = {}
    if "async" in only:
        start = time.perf_counter()
        out["async"] = async_section.run(cfg, console)
        out["async"].seconds = time.perf_counter() - start
    if "reads" not in only and "http" not in only:
        return out
    start = time.perf_counter()
    with dataset.loaded(
        cfg.reads_events,
        cfg.reads_chunk,
        cfg.reads_days,
        baseline="reads" in only,
        log=console.log,
    ) as history:
        load_s = time.perf_counter() - start
        console.log(f"history loaded in {load_s:,.0f} s (generation included)")
        for name, runner in (("reads", history_section.run), ("http", httpbench.run)):
            if name not in only:
                continue
            begin = time.perf_counter()
            section = runner(cfg, console, history)
            section.seconds = time.perf_counter() - begin + load_s
            section.raw["history_load_s"] = load_s
            out[name] = section
            load_s = 0.0  # the load is counted once, in the first section that used it
    return out


def seconds(sections: dict[str, Any]) -> dict[str, float]:
    """Seconds per section."""
    return {name: float(s.seconds) for name, s in sections.items()}
