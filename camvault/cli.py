"""The ``camvault`` command line: thin commands over EventStore, with rich output.

Every library error becomes one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from camvault.errors import CamvaultError
from camvault.sample import sample_events, sample_frame
from camvault.store import EventStore

__all__ = ["app", "main"]

app = typer.Typer(
    help="camvault: the event store for camera and smart-lock pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path,
    typer.Option("--db", envvar="CAMVAULT_DB", help="Database file (or sqlite:/// URL)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@contextlib.contextmanager
def open_store(db: Path, *, create: bool = False) -> Iterator[EventStore]:
    """Open the store for one command, turning camvault errors into a clean exit."""
    try:
        with EventStore(db, create=create) as store:
            yield store
    except CamvaultError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _print_info(info: dict[str, Any], as_json: bool) -> None:
    """Show store info as a two-column table or JSON."""
    if as_json:
        out.print_json(json.dumps(info))
        return
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(f"[bold]{key}[/]", str(value))
    out.print(table)


@app.command()
def info(db: DbOption = Path("camvault.db"), as_json: JsonOption = False) -> None:
    """Show the engine, schema version, counts and file locations of a store."""
    with open_store(db) as store:
        _print_info(store.info(), as_json)


@app.command()
def demo(
    db: DbOption = Path("camvault.db"),
    events: Annotated[int, typer.Option(min=1, max=100_000, help="How many events.")] = 300,
    thumbnails: Annotated[bool, typer.Option(help="Draw and store a thumbnail per event.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed for the sample data.")] = 0,
) -> None:
    """Record realistic sample events (with thumbnails) and print what is stored."""
    with open_store(db, create=True) as store:
        batch = list(sample_events(events, seed=seed))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("recording events", total=len(batch))
            for event in batch:
                store.insert_event(event)
                if thumbnails:
                    store.save_thumbnail(event.event_id, sample_frame(event, (640, 360)))
                progress.advance(task)
        _print_recent(store)
        _print_info(store.info(), as_json=False)


def _print_recent(store: EventStore) -> None:
    """Print the newest events and the label counts among them."""
    recent = store.get_recent_events(limit=10)
    table = Table(title="newest events")
    for column in ("time (UTC)", "camera", "objects", "person", "door", "description"):
        table.add_column(column, overflow="fold")
    for ev in recent:
        objects = ", ".join(f"{o.label} {o.confidence:.2f}" for o in ev.detected_objects)
        table.add_row(
            f"{ev.timestamp:%Y-%m-%d %H:%M:%S}",
            ev.camera_id,
            objects or "-",
            ev.person_name or "-",
            ev.door_action or "-",
            (ev.llm_description or "")[:60],
        )
    out.print(table)
    labels = Counter(label for ev in store.query(limit=1000).events for label in ev.labels)
    out.print(
        "labels in the newest 1000: " + ", ".join(f"{k} {v}" for k, v in labels.most_common())
    )


def main() -> None:
    """Run the CLI (the ``camvault`` console script)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
