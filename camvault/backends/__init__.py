"""Storage engines behind EventStore, chosen by the scheme of the database URL.

A plain path (``events.db``) means the default engine. Each scheme maps to
``"module:Class"``, imported only when a store of that kind is opened, so an engine's
driver is never loaded unless it is used.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Mapping
from typing import Literal, cast
from urllib.parse import urlsplit

from camvault.backends.base import Backend, BackendType, EngineOptions
from camvault.backends.postgresql_options import PostgresOptions
from camvault.backends.sqlite_options import SQLiteOptions
from camvault.errors import DatabaseError

__all__ = [
    "ENGINES",
    "EngineOptions",
    "PostgresOptions",
    "SQLiteOptions",
    "legacy_options",
    "open_backend",
    "redacted",
    "scheme",
]

ENGINES: dict[str, str] = {
    "sqlite": "camvault.backends.sqlite:SQLiteBackend",
    "postgresql": "camvault.backends.postgresql:PostgresBackend",
    "postgres": "camvault.backends.postgresql:PostgresBackend",
}
"""URL scheme -> ``"module:Class"`` of the backend that serves it."""

DEFAULT_SCHEME = "sqlite"
"""The engine of a database given as a plain file path."""


def scheme(target: str | os.PathLike[str]) -> str:
    """Return the engine scheme of a path or URL (a plain path is the default engine)."""
    text = os.fspath(target)
    return urlsplit(text).scheme if "://" in text else DEFAULT_SCHEME


def redacted(target: str | os.PathLike[str]) -> str:
    """Return a path or URL fit to print: a password in the URL is replaced by ``***``."""
    text = os.fspath(target)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return parts._replace(netloc=f"{name}:***@{host}").geturl()


def open_backend(
    target: str | os.PathLike[str], options: EngineOptions | None = None, *, create: bool = True
) -> Backend:
    """Open the engine for a path or URL (``events.db``, ``sqlite:///events.db?durability=full``)."""
    text = os.fspath(target)
    name = scheme(text)
    ref = ENGINES.get(name)
    if ref is None:
        known = ", ".join(f"{s}://" for s in sorted(ENGINES))
        raise DatabaseError(
            f"unsupported database URL scheme {name!r} in {text!r}; use a file path or {known}"
        )
    module, _, attribute = ref.partition(":")
    backend_type = cast(BackendType, getattr(importlib.import_module(module), attribute))
    return backend_type.open(text, options, create=create)


def legacy_options(
    options: EngineOptions | None,
    *,
    busy_timeout: float | None,
    durability: Literal["normal", "full"] | None,
    pragmas: Mapping[str, int | str] | None,
    stacklevel: int = 2,
) -> EngineOptions:
    """Fold EventStore's old SQLite keywords into SQLiteOptions, with a DeprecationWarning."""
    given = [
        name
        for name, value in (
            ("busy_timeout", busy_timeout),
            ("durability", durability),
            ("pragmas", pragmas),
        )
        if value is not None
    ]
    warnings.warn(
        f"EventStore({', '.join(f'{name}=' for name in given)}) is deprecated; give engine "
        "options in the URL (sqlite:///events.db?durability=full) or as "
        "options=SQLiteOptions(...) from camvault.backends",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    base = options if isinstance(options, SQLiteOptions) else SQLiteOptions()
    return SQLiteOptions(
        durability=base.durability if durability is None else durability,
        busy_timeout=base.busy_timeout if busy_timeout is None else busy_timeout,
        checkpoint_pages=base.checkpoint_pages,
        pragmas=base.pragmas if pragmas is None else pragmas,
    )
