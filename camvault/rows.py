"""Conversions every backend shares: timestamps as microseconds, trusted model building.

Timestamps are stored as integer microseconds since the Unix epoch (UTC). Rows read back
from camvault's own tables are trusted: they were validated on the way in, so they are
hydrated without validating again (the read hot path). How an engine lays an event out in
columns is that engine's business (``backends/sqlite_rows.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["EPOCH", "from_micros", "to_micros", "trusted"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_M = TypeVar("_M", bound=BaseModel)
_set = object.__setattr__


def to_micros(value: datetime) -> int:
    """Convert an aware datetime to integer microseconds since the epoch."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Convert integer microseconds since the epoch to an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=value)


def trusted(cls: type[_M], values: dict[str, Any]) -> _M:
    """Build a model from already-validated values without validating again."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
