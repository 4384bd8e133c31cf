"""How a long-running camvault process keeps Python's garbage collector out of its latency.

A full collection walks every object the process holds; after the imports of a service
(pydantic, FastAPI, paho, the store) that is a few hundred thousand objects and 30-40 ms, in
which nothing else runs: every message or request caught behind it waits that long. Objects
made at start-up live as long as the process, so they are collected once and then frozen
(``gc.freeze``): later full collections walk only what was made since.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> int:
    """Collect garbage, then freeze every object made so far; return how many are frozen.

    Call it once a long-running program has started (imports done, store open), right before
    it begins serving: ``camvault serve`` and ``camvault ingest`` do. Objects alive now are
    never collected afterwards, so call it when they are meant to stay.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
