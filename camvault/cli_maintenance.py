"""Commands that protect a store: ``camvault backup`` (and, beside it, check and recover)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from camvault.backup import backup_store
from camvault.cli_store import DbOption, clean_errors, open_store, progress_bar

__all__ = ["backup"]

out = Console()


def backup(
    dest: Annotated[Path, typer.Argument(help="The new file to write, e.g. backup-2026-11-22.db.")],
    db: DbOption = "camvault.db",
    with_thumbnails: Annotated[
        bool,
        typer.Option(
            "--with-thumbnails",
            help="Also copy the thumbnails beside the backup (<dest>-thumbnails/).",
        ),
    ] = False,
) -> None:
    """Copy the store to DEST while it stays in use, and check the copy.

    Writers go on writing during the backup; the copy is one consistent moment of the store,
    checked with SQLite's integrity check before it takes its name. A SQLite store only:
    for PostgreSQL use pg_dump (see the README).
    """
    with open_store(db) as store, clean_errors(), progress_bar() as bar:
        task = bar.add_task("backing up", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = backup_store(store, dest, with_thumbnails=with_thumbnails, progress=advance)
    extra = f" and {report.thumbnails:,} thumbnails" if with_thumbnails else ""
    out.print(
        f"backed up {report.events:,} events{extra} to {escape(str(report.path))} "
        f"({report.bytes / 1e6:,.1f} MB in {report.seconds:.1f} s; integrity check ok)",
        highlight=False,
    )
    if report.missing_thumbnails:
        out.print(
            f"{report.missing_thumbnails:,} events had lost their thumbnail file before the backup",
            highlight=False,
        )
