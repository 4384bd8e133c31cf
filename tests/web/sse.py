"""An EventSource-like client that speaks ASGI to the app in process, for stream tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI

WAIT = 30  # seconds: only ever reached when a test is about to fail


def http_scope(
    method: str, path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    """Return the ASGI scope of one HTTP request to the app in process."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers or [],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }


class SSEClient:
    """One EventSource-like client speaking ASGI to the app (the response never ends)."""

    def __init__(self, app: FastAPI, query: str = "", headers: dict[str, str] | None = None):
        self._app = app
        self._query = query.encode()
        self._headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self._started = asyncio.Event()
        self._disconnect = asyncio.Event()
        self._buffer = ""
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.status = 0

    async def open(self) -> SSEClient:
        async def receive() -> dict[str, Any]:
            await self._disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self._started.set()
            elif message["type"] == "http.response.body":
                await self._chunks.put(message.get("body", b""))

        scope = http_scope("GET", "/api/stream", self._query, self._headers)
        self._task = asyncio.create_task(self._app(scope, receive, send))
        await asyncio.wait_for(self._started.wait(), WAIT)  # the start position is fixed now
        return self

    async def events(self, n: int) -> list[tuple[int, str]]:
        """The next ``n`` events as (SSE id, event_id); fails after WAIT seconds in all."""
        return [(position, data["event_id"]) for position, data in await self.messages(n)]

    async def messages(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        """The next ``n`` events as (SSE id, the event's JSON); fails after WAIT seconds in all.

        One deadline for the whole call: keep-alive pings must not keep a missing event's
        test waiting forever.
        """
        out: list[tuple[int, dict[str, Any]]] = []
        deadline = asyncio.get_running_loop().time() + WAIT
        while len(out) < n:
            while "\r\n\r\n" not in self._buffer:
                left = deadline - asyncio.get_running_loop().time()
                chunk = await asyncio.wait_for(self._chunks.get(), max(left, 0))
                self._buffer += chunk.decode()
            message, self._buffer = self._buffer.split("\r\n\r\n", 1)
            fields = dict(line.split(": ", 1) for line in message.splitlines() if ": " in line)
            if fields.get("event") == "event":
                out.append((int(fields["id"]), json.loads(fields["data"])))
        return out

    async def close(self) -> None:
        self._disconnect.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, WAIT)
