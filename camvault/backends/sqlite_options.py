"""SQLiteOptions: the SQLite engine's settings, from code or from a database URL's query."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from camvault.backends.base import EngineOptions
from camvault.errors import FieldProblem, InvalidInputError

__all__ = ["SQLiteOptions"]

_N = TypeVar("_N", int, float)

_PRAGMA = "pragma."
"""URL options named ``pragma.<name>`` set a SQLite pragma on every connection."""


@dataclass(frozen=True, slots=True)
class SQLiteOptions(EngineOptions):
    """How camvault runs a SQLite file: durability, lock waits, WAL checkpoints, pragmas."""

    durability: Literal["normal", "full"] = "normal"
    """``normal``: a power cut may lose the last commits, never corrupt; ``full``: fsync each."""
    busy_timeout: float = 5.0
    """Seconds a write waits for another process's lock before DatabaseBusyError."""
    checkpoint_pages: int = 2000
    """WAL pages that make the background thread copy the log into the database."""
    pragmas: Mapping[str, int | str] = field(default_factory=dict)
    """Extra ``PRAGMA name = value`` statements run on every connection."""

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if self.durability not in ("normal", "full"):
            problems.append(("durability", "must be 'normal' or 'full'"))
        if (
            isinstance(self.busy_timeout, bool)
            or not isinstance(self.busy_timeout, int | float)
            or not math.isfinite(self.busy_timeout)
            or self.busy_timeout < 0
        ):
            problems.append(("busy_timeout", "must be a number of seconds >= 0"))
        if (
            isinstance(self.checkpoint_pages, bool)
            or not isinstance(self.checkpoint_pages, int)
            or self.checkpoint_pages < 1
        ):
            problems.append(("checkpoint_pages", "must be a whole number >= 1"))
        if not isinstance(self.pragmas, Mapping):
            problems.append(("pragmas", "must be a mapping of pragma names to values"))
        if problems:
            raise InvalidInputError("SQLite options", problems)

    @property
    def synchronous(self) -> str:
        """The ``PRAGMA synchronous`` level that gives this durability."""
        return "FULL" if self.durability == "full" else "NORMAL"

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], base: SQLiteOptions | None = None
    ) -> SQLiteOptions:
        """Apply a URL's options (``?durability=full&busy_timeout=2``) over ``base``."""
        base = base or cls()
        problems: list[FieldProblem] = []
        durability = base.durability
        busy_timeout = base.busy_timeout
        checkpoint_pages = base.checkpoint_pages
        pragmas = dict(base.pragmas)
        for name, value in query.items():
            if name == "durability":
                durability = value  # type: ignore[assignment]  # checked by __post_init__
            elif name == "busy_timeout":
                busy_timeout = _number(name, value, float, problems)
            elif name == "checkpoint_pages":
                checkpoint_pages = _number(name, value, int, problems)
            elif name.startswith(_PRAGMA) and len(name) > len(_PRAGMA):
                pragma = name[len(_PRAGMA) :]
                pragmas[pragma] = _pragma_value(value)
            else:
                problems.append((name, "unknown option"))
        if any(message == "unknown option" for _, message in problems):
            problems.append(("", f"a sqlite:// URL takes {', '.join(KNOWN)}"))
        if problems:
            raise InvalidInputError("database URL", problems)
        return cls(durability, busy_timeout, checkpoint_pages, pragmas)


KNOWN = ("durability", "busy_timeout", "checkpoint_pages", "pragma.<name>")
"""The option names a sqlite:// URL accepts."""


def _number(name: str, value: str, kind: type[_N], problems: list[FieldProblem]) -> _N:
    """Parse a URL option as a number, or note the problem and return a placeholder."""
    try:
        return kind(value)
    except ValueError:
        problems.append((name, f"must be a {'whole number' if kind is int else 'number'}"))
        return kind(0)


def _pragma_value(value: str) -> int | str:
    """Read a pragma value from a URL: a whole number when it is one, else the text."""
    try:
        return int(value)
    except ValueError:
        return value
