"""``camvault import-frigate``: import Frigate's history from its ``frigate.db``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from camvault.cli_errors import err
from camvault.errors import InvalidInputError
from camvault.ingest.frigate_history import check_frigate_db, import_frigate

__all__ = ["import_frigate_command"]


def import_frigate_command(
    frigate_db: Annotated[
        Path,
        typer.Argument(help="Frigate's database, e.g. /config/frigate.db (opened read-only)."),
    ],
    media: Annotated[
        Path | None,
        typer.Option(
            "--media",
            help="Frigate's media folder (/media/frigate) for the thumbnails of 0.16+.",
        ),
    ] = None,
    db: Annotated[
        str,
        typer.Option("--db", envvar="CAMVAULT_DB", help="Database file or URL."),
    ] = "camvault.db",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Import every event of a Frigate database, with thumbnails; reruns store nothing twice."""
    from camvault.cli import _progress, open_store

    try:
        check_frigate_db(frigate_db)
    except InvalidInputError as exc:
        raise typer.BadParameter(exc.problems[0][1], param_hint="FRIGATE_DB") from None
    if media is not None and not media.is_dir():
        raise typer.BadParameter(f"{media} is not a folder", param_hint="--media")
    with open_store(db, create=True) as store, _progress() as progress:
        task = progress.add_task(f"importing {frigate_db.name}", total=None)
        stats = import_frigate(
            store,
            frigate_db,
            media,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if as_json:
        report = {k: v for k, v in vars(stats).items() if k != "problems"}
        report["errors"] = [list(problem) for problem in stats.problems]
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        typer.echo(stats.summary())
        for event_id, reason in stats.problems[:20]:
            err.print(f"event {event_id}: {reason}", highlight=False, soft_wrap=True, markup=False)
    if stats.failed:
        raise typer.Exit(1)
