"""Who may call the API, and how big a request may be.

Bearer tokens are compared in constant time. With a token configured, writes always need
it and reads need it unless the server is started with ``public_read``; with no token the
server only listens on loopback (see ``require_safe_bind``). An empty or blank token is a
configuration error, never "no security". Browsers cannot set headers on ``<img>`` and
``EventSource`` requests: the dashboard trades its token for a session cookie instead, and
scripts may still put ``?access_token=`` on a GET (it is redacted from access logs).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from camvault.errors import InvalidInputError

__all__ = [
    "SESSION_COOKIE",
    "Auth",
    "BodyLimit",
    "FailedLogins",
    "RedactTokens",
    "SecurityHeaders",
    "check_origins",
    "check_token",
    "is_loopback",
    "require_safe_bind",
    "session_value",
]

log = logging.getLogger("camvault.web")

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


def check_token(token: str | None, field: str = "token") -> str | None:
    """Return the token, or raise InvalidInputError (a ValueError) for an empty or padded one.

    An empty token is a configuration mistake (an unset variable, a blank secret), never a
    wish to switch security off: leaving the token out (None) is how a loopback-only server
    is run. ``field`` names the setting in the error (``token`` or ``read_token``).
    """
    if token is None:
        return None
    option = "--" + field.replace("_", "-")
    variable = "CAMVAULT_" + field.upper()
    if not isinstance(token, str) or not token.strip():
        problem = (
            "must not be empty or blank: an empty token would let anyone in; set a real "
            f"secret ({option} or {variable}), or leave it out"
        )
    elif token != token.strip():
        problem = "must not start or end with whitespace (clients could never send it)"
    else:
        return token
    raise InvalidInputError("server configuration", [(field, problem)])


def check_origins(origins: Sequence[str]) -> list[str]:
    """Return the CORS origins, or raise InvalidInputError naming one that is not an origin."""
    checked = []
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path
            or parts.query
            or parts.fragment
        ):
            problem = f"{origin!r} is not an origin; give scheme://host[:port], e.g. https://ha.lan"
            raise InvalidInputError("server configuration", [("allow_origin", problem)])
        checked.append(origin)
    return checked


def require_safe_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token; raise ValueError saying what to do."""
    if check_token(token) is None and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host} without a token: anyone on the network could read "
            "and write events; pass --token (or set CAMVAULT_TOKEN), or use --host 127.0.0.1"
        )


ROLES = ("read", "write")
"""What a credential allows: ``write`` includes reading."""
SESSION_COOKIE = "camvault_session"
"""The dashboard's cookie: lets ``<img>`` and ``EventSource`` read without a token in the URL."""
SAFE_METHODS = frozenset({"GET", "HEAD"})


def session_value(token: bytes, role: str) -> str:
    """Return the session cookie value for a token: the role and a MAC derived from the token."""
    mac = hmac.new(token, f"camvault-session:{role}".encode(), hashlib.sha256).hexdigest()
    return f"{role}.{mac}"


