"""PostgreSQL's async face (first cut: the threaded face)."""

from __future__ import annotations

from typing import Any

from camvault.backends.base import GroupInsert
from camvault.backends.sqlite_async import ThreadedFace

__all__ = ["PostgresFace"]


class PostgresFace(ThreadedFace):
    """Runs store work off the event loop."""

    def __init__(
        self, backend: Any, insert_group: GroupInsert, *, max_group: int, read_threads: int
    ) -> None:
        super().__init__(insert_group, max_group=max_group, read_threads=read_threads)
