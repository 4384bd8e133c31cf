"""What every store command of the CLI shares: the --db option, progress bars, clean errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from camvault.cli_errors import err, fail
from camvault.errors import CamvaultError
from camvault.store import EventStore

__all__ = ["DbOption", "JsonOption", "clean_errors", "open_store", "progress_bar"]

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="CAMVAULT_DB",
        help=(
            "Database file or URL: events.db, sqlite:///events.db, "
            "sqlite:////abs/events.db?durability=full (engine options in the URL)."
        ),
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def progress_bar() -> Progress:
    """Return a progress bar on stderr that disappears when done (only on a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # in a pipe or a log it would leave a blank line
    )


@contextlib.contextmanager
def clean_errors() -> Iterator[None]:
    """Turn camvault errors raised inside the block into one line on stderr and exit code 1."""
    try:
        yield
    except CamvaultError as exc:
        fail(str(exc))


@contextlib.contextmanager
def open_store(db: str, *, create: bool = False) -> Iterator[EventStore]:
    """Open the store (a path or URL) for one command, turning camvault errors into a clean exit."""
    with clean_errors(), EventStore(db, create=create) as store:
        yield store