class FailedLogins:
    """Count wrong credentials per client; past ``limit`` in ``window`` seconds, refuse it."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self._seen[client]
        return times

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: it may now)."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.limit:
            return 0
        return max(1, math.ceil(self.window - (now - times[0])))

    def failed(self, client: str) -> int:
        """Record one wrong credential from ``client``; return how many it sent in the window."""
        now = time.monotonic()
        times = self._recent(client, now)
        times.append(now)
        self._seen[client] = times
        return len(times)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Auth:
    """Checks credentials for read and write routes: a bearer token, or the session cookie.

    ``token`` may read and write; ``read_token`` may only read (a wall tablet). The session
    cookie (set by ``POST /api/session``) is honoured on GET and HEAD only, so a page on another
    site can never make a browser write with it. Wrong credentials are logged, without the
    token, and a client that sends too many is refused for a while (429).
    """

    def __init__(
        self,
        token: str | None,
        *,
        read_token: str | None = None,
        public_read: bool = False,
        failures: FailedLogins | None = None,
    ) -> None:
        checked = check_token(token)
        read_checked = check_token(read_token, "read_token")
        if read_checked is not None and checked is None:
            raise InvalidInputError(
                "server configuration",
                [("read_token", "needs a write token too (--token): without one, anyone writes")],
            )
        if read_checked is not None and read_checked == checked:
            raise InvalidInputError(
                "server configuration",
                [("read_token", "must differ from the write token (--token)")],
            )
        self._tokens: dict[str, bytes] = {}
        if checked is not None:
            self._tokens["write"] = checked.encode()
        if read_checked is not None:
            self._tokens["read"] = read_checked.encode()
        self.public_read = public_read
        self.failures = failures or FailedLogins()

    @property
    def enabled(self) -> bool:
        """True when a token is configured (else the server is loopback-only and open)."""
        return bool(self._tokens)

    def _supplied(self, request: Request) -> tuple[bytes | None, str]:
        """Return the credential a request carries and where it came from."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value:
            return value.strip().encode(), "token"
        if request.method in SAFE_METHODS:
            if token := request.query_params.get("access_token"):
                return token.encode(), "token"
            if cookie := request.cookies.get(SESSION_COOKIE):
                return cookie.encode(), "session"
        return None, "none"

    def token_role(self, token: bytes) -> str | None:
        """Return the role of a token (``write`` or ``read``), or None for a wrong one."""
        role = None
        for name, expected in self._tokens.items():
            if secrets.compare_digest(token, expected):
                role = name
        return role

    def _session_role(self, cookie: bytes) -> str | None:
        role = None
        for name, token in self._tokens.items():
            if secrets.compare_digest(cookie, session_value(token, name).encode()):
                role = name
        return role

    def role(self, request: Request) -> str | None:
        """Return what the request may do (``write``, ``read``), or raise 401/429 for it."""
        if not self._tokens:
            return "write"  # no token: loopback-only server, open to local clients
        client = _client(request)
        wait = self.failures.retry_after(client)
        if wait:
            raise HTTPException(
                status_code=429,
                detail=f"too many wrong tokens from {client}; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        supplied, source = self._supplied(request)
        if supplied is None:
            raise _unauthorized()
        role = self._session_role(supplied) if source == "session" else self.token_role(supplied)
        if role is None:
            count = self.failures.failed(client)
            what = "an expired session cookie" if source == "session" else "a wrong token"
            log.warning(
                "refused %s %s from %s: %s (%d in the last %g s)",
                request.method,
                request.url.path,
                client,
                what,
                count,
                self.failures.window,
            )
            raise _unauthorized()
        return role

    async def read(self, request: Request) -> None:
        """Dependency for read routes."""
        if not self.public_read:
            self.role(request)

    async def write(self, request: Request) -> None:
        """Dependency for write routes: a read-only token is refused with 403."""
        if self.role(request) != "write":
            raise HTTPException(
                status_code=403,
                detail="this token may only read; writes need the write token (--token)",
            )


def _unauthorized() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="a valid bearer token is required (Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )


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
                # close the connection: a client sending an endless body is not read any further
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
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


class SecurityHeaders:
    """ASGI middleware: a strict Content-Security-Policy and the usual hardening headers.

    The dashboard runs no inline script; Swagger UI (``/api/docs``) needs its one inline
    bootstrap script, so that page alone allows inline code.
    """

    STRICT = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    DOCS = (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
        "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to every HTTP response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.DOCS if scope.get("path") == "/api/docs" else self.STRICT

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [
                    (b"content-security-policy", policy.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


_TOKEN_IN_QUERY = re.compile(r"(?i)([?&]access_token=)[^&#\s]*")


class RedactTokens(logging.Filter):
    """Logging filter: replace ``access_token=<value>`` in access-log lines by ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments (and message); never drop a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True
