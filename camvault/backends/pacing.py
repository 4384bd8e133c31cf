"""Pacing of long maintenance work (purge, size trims) that shares the write lock with inserts.

A purge deletes in many small transactions; each holds the write lock, so a writer that
arrives meanwhile waits for the current one. The pacer sizes each transaction to hold the
lock about ``TARGET_S`` (deleting an event costs from tens of microseconds to a millisecond,
with its full-text entry, on the machine and the store's size), and after each it steps
aside briefly so a waiting writer takes the lock before the next batch.
"""

from __future__ import annotations

import time

__all__ = ["PAUSE_S", "TARGET_S", "Pacer"]

TARGET_S = 0.008
"""How long one maintenance transaction aims to hold the write lock."""
PAUSE_S = 0.001
"""How long the maintenance work steps aside after each transaction."""
FIRST = 32
"""The size of the first batch, before any has been timed."""
LEAST = 4


class Pacer:
    """Batch sizes for maintenance transactions that hold the write lock about ``target``."""

    __slots__ = ("most", "size", "target")

    def __init__(self, most: int, *, target: float = TARGET_S) -> None:
        self.most = max(1, most)
        self.size = min(FIRST, self.most)
        self.target = target

    def took(self, seconds: float) -> None:
        """Size the next batch from how long this one held the lock (at most doubling)."""
        ideal = self.size * self.target / seconds if seconds > 0 else self.most
        self.size = max(min(LEAST, self.most), min(self.most, 2 * self.size, int(ideal)))

    @staticmethod
    def step_aside() -> None:
        """Let a writer waiting for the lock take it before the next batch."""
        time.sleep(PAUSE_S)
