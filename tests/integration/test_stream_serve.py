"""`camvault serve` as users run it, with several live streams open while events are posted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from pathlib import Path

import httpx

from .conftest import CHILD_TIMEOUT, child_env
from .test_serve import free_port, serve_args

CLIENTS = 3


async def read_events(response: httpx.Response, n: int) -> list[tuple[int, str]]:
    """The first ``n`` events of an open stream as (SSE id, event_id)."""
    out: list[tuple[int, str]] = []
    position = -1
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            position = int(line[3:].strip())
        elif line.startswith("data:"):
            out.append((position, json.loads(line[5:])["event_id"]))
            if len(out) == n:
                break
    return out


async def test_several_stream_clients_of_a_real_server_each_see_every_event_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    child = subprocess.Popen(
        serve_args(tmp_path / "s.db", port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(COLUMNS="200"),
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        assert "serving" in child.stdout.readline()  # printed once the port is listening
        base = f"http://127.0.0.1:{port}"
        batches = [[f"cam{b}-{n}" for n in range(size)] for b, size in enumerate((1, 5, 1, 12))]
        wanted = [name for batch in batches for name in batch]
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(httpx.AsyncClient(timeout=CHILD_TIMEOUT))
            streams = []
            for _ in range(CLIENTS):  # each is at the end of the database once its 200 is in
                response = await stack.enter_async_context(
                    client.stream("GET", f"{base}/api/stream")
                )
                assert response.status_code == 200
                streams.append(response)
            readers = [asyncio.create_task(read_events(s, len(wanted))) for s in streams]
            for batch in batches:
                body = [{"event_id": name, "camera_id": "gate"} for name in batch]
                posted = await client.post(f"{base}/api/events", json=body)
                assert posted.json()["inserted"] == len(batch)
            seen = await asyncio.wait_for(asyncio.gather(*readers), CHILD_TIMEOUT)
        for got in seen:
            assert [name for _, name in got] == wanted
            assert got == seen[0]  # the same positions for everyone
        positions = [p for p, _ in seen[0]]
        assert positions == sorted(set(positions)) and positions[0] > 0  # ids resume a stream
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=CHILD_TIMEOUT) == 0
        assert "Traceback" not in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
