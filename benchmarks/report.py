"""Figures and sections: print them as rich tables, describe the machine, save the JSON."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apsw
from rich.console import Console
from rich.table import Table

import camvault
from benchmarks.baseline import versions

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the table: camvault's value, the baseline's, and the goal if there is one."""

    name: str
    unit: str
    camvault: float | None
    baseline: float | None
    goal: str = ""
    ok: bool | None = None

    @property
    def ratio(self) -> float | None:
        """camvault / baseline, when both are known."""
        if self.camvault is None or not self.baseline:
            return None
        return self.camvault / self.baseline


@dataclass(slots=True)
class Section:
    """The figures of one section, printed as their own table and saved in the JSON."""

    title: str
    figures: list[Figure]
    notes: list[str]
    raw: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the section as a JSON-ready dict (figures and latencies encode later)."""
        return {
            "title": self.title,
            "seconds": self.seconds,
            "figures": self.figures,
            "notes": self.notes,
            "raw": self.raw,
        }


def at_most(name: str, unit: str, cv: float, bl: float | None, limit: float) -> Figure:
    """A figure whose goal is an upper bound on camvault's value."""
    return Figure(name, unit, cv, bl, f"<= {limit:g} {unit}", cv <= limit)


def ratio_at_least(name: str, unit: str, cv: float, bl: float, limit: float) -> Figure:
    """A figure whose goal is a lower bound on the camvault/baseline ratio."""
    return Figure(name, unit, cv, bl, f"ratio >= {limit:g}", cv / bl >= limit)


def ratio_at_most(name: str, unit: str, cv: float, bl: float, limit: float) -> Figure:
    """A figure whose goal is an upper bound on the camvault/baseline ratio."""
    return Figure(name, unit, cv, bl, f"ratio <= {limit:g}", cv / bl <= limit)


def _fmt(value: float | None, unit: str) -> str:
    """Format a value for its unit."""
    if value is None:
        return "-"
    if unit == "events/s":
        return f"{value:,.0f}"
    if unit == "MiB":
        return f"{value:,.1f}"
    if unit in ("", "resets", "tx", "events", "requests"):
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,.1f}"


def figure_table(title: str, figures: list[Figure]) -> Table:
    """Return a figure | camvault | baseline | ratio | goal table."""
    table = Table(title=title)
    for column in ("figure", "camvault", "baseline", "ratio", "goal"):
        table.add_column(column, justify="left" if column in ("figure", "goal") else "right")
    for f in figures:
        mark = "" if f.ok is None else (" [green]OK[/]" if f.ok else " [red]MISSED[/]")
        unit = f" ({f.unit})" if f.unit else ""
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        table.add_row(
            f.name + unit, _fmt(f.camvault, f.unit), _fmt(f.baseline, f.unit), ratio, f.goal + mark
        )
    return table


def print_section(title: str, figures: list[Figure], notes: list[str], console: Console) -> None:
    """Print one section's table and its notes (multi-line notes keep their lines)."""
    if figures:
        console.print(figure_table(title, figures))
    for note in notes:
        console.print(f"- {note}", highlight=False, markup=False)


def print_tables(
    figures: list[Figure], drivers: list[Figure], notes: list[str], console: Console
) -> None:
    """Print the camvault/baseline table, the driver table and the notes."""
    title = "camvault vs hand-written baselines (sqlite3; bulk: APSW), best of alternated runs"
    console.print(figure_table(title, figures))
    driver_table = Table(
        title="driver: the same raw insert (commit per event) on APSW and sqlean.py"
    )
    for column in ("figure", "apsw", "sqlean.py", "apsw / sqlean.py"):
        driver_table.add_column(column, justify="left" if column == "figure" else "right")
    for f in drivers:
        ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
        driver_table.add_row(
            f"{f.name} ({f.unit})", _fmt(f.camvault, f.unit), _fmt(f.baseline, f.unit), ratio
        )
    console.print(driver_table)
    for note in notes:
        console.print(f"- {note}", highlight=False)


def machine() -> dict[str, Any]:
    """Describe the machine and the software under test."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "camvault"], check=False)
        commit += "+uncommitted camvault changes" if dirty.returncode == 1 else ""
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "camvault": camvault.__version__,
        "git_commit": commit,
        "sqlite_camvault": f"{apsw.sqlite_lib_version()} (apsw {apsw.apsw_version()})",
        "sqlite_baseline": f"{sqlite3.sqlite_version} (stdlib sqlite3)",
        "drivers": versions(),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write the results as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    """Encode dataclasses (figures, latencies) for json.dumps."""
    if isinstance(value, Figure):
        return {**asdict(value), "ratio": value.ratio}
    if hasattr(value, "as_dict"):
        return value.as_dict()
    raise TypeError(f"cannot encode {type(value).__name__}")
