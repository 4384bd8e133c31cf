"""Versioned SQL migrations, one folder per engine, applied in order on open.

Files are named ``NNNN_what_it_does.sql``; versions start at 1 and have no gaps. A migration
may add tables, columns, indexes and triggers but never remove data: files that drop tables
or columns, delete or truncate (outside a trigger body) are refused when loaded.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from camvault.errors import MigrationError

__all__ = ["Migration", "load_migrations"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DESTRUCTIVE = re.compile(r"\b(DROP\s+TABLE|DROP\s+COLUMN|DELETE\s+FROM|TRUNCATE)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")
_TRIGGER = re.compile(r"\bCREATE\s+TRIGGER\b.*?\bEND\s*;", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, name, SQL text and checksum."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the SQL text, recorded when the migration is applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(engine: str, folder: Path | Traversable | None = None) -> list[Migration]:
    """Return the migrations of ``engine`` in version order, checking names and safety."""
    root = folder if folder is not None else resources.files(__package__).joinpath(engine)
    found: list[Migration] = []
    for entry in root.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        sql = entry.read_text(encoding="utf-8")
        # a trigger body only defines what later writes do, so it is not checked
        destructive = _DESTRUCTIVE.search(_TRIGGER.sub("", _COMMENT.sub("", sql)))
        if destructive:
            raise MigrationError(
                f"migration {entry.name} would remove data ({destructive.group(0)}); "
                "migrations may only add"
            )
        found.append(Migration(int(match.group(1)), match.group(2), sql))
    found.sort(key=lambda m: m.version)
    for first, second in itertools.pairwise(found):
        if first.version == second.version:
            raise MigrationError(
                f"migrations {first.version:04d}_{first.name}.sql and "
                f"{second.version:04d}_{second.name}.sql share version {first.version:04d}"
            )
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration versions must run 1, 2, 3 ... without gaps; "
                f"expected {expected:04d}, found {migration.version:04d}_{migration.name}.sql"
            )
    return found
