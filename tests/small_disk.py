"""A real, small file system (a tmpfs mount) that tests fill up; CI runs as root."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def small_filesystem(path: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``path`` (made if needed), unmounted on the way out."""
    assert os.geteuid() == 0, "mounting a small file system needs root (CI runs as root)"
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        done = subprocess.run(["umount", str(path)], check=False, capture_output=True)
        if done.returncode != 0:  # a file still open: detach now, freed when it closes
            subprocess.run(["umount", "-l", str(path)], check=True, capture_output=True)


def fill(folder: Path, name: str = "filler") -> Path:
    """Write a file in ``folder`` until its file system is full; return the file."""
    filler = folder / name
    block = b"\0" * 4096
    with filler.open("wb", buffering=0) as fh:
        while True:
            try:
                fh.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler


def files_under(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` (relative name -> size), to compare before and after."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
