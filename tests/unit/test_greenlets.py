"""Sync code run by camvault.backends.greenlets: its awaits happen on the loop, errors included."""

from __future__ import annotations

import asyncio
import threading

import pytest

from camvault.backends import greenlets


async def test_sync_code_awaits_on_the_loop_thread_and_sees_results_and_errors() -> None:
    loop_thread = threading.get_ident()
    seen: list[object] = []

    async def double(x: int) -> int:
        await asyncio.sleep(0)
        seen.append(threading.get_ident())
        return 2 * x

    async def broken() -> None:
        await asyncio.sleep(0)
        raise LookupError("from the coroutine")

    def sync_code() -> int:
        assert greenlets.in_greenlet()
        total = greenlets.await_only(double(3)) + greenlets.await_only(double(4))
        try:
            greenlets.await_only(broken())
        except LookupError as exc:  # the awaited error arrives where the sync code awaited
            seen.append(str(exc))
        return total

    assert not greenlets.in_greenlet()
    assert await greenlets.run(sync_code) == 14
    assert seen == [loop_thread, loop_thread, "from the coroutine"]


async def test_an_error_the_sync_code_does_not_catch_leaves_run() -> None:
    async def broken() -> None:
        raise KeyError("gone")

    def sync_code() -> None:
        greenlets.await_only(broken())

    with pytest.raises(KeyError, match="gone"):
        await greenlets.run(sync_code)


def test_await_only_outside_run_is_a_clear_error() -> None:
    async def nothing() -> None:
        return None

    coro = nothing()
    with pytest.raises(RuntimeError, match="outside"):
        greenlets.await_only(coro)
    coro.close()
