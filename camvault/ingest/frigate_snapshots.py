"""Frigate snapshots saved as camvault thumbnails, retried until Frigate answers.

The pending set lives in memory and is rebuilt from the store on start (Frigate events that
have a snapshot and no thumbnail yet), so retries survive a restart without a side file.
While Frigate's HTTP API is down the fetcher waits with capped exponential backoff; events
keep being stored meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from camvault.ingest.frigate_http import FrigateApi, FrigateUnavailable
from camvault.models import Event, utcnow

if TYPE_CHECKING:
    from camvault.aio import AsyncEventStore
    from camvault.ingest.frigate import FrigateStats

__all__ = ["Snapshots", "wants_snapshot"]

log = logging.getLogger("camvault.ingest.frigate")

MISSING_TRIES = 5
"""How often a snapshot Frigate answers 404 for is asked again before giving up."""
LOOKBACK = timedelta(days=10)
"""How far back a restart looks for events still waiting for their snapshot (Frigate keeps
snapshots ten days by default)."""


def wants_snapshot(event: Event) -> bool:
    """Tell whether Frigate said it has a snapshot for this event (kept in its metadata)."""
    raw = event.metadata.get("frigate")
    return isinstance(raw, dict) and raw.get("has_snapshot") is True


class Snapshots:
    """Fetch the snapshots of events, a few at a time, and save them as thumbnails."""

    def __init__(
        self,
        store: AsyncEventStore,
        api: FrigateApi,
        stats: FrigateStats,
        *,
        backoff: tuple[float, float] = (1.0, 30.0),
        concurrency: int = 4,
    ) -> None:
        self.store = store
        self.api = api
        self.stats = stats
        self.backoff = backoff
        self.concurrency = max(1, concurrency)
        self.pending: dict[str, int] = {}  # event id -> 404 answers so far
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    def want(self, event_id: str) -> None:
        """Ask for the snapshot of ``event_id`` (once, however often it is asked)."""
        if event_id not in self.pending:
            self.pending[event_id] = 0
            self.queue.put_nowait(event_id)
            self.stats.snapshots_pending = len(self.pending)

    async def recover(self, since: datetime | None = None) -> int:
        """Ask again for the snapshots the store still lacks; return how many."""
        since = since or utcnow() - LOOKBACK
        before = len(self.pending)
        cursor: str | None = None
        while True:
            page = await self.store.query(
                source="frigate", has_thumbnail=False, since=since, limit=500, cursor=cursor
            )
            for event in page.events:
                if wants_snapshot(event):
                    self.want(event.event_id)
            cursor = page.next_cursor
            if cursor is None:
                return len(self.pending) - before

    async def run(self) -> None:
        """Fetch pending snapshots until cancelled."""
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    async def _worker(self) -> None:
        """Take ids off the queue and fetch each until it is saved or given up."""
        delay = self.backoff[0]
        while True:
            event_id = await self.queue.get()
            while True:
                try:
                    image = await self.api.snapshot(event_id)
                except FrigateUnavailable:
                    await asyncio.sleep(delay)  # one outage line is logged by the API client
                    delay = min(delay * 2, self.backoff[1])
                    continue
                delay = self.backoff[0]
                break
            if image is None:
                self._missing(event_id)
                continue
            path = await self.store.save_thumbnail(event_id, image)
            self._forget(event_id)
            if path is not None:
                self.stats.snapshots_saved += 1

    def _missing(self, event_id: str) -> None:
        """Ask again later for a snapshot Frigate does not have yet, up to MISSING_TRIES."""
        tries = self.pending.get(event_id, 0) + 1
        if tries >= MISSING_TRIES:
            log.info("Frigate has no snapshot for event %s; giving up", event_id)
            self._forget(event_id)
            return
        self.pending[event_id] = tries
        asyncio.get_running_loop().call_later(
            self.backoff[0] * 2**tries, self.queue.put_nowait, event_id
        )

    def _forget(self, event_id: str) -> None:
        """Drop ``event_id`` from the pending set."""
        self.pending.pop(event_id, None)
        self.stats.snapshots_pending = len(self.pending)
