"""Storage engines behind EventStore, chosen from the database path or URL."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

from camvault.backends.base import Backend
from camvault.errors import DatabaseError

__all__ = ["open_backend"]


def open_backend(target: str | os.PathLike[str], **options: Any) -> Backend:
    """Open the engine for a path or URL (``events.db``, ``sqlite:///events.db``)."""
    text = os.fspath(target)
    scheme = urlsplit(text).scheme if "://" in text else ""
    if scheme in ("", "sqlite"):
        from camvault.backends.sqlite import SQLiteBackend

        path = unquote(text.removeprefix("sqlite://")) if scheme else text
        if scheme and path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db is absolute
        if not path or path == ":memory:":
            raise DatabaseError(
                "camvault needs a database file (thumbnails and readers live beside it); "
                "give a path such as 'events.db'"
            )
        return SQLiteBackend(path, **options)
    raise DatabaseError(
        f"unsupported database URL scheme {scheme!r} in {text!r}; use a file path or sqlite:///path"
    )
