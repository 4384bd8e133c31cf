"""Commands that protect and inspect a store: ``backup``, ``check``, ``recover`` and ``sql``."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from camvault.backends import redacted
from camvault.backup import backup_store
from camvault.cli_errors import printable
from camvault.cli_store import DbOption, JsonOption, clean_errors, open_store, progress_bar

__all__ = ["backup", "check", "recover", "sql"]

out = Console()


def backup(
    dest: Annotated[str, typer.Argument(help="The new file to write, e.g. backup-2026-11-22.db.")],
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


def recover(
    source: Annotated[str, typer.Argument(help="The damaged SQLite file (never modified).")],
    dest: Annotated[str, typer.Argument(help="A new store to fill: a file or URL.")],
    old_thumbnails: Annotated[
        Path | None,
        typer.Option(help="The damaged store's thumbnail folder (default: beside SOURCE)."),
    ] = None,
) -> None:
    """Salvage every readable event of a damaged store into a new store, and say what was lost.

    Exit code 0: every event the damaged file lists was saved; 1: some were lost (listed).
    """
    from camvault.recover import damaged_file, recover_store

    with clean_errors():
        damaged_file(source)  # before the new store is made: a bad source writes nothing
    with open_store(dest, create=True) as store, clean_errors(), progress_bar() as bar:
        task = bar.add_task("salvaging", total=None)
        report = recover_store(
            source,
            store,
            old_thumbnails=old_thumbnails,
            progress=lambda n: bar.update(task, completed=n),
        )
    out.print(
        f"recovered {report.events:,} events, {report.persons:,} persons and "
        f"{report.thumbnails:,} thumbnails into {escape(dest)}",
        highlight=False,
    )
    lost = report.lost
    if report.expected is not None:
        out.print(
            f"the damaged file lists {report.expected:,} events: {lost:,} lost", highlight=False
        )
    for first, last in report.unreadable_ranges:
        out.print(f"unreadable: rows {first:,} to {last:,} (damaged pages)", highlight=False)
    for event_id, why in report.invalid:
        out.print(f"not a valid event: {escape(event_id)}: {escape(why)}", highlight=False)
    if lost or report.unreadable_ranges or report.invalid_count:
        raise typer.Exit(1)


def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement that reads, e.g. SELECT ...")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A value for the next placeholder (? or %s)."),
    ] = None,
    db: DbOption = "camvault.db",
    as_json: JsonOption = False,
) -> None:
    """Run read-only SQL on the store, safely beside camvault's own writers.

    Writes are refused. Use this rather than Python's sqlite3 inside a camvault process:
    two copies of SQLite in one process do not see each other's locks.
    """
    with open_store(db) as store, clean_errors():
        result = store.sql(query, param or [])
    if as_json:
        rows = [[_plain(v) for v in row] for row in result.rows]
        sys.stdout.write(json.dumps({"columns": result.columns, "rows": rows}) + "\n")
        return
    table = Table(*result.columns, show_lines=False) if result.columns else None
    if table is None:
        out.print("(no result)", highlight=False)
        return
    for row in result.rows:
        table.add_row(*(escape(printable(str(_plain(v)))) for v in row))
    out.print(table)
    out.print(f"{len(result.rows):,} rows", highlight=False)


def _plain(value: Any) -> Any:
    """Make a value JSON-ready: bytes become base64 text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def check(
    db: DbOption = "camvault.db",
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Also recount counts, detections, text and zone indexes, cameras, thumbnails.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check that the store is whole, while it stays in use; exit code 1 if anything is wrong.

    The quick check asks the database to check its pages; --full also compares everything
    camvault derives from the events (histogram counts, label rows, the text and zone
    indexes, cameras) with a recount, and the thumbnail files with the events.
    """
    from camvault.check import check_store

    with open_store(db) as store, clean_errors(), progress_bar() as bar:
        task = bar.add_task("checking", total=None)
        report = check_store(
            store, full=full, progress=lambda name: bar.update(task, description=name)
        )
        where = redacted(db)
    if as_json:
        findings = [{"check": f.check, "problem": f.problem} for f in report.findings]
        document = {
            "ok": report.ok,
            "engine": report.engine,
            "events": report.events,
            "full": report.full,
            "passed": report.passed,
            "skipped": [{"check": c, "why": why} for c, why in report.skipped],
            "findings": findings,
        }
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        verdict = "every check passed" if report.ok else f"{len(report.findings)} problem(s)"
        out.print(
            f"checked {escape(where)} ({report.engine}, {report.events:,} events): {verdict}",
            highlight=False,
        )
        for name in report.passed:
            out.print(f"ok       {name}", highlight=False)
        for finding in report.findings:
            out.print(
                f"PROBLEM  {finding.check}: {escape(printable(finding.problem))}",
                highlight=False,
            )
        for name, why in report.skipped:
            out.print(f"skipped  {name}: {why}", highlight=False)
        if not full and report.ok:
            out.print("(run with --full to recount everything derived from the events)")
    if not report.ok:
        raise typer.Exit(1)
