"""UPSERTS: tracked objects that evolve, pushed through AsyncEventStore.upsert_event.

``python -m benchmarks.upserts [--url URL] [--objects N] [--upserters 64]``: each upserter
follows its own objects through a lifecycle of five upserts (new, three updates with a
better score and more zones, end), as a Frigate ingest does, all upserters at once. Prints
upserts/s, latency percentiles and how many upserts shared a transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from camvault import DetectedObject, Event
from camvault.aio import AsyncEventStore
from camvault.models import utcnow

ZONES = ("drive", "porch", "garden", "street")


def lifecycle(object_id: str, camera: str, start_s: float) -> list[Event]:
    """Return the five versions of one tracked object, in the order they arrive."""
    start = utcnow() - timedelta(seconds=start_s)
    versions = []
    for step in range(5):
        versions.append(
            Event(
                event_id=object_id,
                timestamp=start,
                camera_id=camera,
                detected_objects=[DetectedObject(label="car", confidence=0.5 + step / 10)],
                zones=list(ZONES[: step + 1 if step < 4 else 4]),
                license_plate="AB123CD" if step >= 2 else None,
                source="frigate",
                end_time=start + timedelta(seconds=20) if step == 4 else None,
            )
        )
    return versions


async def run(url: str, objects: int, upserters: int, slow_ms: float = 10.0) -> None:
    """Upsert every object's lifecycle from ``upserters`` concurrent tasks and report."""
    shares = [
        [
            lifecycle(f"obj-{u}-{i}", f"cam-{u % 8}", (u * objects + i) * 0.01)
            for i in range(objects // upserters)
        ]
        for u in range(upserters)
    ]
    samples: list[int] = []

    async def upserter(share: list[list[Event]], store: AsyncEventStore) -> None:
        for versions in share:
            for ev in versions:
                t0 = time.perf_counter_ns()
                await store.upsert_event(ev)
                samples.append(time.perf_counter_ns() - t0)

    async with AsyncEventStore(url, slow_insert_ms=slow_ms) as store:
        warm = lifecycle("warm-up", "cam-0", 1.0)
        for ev in warm:
            await store.upsert_event(ev)
        before = (await store.info())["write_transactions"]
        start = time.perf_counter()
        await asyncio.gather(*(upserter(share, store) for share in shares))
        elapsed = time.perf_counter() - start
        commits = (await store.info())["write_transactions"] - before
        total = len(samples)
        assert await store.count(since=utcnow() - timedelta(days=1)) >= total // 5
    ordered = sorted(samples)
    print(f"{total} upserts ({total // 5} lifecycles) from {upserters} upserters on {url}")
    print(f"  {total / elapsed:,.0f} upserts/s, {total / 5 / elapsed:,.0f} lifecycles/s")
    print(
        f"  latency p50 {statistics.median(ordered) / 1e6:.1f} ms, "
        f"p99 {ordered[int(0.99 * (total - 1))] / 1e6:.1f} ms"
    )
    print(f"  {commits} transactions: {total / max(commits, 1):.0f} upserts per transaction")


def main() -> None:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.upserts")
    parser.add_argument("--url", help="store URL (default: a scratch SQLite file)")
    parser.add_argument("--objects", type=int, default=6400, help="tracked objects (6,400)")
    parser.add_argument("--upserters", type=int, default=64, help="concurrent upserters (64)")
    parser.add_argument(
        "--slow-ms", type=float, default=10.0, help="slow-write warning threshold (10 ms)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or str(Path(folder) / "upserts.db")
        asyncio.run(run(url, args.objects, args.upserters, args.slow_ms))


if __name__ == "__main__":
    main()
