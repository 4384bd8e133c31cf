"""The exceptions camvault raises, all rooted at :class:`CamvaultError`.

::

    CamvaultError
    ├── InvalidInputError (also ValueError)       bad input; nothing was written
    │   ├── InvalidEventError                     an Event or DetectedObject field
    │   ├── InvalidPersonError                    a Person field
    │   └── InvalidQueryError                     a query argument or cursor
    └── DatabaseError                             the database could not do what was asked
        ├── DatabaseWriteError                    a write failed and was rolled back
        │   └── DatabaseBusyError                 another writer held the lock too long
        ├── MigrationError                        the schema could not be brought up to date
        └── StoreClosedError                      the store was used after close()

Engine errors are translated at the backend boundary with ``raise X from exc``, so the
original driver exception stays available as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CamvaultError",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseWriteError",
    "FieldProblem",
    "InvalidEventError",
    "InvalidInputError",
    "InvalidPersonError",
    "InvalidQueryError",
    "MigrationError",
    "StoreClosedError",
]

FieldProblem = tuple[str, str]
"""A (field, message) pair: ``("detected_objects[0].confidence", "must be <= 1")``."""


class CamvaultError(Exception):
    """Root of every exception camvault raises on purpose."""


class InvalidInputError(CamvaultError, ValueError):
    """Input was rejected before anything was written; ``problems`` names each bad field."""

    def __init__(self, what: str, problems: Sequence[FieldProblem]) -> None:
        self.what = what
        self.problems: list[FieldProblem] = list(problems)
        detail = "; ".join(f"{field}: {msg}" if field else msg for field, msg in self.problems)
        super().__init__(f"invalid {what}: {detail}")

    @property
    def fields(self) -> list[str]:
        """The names of the fields that were wrong, in the order they were reported."""
        return [field for field, _ in self.problems]

    @classmethod
    def from_pydantic(cls, what: str, errors: Sequence[Any]) -> InvalidInputError:
        """Build the error from pydantic's ``ValidationError.errors()`` list."""
        problems = [(_location(err.get("loc", ())), _message(err)) for err in errors]
        return cls(what, problems or [("", "invalid value")])


class InvalidEventError(InvalidInputError):
    """An Event or DetectedObject field is missing or out of range."""


class InvalidPersonError(InvalidInputError):
    """A Person field is missing or out of range."""


class InvalidQueryError(InvalidInputError):
    """A query argument (filter, limit or cursor) is malformed."""


class DatabaseError(CamvaultError):
    """The database could not do what was asked; the message says why and what to do."""


class DatabaseWriteError(DatabaseError):
    """A write failed (disk full, read-only, permission, I/O) and was rolled back whole."""


class DatabaseBusyError(DatabaseWriteError):
    """Another connection held the write lock for longer than the busy timeout."""


class MigrationError(DatabaseError):
    """The schema could not be migrated; the database was left as it was (a backup exists)."""


class StoreClosedError(DatabaseError):
    """The store was used after ``close()``."""


def _location(loc: Sequence[Any]) -> str:
    """Render a pydantic error location as ``field[0].sub``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


def _message(err: Any) -> str:
    """Turn one pydantic error into a short lower-case message."""
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err.get("type") == "extra_forbidden":
        return "unknown field (check the spelling)"
    return msg[:1].lower() + msg[1:]
