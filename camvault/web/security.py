"""Who may call the API, and how big a request may be.

Bearer tokens are compared in constant time. With a token configured, writes always need
it and reads need it unless the server is started with ``public_read``; with no token the
server only listens on loopback (see ``require_safe_bind``). An empty or blank token is a
configuration error, never "no security". Browsers cannot set headers on
``<img>`` and ``EventSource`` requests, so GET requests may also carry ``?access_token=``.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException, Request

from camvault.errors import InvalidInputError

__all__ = ["Auth", "BodyLimit", "check_token", "is_loopback", "require_safe_bind"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """Return True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(token: str | None) -> str | None:
    """Return the token, or raise InvalidInputError (a ValueError) for an empty or padded one.

    An empty token is a configuration mistake (an unset variable, a blank secret), never a
    wish to switch security off: leaving the token out (None) is how a loopback-only server
    is run.
    """
    if token is None:
        return None
    if not isinstance(token, str) or not token.strip():
        problem = (
            "must not be empty or blank: an empty token would let anyone write; set a real "
            "secret (--token or CAMVAULT_TOKEN), or give none at all to serve on loopback only"
        )
    elif token != token.strip():
        problem = "must not start or end with whitespace (clients could never send it)"
    else:
        return token
    raise InvalidInputError("server configuration", [("token", problem)])


def require_safe_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token; raise ValueError saying what to do."""
    if check_token(token) is None and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host} without a token: anyone on the network could read "
            "and write events; pass --token (or set CAMVAULT_TOKEN), or use --host 127.0.0.1"
        )


class Auth:
    """Checks bearer tokens for read and write routes."""

    def __init__(self, token: str | None, *, public_read: bool = False) -> None:
        checked = check_token(token)
        self._token = None if checked is None else checked.encode()
        self.public_read = public_read

    def _supplied(self, request: Request) -> bytes | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip().encode()
        if request.method == "GET" and (token := request.query_params.get("access_token")):
            return token.encode()
        return None

    def _check(self, request: Request) -> None:
        if self._token is None:
            return  # no token: loopback-only server, open to local clients
        supplied = self._supplied(request)
        if supplied is None or not secrets.compare_digest(supplied, self._token):
            raise HTTPException(
                status_code=401,
                detail="a valid bearer token is required (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def read(self, request: Request) -> None:
        """Dependency for read routes."""
        if not self.public_read:
            self._check(request)

    async def write(self, request: Request) -> None:
        """Dependency for write routes."""
        self._check(request)


class BodyLimit:
    """ASGI middleware: answer 413 to a request body larger than ``max_bytes``."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"detail": f"request body is larger than {self.max_bytes} bytes; send less per request"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body; answer 413 past the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send)


class _TooLarge(Exception):
    """A streamed body went past the limit."""
