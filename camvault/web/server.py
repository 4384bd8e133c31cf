"""Run the web app under uvicorn: the port is bound before anything is announced.

Binding first turns a busy port into one clear error instead of a "serving" line followed by
uvicorn's own failure. On Ctrl+C uvicorn stops accepting, open event streams end their
responses (see the /api/stream route) and the store is closed by the app's lifespan.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import resource
import signal
import socket
from typing import Any

import uvicorn

from camvault.runtime import settle_heap
from camvault.web.protocol import HEADER_TIMEOUT_S, MAX_HEADER_BYTES, limited
from camvault.web.security import RedactTokens

__all__ = [
    "GRACEFUL_SHUTDOWN_S",
    "KEEP_ALIVE_S",
    "bind_socket",
    "raise_file_limit",
    "redact_access_log",
    "run",
    "server_config",
]

GRACEFUL_SHUTDOWN_S = 15
"""Longest wait for open requests on shutdown before uvicorn cancels them."""
KEEP_ALIVE_S = 5
"""How long an idle keep-alive connection stays open."""


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port``, or raise ValueError with one line saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as uvicorn does
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ValueError(
                f"port {port} is in use on {host} (another camvault serve?); "
                "stop that program or choose another port with --port"
            ) from None
        reason = exc.strerror or str(exc)
        raise ValueError(f"cannot listen on {host} port {port}: {reason}; check --host") from None
    sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    sock.set_inheritable(True)
    return sock


def redact_access_log() -> None:
    """Make uvicorn's access log print ``access_token=[redacted]`` instead of a token."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


def server_config(
    app: Any,
    sock: socket.socket,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    max_header_bytes: int = MAX_HEADER_BYTES,
    header_timeout: float = HEADER_TIMEOUT_S,
) -> uvicorn.Config:
    """Return uvicorn's settings for ``app`` on a bound socket, with camvault's limits.

    Request headers are capped in size and time (see :mod:`camvault.web.protocol`), idle
    keep-alive connections close after :data:`KEEP_ALIVE_S`, and with ``access_log`` each
    request is logged (tokens in query strings redacted).
    """
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        http=limited(max_header_bytes, header_timeout),
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    redact_access_log()
    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return config


def raise_file_limit() -> None:
    """Raise this process's open-file limit to the hard limit: every connection holds one."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(app: Any, sock: socket.socket, *, access_log: bool = False) -> None:
    """Serve ``app`` on a bound socket until Ctrl+C (a normal end) or SIGTERM."""
    config = server_config(app, sock, access_log=access_log)
    raise_file_limit()
    settle_heap()  # the app and its imports stay: full collections skip them from now on
    # uvicorn finishes the requests under way (the store then commits what is queued), and
    # re-raises the signal it stopped on: Ctrl+C or SIGTERM is a normal stop (exit code 0)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, previous)
