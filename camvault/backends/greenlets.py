"""Run synchronous store code on the event loop, its I/O awaited natively (greenlets).

The facade and an engine's read methods are written once, synchronously. :func:`run` calls
such code in a greenlet on the loop's thread; where the code reaches the database it calls
:func:`await_only` with a coroutine, which suspends the greenlet while the loop awaits that
coroutine (an asyncio driver's query), then resumes it with the result. No thread is
involved, and outside :func:`run` the same code takes its synchronous path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet

__all__ = ["await_only", "in_greenlet", "run"]

T = TypeVar("T")


class _Bridge(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running sync code for :func:`run`; its parent awaits on its behalf."""


def in_greenlet() -> bool:
    """Tell whether the caller runs under :func:`run` (and may call :func:`await_only`)."""
    return isinstance(greenlet.getcurrent(), _Bridge)


def await_only(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` on the loop from sync code running under :func:`run`."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridge):
        raise RuntimeError("await_only() outside camvault.backends.greenlets.run()")
    result: T = current.parent.switch(awaitable)
    return result


async def run(call: Callable[[], T]) -> T:
    """Run sync ``call`` on this thread; each awaitable it hands to await_only is awaited."""
    bridge = _Bridge(call)
    pending: Any = bridge.switch()
    while not bridge.dead:
        try:
            value = await pending
        except BaseException as exc:  # the sync code sees the awaited error where it awaited
            pending = bridge.throw(exc)
        else:
            pending = bridge.switch(value)
    result: T = pending
    return result
