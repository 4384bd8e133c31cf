"""`camvault serve` in a subprocess: uvicorn on a free loopback port, stopped on exit."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
STARTUP_S = 60.0
STOP_S = 30.0
SERVE = (
    "import sys, uvicorn\n"
    "from camvault.web.app import create_app\n"
    "uvicorn.run(create_app(sys.argv[1]), host=sys.argv[2], port=int(sys.argv[3]),\n"
    "            log_level='warning', access_log=False)\n"
)


@dataclass(frozen=True, slots=True)
class Server:
    """A running server: its base URL and process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the server process has used so far; None off Linux."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / ticks


def free_port() -> int:
    """Return a port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[-2000:] or "(no output)"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /api/healthz until it answers 200, the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/api/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {STARTUP_S:g} s:\n{_tail(log)}")


@contextlib.contextmanager
def serving(db: Path) -> Iterator[Server]:
    """Serve ``db`` (no token) and yield the server; it is stopped afterwards."""
    port = free_port()
    log = db.with_name(f"{db.name}.server.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(db), HOST, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://{HOST}:{port}"
            _wait_healthy(url, proc, log)
            yield Server(url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_S)
