"""`camvault serve` refuses to listen beyond loopback without a token: a clear error, exit 1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .conftest import run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "camera-box.local"])
def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path, host: str) -> None:
    db = tmp_path / "events.db"
    done = run_cli("serve", "--db", str(db), "--host", host, "--port", str(_free_port()))
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    error = done.stderr.strip()
    assert error.startswith(f"error: refusing to listen on {host} without a token"), error
    assert "--token" in error and "--host 127.0.0.1" in error  # says what to do instead
    assert "Traceback" not in done.stderr + done.stdout
    assert len(error.splitlines()) == 1
    assert not db.exists()  # refused before anything was opened or made


def test_public_read_does_not_lift_the_refusal(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    args = ("--host", "0.0.0.0", "--port", str(_free_port()), "--public-read")
    done = run_cli("serve", "--db", str(db), *args)
    assert done.returncode == 1 and "without a token" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not db.exists()
