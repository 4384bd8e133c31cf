"""How a long-running camvault process keeps Python's garbage collector out of its way.

A full collection walks every object the process holds; after the imports of a service
(pydantic, FastAPI, paho, the store) that is a few hundred thousand objects and 30-40 ms, in
which nothing else runs: every message or request caught behind it waits that long. Objects
made at start-up live as long as the process, so they are collected once and then frozen
(``gc.freeze``): later full collections walk only what was made since.

The youngest generation is also collected less often. At Python's default (every 700 net
allocations), a busy consumer collects in the middle of each message's work: objects that
would have been freed a moment later by their reference counts (tasks, payloads, events in
flight) are walked, promoted to older generations and walked again there, and the full
collections that promotion brings walk everything the consumer holds (its recent objects).
Measured on the Frigate consumer, that was 45% of its CPU per message.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

YOUNG_THRESHOLD = 50_000
"""Net allocations between two collections of the youngest generation (Python's default: 700).

A collection of the youngest generation then walks at most this many objects (2-3 ms)."""


def settle_heap() -> int:
    """Collect garbage, freeze every object made so far, and collect the young less often.

    Returns how many objects are frozen. Call it once a long-running program has started
    (imports done, store open), right before it begins serving: ``camvault serve`` and
    ``camvault ingest`` do. Objects alive now are never collected afterwards, so call it when
    they are meant to stay. The youngest generation is collected every
    :data:`YOUNG_THRESHOLD` net allocations from then on (the older thresholds are kept).
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), middle, old)
    return gc.get_freeze_count()
