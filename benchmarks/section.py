"""One benchmark section's outcome: its table, notes, raw results and how long it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.report import Figure


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
