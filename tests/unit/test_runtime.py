"""Long-running commands freeze their start-up objects, so full collections skip them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from camvault.cli import app
from camvault.web import server

SETTLED_CHILD = """
import gc, json
from camvault.runtime import settle_heap
kept = [[i] for i in range(50_000)]  # 50,001 objects that live as long as the process
before = gc.get_threshold()
cycle = []
cycle.append(cycle)  # garbage by the time settle_heap runs: collected, never frozen
del cycle
frozen = settle_heap()
tracked = gc.get_objects()
print(json.dumps({
    "frozen": frozen,
    "kept_tracked": any(o is kept for o in tracked) or any(o is kept[0] for o in tracked),
    "garbage_left": gc.collect(),
    "thresholds": [before, gc.get_threshold()],
}))
"""


def test_settle_heap_freezes_what_exists_and_collects_garbage_first() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SETTLED_CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frozen"] >= 50_001
    assert report["kept_tracked"] is False  # no longer walked by any collection
    assert report["garbage_left"] == 0
    (young, middle, old), after = report["thresholds"]
    assert young == 700  # Python's default, for comparison
    assert after == [50_000, middle, old]  # the young collected 70 times less often


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "mqtt", "--mqtt", "mqtt://127.0.0.1:1"],
        ["ingest", "frigate", "--mqtt", "mqtt://127.0.0.1:1"],
    ],
)
def test_ingest_commands_settle_before_they_run(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    monkeypatch.setattr("camvault.cli_ingest.settle_heap", lambda: order.append("settle"))

    def run(main: Any) -> None:
        main.close()  # the consumer is not started: only the order is under test
        order.append("run")

    monkeypatch.setattr("camvault.cli_ingest.asyncio.run", run)
    result = CliRunner().invoke(app, [*command, "--db", str(tmp_path / "e.db")])
    assert result.exit_code == 0, result.output
    assert order == ["settle", "run"]


def test_serve_settles_before_it_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    class Server:
        def __init__(self, config: Any) -> None:
            pass

        def run(self, sockets: Any) -> None:
            order.append("serve")

    monkeypatch.setattr(server, "settle_heap", lambda: order.append("settle"))
    monkeypatch.setattr(server.uvicorn, "Server", Server)
    with socket.socket() as sock:
        server.run(object(), sock)
    assert order == ["settle", "serve"]
