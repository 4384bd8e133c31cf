"""The server's own limits: request headers capped in size and in time, so no client can
stall the event loop with a huge header or hold every file descriptor with half-sent requests."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from camvault.web import create_app
from camvault.web.server import bind_socket, server_config

HEADER_LIMIT = 16 * 1024
HEADER_TIMEOUT = 1.5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    config = server_config(
        create_app(tmp_path / "limits.db"),
        sock,
        max_header_bytes=HEADER_LIMIT,
        header_timeout=HEADER_TIMEOUT,
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield url
    instance.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_by_server(sock: socket.socket, within: float) -> float:
    """Wait until the server closes ``sock``; return how long that took."""
    start = time.monotonic()
    sock.settimeout(within)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return time.monotonic() - start


def test_a_huge_header_is_refused_with_431_and_the_server_keeps_serving(server: str) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        started = time.monotonic()
        try:
            while sent < 8 * 1024 * 1024:  # far past the limit; the server stops reading
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 5
    if answer:  # the answer can be lost to a reset when the client is still sending
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
        assert b"request headers are larger than 16384 bytes" in answer
    assert httpx.get(f"{server}/api/healthz", timeout=5).status_code == 200


def test_431_names_the_limit_for_a_header_just_past_it(server: str) -> None:
    r = httpx.get(f"{server}/api/healthz", headers={"X-Big": "a" * (HEADER_LIMIT + 10)})
    assert r.status_code == 431
    assert "larger than 16384 bytes" in r.json()["detail"]
    ok = httpx.get(f"{server}/api/healthz", headers={"X-Fine": "a" * (HEADER_LIMIT // 2)})
    assert ok.status_code == 200


def test_a_large_body_is_not_mistaken_for_large_headers(server: str) -> None:
    events = [{"camera_id": "porch", "llm_description": "x" * 1000} for _ in range(500)]
    r = httpx.post(f"{server}/api/events", json=events, timeout=30)  # ~550 KB in one request
    assert r.status_code == 200 and r.json()["inserted"] == 500


def test_half_sent_requests_are_closed_after_the_header_timeout(server: str) -> None:
    silent = _connect(server)  # connects and sends nothing
    partial = _connect(server)
    partial.sendall(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n")  # never finishes
    trickle = _connect(server)
    trickle.sendall(b"GET /api/healthz HTTP/1.1\r\n")
    time.sleep(HEADER_TIMEOUT / 3)  # a slow client that keeps sending still runs out of time
    trickle.sendall(b"X-A: 1\r\n")
    for sock in (silent, partial, trickle):
        with sock:
            assert _closed_by_server(sock, within=HEADER_TIMEOUT + 5) <= HEADER_TIMEOUT + 2


def test_many_half_sent_requests_neither_block_others_nor_stay_open(server: str) -> None:
    held = []
    for _ in range(300):
        sock = _connect(server)
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n")
        held.append(sock)
    started = time.monotonic()
    assert httpx.get(f"{server}/api/healthz", timeout=5).status_code == 200
    assert time.monotonic() - started < 1
    deadline = time.monotonic() + HEADER_TIMEOUT + 10
    for sock in held:
        with sock:
            _closed_by_server(sock, within=max(0.1, deadline - time.monotonic()))


def test_an_endless_body_gets_413_and_the_connection_is_closed(server: str) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b"[" * (1 << 20))
        answer = b""
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 20 and not closed:
            try:
                sock.sendall(chunk)  # 16 MiB is the limit: keep going well past it
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            while not closed and select.select([sock], [], [], 0)[0]:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    closed = True
                    break
                answer += data
                closed = data == b""
        assert closed, "the server kept reading an endless body"
    if answer:
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
