"""HTTP/1.1 over httptools with limits uvicorn does not set: header size and header time.

uvicorn's httptools protocol accepts request headers of any size and waits for them forever:
one client sending a 128 MiB header stalls the event loop, and thousands of half-sent requests
hold every file descriptor. This protocol answers ``431`` once a request's headers pass
:data:`MAX_HEADER_BYTES`, and closes a connection whose headers are not complete within
:data:`HEADER_TIMEOUT_S` of their first byte (or of the connection). Bodies are limited
elsewhere (:class:`~camvault.web.security.BodyLimit`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["HEADER_TIMEOUT_S", "MAX_HEADER_BYTES", "GuardedHttpTools", "limited"]

MAX_HEADER_BYTES = 64 * 1024
"""The most a request line plus headers may take (browsers send a few KiB)."""
HEADER_TIMEOUT_S = 10.0
"""How long a client may take to send a request's headers."""


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit and a header timeout."""

    max_header_bytes = MAX_HEADER_BYTES
    header_timeout = HEADER_TIMEOUT_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0  # raw bytes received since the request began
        self._parsed_bytes = 0  # request line and headers as parsed
        self._in_headers = True
        self._refused = False
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        """Close a connection whose request headers did not arrive in time."""
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection with the header clock running."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the header clock."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; answer 431 once unfinished headers pass the limit."""
        if self._refused:
            return
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > self.max_header_bytes:
            self._refuse_headers()

    def _refuse_headers(self) -> None:
        """Answer 431 and close; whatever else the client sends is ignored."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        self._disarm()
        body = (
            b'{"detail":"request headers are larger than '
            + str(self.max_header_bytes).encode()
            + b' bytes; send fewer or shorter headers"}'
        )
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()

    def on_message_begin(self) -> None:
        """Start counting and timing the headers of a new request."""
        if self._refused:
            return
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        self._parsed_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        """Count the request target with the headers."""
        self._parsed_bytes += len(url)
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Count each header (name, value, separators)."""
        self._parsed_bytes += len(name) + len(value) + 4
        if not self._refused:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Stop counting and timing the headers; refuse them if they are too large."""
        if self._refused:
            return
        self._in_headers = False
        self._disarm()
        if self._parsed_bytes > self.max_header_bytes:
            self._refuse_headers()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Pass the body on, unless the request was refused."""
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        """End the request, unless it was refused."""
        if not self._refused:
            super().on_message_complete()


def limited(max_header_bytes: int, header_timeout: float) -> type[GuardedHttpTools]:
    """Return the protocol class with other limits (tests use short ones)."""
    return type(
        "GuardedHttpTools",
        (GuardedHttpTools,),
        {"max_header_bytes": max_header_bytes, "header_timeout": header_timeout},
    )
