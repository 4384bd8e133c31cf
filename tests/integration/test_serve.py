"""`camvault serve` as users run it: a child process, a real port, Ctrl+C with a stream open."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from camvault import EventStore
from camvault.web.server import bind_socket

from .conftest import CHILD_TIMEOUT, PYTHON, child_env, run_cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_args(db: Path, port: int) -> list[str]:
    return [PYTHON, "-m", "camvault", "serve", "--db", str(db), "--port", str(port)]


@contextlib.contextmanager
def serving(args: list[str], cwd: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """Start ``camvault serve`` as a child (pipes as text); always reaped at the end."""
    child = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(COLUMNS="200"),
        cwd=cwd,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        yield child
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on which another program is listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_busy_port_is_one_line_and_nothing_is_served(tmp_path: Path, busy_port: int) -> None:
    done = subprocess.run(
        serve_args(tmp_path / "s.db", busy_port),
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert done.returncode != 0
    assert "serving" not in done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: port {busy_port} is in use on 127.0.0.1 (another camvault serve?); "
        "stop that program or choose another port with --port"
    ]


def test_ctrl_c_with_an_open_event_stream_shuts_down_cleanly(tmp_path: Path) -> None:
    port = free_port()
    with serving(serve_args(tmp_path / "s.db", port)) as child:
        first = child.stdout.readline()  # printed once the port is bound and listening
        assert f"serving {tmp_path / 's.db'} at http://127.0.0.1:{port}/" in first
        url = f"http://127.0.0.1:{port}/api/stream"
        with httpx.Client(timeout=CHILD_TIMEOUT) as client, client.stream("GET", url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            child.send_signal(signal.SIGINT)
            body = b"".join(stream.iter_raw())  # ends cleanly: the response was completed
        assert body == b"" or body.startswith(b":")
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        errors = child.stderr.read()
        assert "ASGI callable returned without completing response" not in errors
        assert "Traceback" not in errors and "Error" not in errors, errors


def test_bind_socket_says_why_it_cannot_listen(busy_port: int) -> None:
    with pytest.raises(ValueError, match=f"^port {busy_port} is in use on 127.0.0.1"):
        bind_socket("127.0.0.1", busy_port)
    with pytest.raises(ValueError, match=r"^cannot listen on 203\.0\.113\.9 port \d+: .*--host"):
        bind_socket("203.0.113.9", free_port())  # a documentation address no machine has
    sock = bind_socket("127.0.0.1", 0)
    with sock, socket.create_connection(sock.getsockname()[:2], timeout=CHILD_TIMEOUT):
        pass  # listening as soon as it is bound: clients wait for the server to accept


def test_serve_opens_a_url_with_engine_options(tmp_path: Path) -> None:
    port = free_port()
    url = "sqlite:///s.db?durability=full&busy_timeout=2"
    args = [PYTHON, "-m", "camvault", "serve", "--db", url, "--port", str(port)]
    with serving(args, cwd=tmp_path) as child:
        first = child.stdout.readline()  # printed once the port is bound and listening
        assert f"serving {url} at http://127.0.0.1:{port}/" in first
        base = f"http://127.0.0.1:{port}"
        event = {"camera_id": "gate", "event_id": "u1", "timestamp": "2026-11-21T18:04:05Z"}
        with httpx.Client(base_url=base, timeout=CHILD_TIMEOUT) as client:
            assert client.get("/api/healthz").json()["engine"] == "sqlite"
            assert client.post("/api/events", json=event).status_code == 200
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        assert "Traceback" not in child.stderr.read()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["s.db"]  # the URL named the file
    with EventStore(tmp_path / "s.db") as store:
        assert store.get_event("u1") is not None


def test_the_access_log_never_shows_a_token(tmp_path: Path) -> None:
    port = free_port()
    secret = "tok-9d8e7f-do-not-log"
    with serving(
        [*serve_args(tmp_path / "s.db", port), "--token", secret, "--access-log"]
    ) as child:
        child.stdout.readline()  # serving
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=CHILD_TIMEOUT) as client:
            assert client.get(f"{base}/api/events?access_token={secret}").status_code == 200
            assert (
                client.get(f"{base}/api/events?limit=2&access_token={secret}x").status_code == 401
            )
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        log = child.stdout.read() + child.stderr.read()  # uvicorn logs requests on stdout
        assert "GET /api/events?access_token=[redacted] HTTP/1.1" in log, log
        assert "GET /api/events?limit=2&access_token=[redacted] HTTP/1.1" in log, log
        assert secret not in log


def test_a_read_token_without_a_write_token_is_one_line(tmp_path: Path) -> None:
    db, port = str(tmp_path / "s.db"), str(free_port())
    done = run_cli("serve", "--db", db, "--port", port, "--read-token", "tablet")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: invalid server configuration: read_token: needs a write token too (--token): "
        "without one, anyone writes"
    ]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_answers_every_write_under_way_and_keeps_it(
    tmp_path: Path, stop: signal.Signals
) -> None:
    import asyncio
    import sqlite3

    port = free_port()
    answers: dict[str, int | str] = {}
    at_stop: list[int] = []

    async def post_many() -> None:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=CHILD_TIMEOUT, limits=limits
        ) as client:

            async def post(i: int) -> None:
                event = {"camera_id": "gate", "event_id": f"g{i:04d}", "llm_description": "x"}
                try:
                    r = await client.post("/api/events", json=event)
                    answers[event["event_id"]] = r.status_code
                except httpx.TransportError as exc:
                    answers[event["event_id"]] = type(exc).__name__

            tasks = [asyncio.create_task(post(i)) for i in range(400)]
            while len(answers) < 50:  # the stop arrives with writes under way
                await asyncio.sleep(0.001)
            child.send_signal(stop)
            at_stop.append(sum(code == 200 for code in answers.values()))
            await asyncio.gather(*tasks)

    with serving(serve_args(tmp_path / "s.db", port)) as child:
        child.stdout.readline()  # serving
        asyncio.run(post_many())
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        assert "Traceback" not in child.stderr.read()
    conn = sqlite3.connect(f"file:{tmp_path / 's.db'}?mode=ro", uri=True)
    stored = {row[0] for row in conn.execute("SELECT event_id FROM events")}
    conn.close()
    answered = {event_id for event_id, code in answers.items() if code == 200}
    assert len(answered) >= 50
    assert len(answered) > at_stop[0]  # writes under way at the stop were finished, answered
    assert answered <= stored  # every write that was answered is kept
    # the others were refused at the door, or raced the close of an idle keep-alive
    # connection; no answer is anything but a success
    assert all(code == 200 or isinstance(code, str) for code in answers.values())
    assert stored <= set(answers)  # nothing stored that was not sent
