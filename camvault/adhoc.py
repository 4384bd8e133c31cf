"""Ad-hoc SQL on a store, read-only: ``store.sql()`` and ``camvault sql``.

Python's ``sqlite3`` next to camvault's bundled SQLite in one process do not see each other's
locks, and closing one can drop the other's (SQLite's "How To Corrupt", 2.2.1): opening the
store's file with ``sqlite3`` inside a camvault process can lose or corrupt data. This runs
SQL on camvault's own reader instead, in one read-only snapshot, so it is safe beside
camvault's writers. Other processes (the ``sqlite3`` shell, DB Browser, ``psql``) are fine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from camvault.errors import InvalidQueryError

__all__ = ["SQL_TIMEOUT_S", "SqlResult", "check_sql"]

SQL_TIMEOUT_S = 30.0
"""How long one ad-hoc statement may run before it is stopped."""


@dataclass(frozen=True, slots=True)
class SqlResult:
    """The answer to an ad-hoc query: column names and rows (tuples, in order)."""

    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Iterate over the rows as dicts keyed by column name."""
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=True))

    def __len__(self) -> int:
        return len(self.rows)


def check_sql(query: object, params: object) -> tuple[str, tuple[Any, ...]]:
    """Return the query and its parameters, or raise InvalidQueryError naming the bad one."""
    problems = []
    if not isinstance(query, str) or not query.strip():
        problems.append(("query", "must be a non-empty SQL string"))
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        problems.append(("params", "must be a list or tuple of values for the placeholders"))
    if problems:
        raise InvalidQueryError("sql", problems)
    assert isinstance(query, str) and isinstance(params, Sequence)
    return query, tuple(params)
