"""Event ids in URL paths: a percent-encoded ``/`` inside an id stays part of the id.

ASGI servers decode the path before routing, so ``/api/events/frigate%2F17.1/thumbnail``
would read as the id ``frigate`` followed by more path (and an id ending in
``/thumbnail`` as a thumbnail request). :class:`EncodedSlashes` re-reads such a path from
the raw bytes and turns each encoded slash into a character no event id can contain (NUL,
not printable); the ``event_id`` path convertor turns it back into ``/``. Routes write
``{event_id:event_id}``; ids are always sent percent-encoded (``encodeURIComponent``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar
from urllib.parse import quote, unquote

from starlette.convertors import Convertor, register_url_convertor

__all__ = ["EncodedSlashes", "EventIdConvertor", "event_path"]

_SLASH = "\x00"
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def event_path(event_id: str, suffix: str = "") -> str:
    """Return the API path of an event (``suffix`` e.g. ``/thumbnail``), its id encoded."""
    return f"/api/events/{quote(event_id, safe='')}{suffix}"


class EventIdConvertor(Convertor[str]):
    """One path segment holding an event id; encoded slashes come back as ``/``."""

    regex: ClassVar[str] = "[^/]+"

    def convert(self, value: str) -> str:
        """Return the event id of a path segment."""
        return value.replace(_SLASH, "/")

    def to_string(self, value: str) -> str:
        """Return the path segment of an event id."""
        return quote(value, safe="")


register_url_convertor("event_id", EventIdConvertor())


class EncodedSlashes:
    """ASGI middleware: keep ``%2F`` inside a path segment from splitting the segment."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Route on the raw path's segments when it holds an encoded slash."""
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%2f" in raw.lower():
            segments = raw.split(b"?", 1)[0].decode("latin-1").split("/")
            path = "/".join(unquote(s).replace("/", _SLASH) for s in segments)
            scope = {**scope, "path": path}
        await self.app(scope, receive, send)
