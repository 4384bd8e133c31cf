"""PostgresOptions: the PostgreSQL engine's settings, from code or from a database URL's query.

A ``postgresql://`` URL's query mixes camvault's options (``schema``, ``pool_size``,
``statement_timeout``, ``lock_timeout``, ``connect_timeout``, ``thumbnails``) with libpq's
own parameters (``sslmode``, ``application_name``, ...), which pass through to the driver.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from camvault.backends.base import EngineOptions
from camvault.errors import FieldProblem, InvalidInputError

__all__ = ["PostgresOptions"]

_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,53}$")
"""At most 54 characters: commits notify channel ``camvault_<schema>``, 63 at most."""


@dataclass(frozen=True, slots=True)
class PostgresOptions(EngineOptions):
    """How camvault uses a PostgreSQL database: schema, pool, timeouts, thumbnail storage."""

    schema: str = "camvault"
    """The PostgreSQL schema holding camvault's tables (created if absent)."""
    pool_size: int = 8
    """Most connections this store holds open at once."""
    statement_timeout: float = 30.0
    """Seconds one statement may run before it is cancelled (0: no limit)."""
    lock_timeout: float = 10.0
    """Seconds a statement waits for a lock before giving up (0: no limit)."""
    connect_timeout: float = 5.0
    """Seconds to wait for the server when connecting."""
    thumbnails: Literal["database", "files"] = "database"
    """Where thumbnails live: in the database (every instance serves them) or in files."""
    prepared_statements: bool = True
    """Prepare statements on first use; false behind a pooler that cannot keep them."""
    thumbnails_dir: str | None = None
    """The folder of thumbnail files (``thumbnails=files``); default ./camvault-thumbnails/."""

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not isinstance(self.schema, str) or not _SCHEMA.match(self.schema):
            problems.append(
                ("schema", "must be a lower-case name of letters, digits and _ (at most 54)")
            )
        size = self.pool_size
        if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 1000:
            problems.append(("pool_size", "must be a whole number from 2 to 1000"))
        for name in ("statement_timeout", "lock_timeout", "connect_timeout"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                problems.append((name, "must be a number of seconds >= 0"))
        if self.thumbnails not in ("database", "files"):
            problems.append(("thumbnails", "must be 'database' or 'files'"))
        if problems:
            raise InvalidInputError("PostgreSQL options", problems)

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], base: PostgresOptions | None = None
    ) -> tuple[PostgresOptions, dict[str, str]]:
        """Split a URL's query into camvault's options (over ``base``) and libpq's parameters."""
        base = base or cls()
        problems: list[FieldProblem] = []
        changes: dict[str, object] = {}
        passthrough: dict[str, str] = {}
        for name, value in query.items():
            if name in ("schema", "thumbnails", "thumbnails_dir"):
                changes[name] = value
            elif name == "prepared_statements":
                if value not in ("true", "false"):
                    problems.append((name, "must be true or false"))
                changes[name] = value == "true"
            elif name == "pool_size":
                changes[name] = _number(name, value, int, problems)
            elif name in ("statement_timeout", "lock_timeout", "connect_timeout"):
                changes[name] = _number(name, value, float, problems)
            else:
                passthrough[name] = value
        if problems:
            raise InvalidInputError("database URL", problems)
        return replace(base, **changes), passthrough  # type: ignore[arg-type]


def _number(
    name: str, value: str, kind: type[int] | type[float], problems: list[FieldProblem]
) -> float:
    """Parse a URL option as a number, or note the problem and return 0."""
    try:
        return kind(value)
    except ValueError:
        problems.append((name, f"must be a {'whole number' if kind is int else 'number'}"))
        return 0
