"""The ``camvault`` command line: thin commands over EventStore, with rich output.

Every library error becomes one clear line on stderr and a non-zero exit, never a traceback;
usage mistakes (an unknown option, a bad value) are one line too, with exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from camvault import cli_maintenance, copying, exchange
from camvault.bench import quick_bench
from camvault.cli_errors import CliGroup, err, fail
from camvault.cli_filters import filter_options, parse_age, zone
from camvault.cli_frigate import import_frigate_command
from camvault.cli_ingest import frigate_background, ingest_app
from camvault.cli_store import DbOption, JsonOption, clean_errors, open_store
from camvault.cli_store import progress_bar as _progress
from camvault.models import Event
from camvault.sample import SAMPLE_PERSONS, sample_events, sample_frame
from camvault.store import EventStore

__all__ = ["app", "main"]

app = typer.Typer(
    cls=CliGroup,
    help="camvault: the event store for camera and smart-lock pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(ingest_app, name="ingest")
app.command("import-frigate")(import_frigate_command)
app.command()(cli_maintenance.backup)
app.command()(cli_maintenance.recover)
app.command()(cli_maintenance.sql)
app.command()(cli_maintenance.check)
out = Console()

TzOption = Annotated[
    str | None, typer.Option("--tz", help="Time zone for dates and days (default: UTC).")
]
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse a size such as 500MB or 2GB (powers of 1024)."""
    match = _SIZE.match(text.strip())
    if not match:
        raise typer.BadParameter(
            f"{text!r} is not a size such as 500MB or 2GB", param_hint="--max-size"
        )
    power = ("b", "kb", "mb", "gb", "tb").index((match.group(2) or "b").lower())
    return int(float(match.group(1)) * 1024**power)


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
def info(db: DbOption = "camvault.db", as_json: JsonOption = False) -> None:
    """Show the engine, schema version, counts and file locations of a store."""
    with open_store(db) as store:
        _print_info(store.info(), as_json)


@app.command()
def demo(
    db: DbOption = "camvault.db",
    events: Annotated[int, typer.Option(min=1, max=100_000, help="How many events.")] = 300,
    thumbnails: Annotated[bool, typer.Option(help="Draw and store a thumbnail per event.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed for the sample data.")] = 0,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Time zone of the sample home (default: this machine's)."),
    ] = None,
) -> None:
    """Record realistic sample events (with thumbnails) and sample persons; print what is stored."""
    home = zone(tz) if tz else None
    with open_store(db, create=True) as store:
        record_samples(store, events, seed=seed, thumbnails=thumbnails, tz=home)
        _print_recent(store)
        _print_info(store.info(), as_json=False)


def shorten(text: str | None, width: int = 60) -> str:
    """Cut text to at most ``width`` characters at a word boundary, marking the cut with '…'."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return text
    head = text[: width - 1]
    if text[width - 1] != " " and " " in head:  # the cut falls inside a word: drop that word
        head = head[: head.rindex(" ")]
    return head.rstrip(" ,.;:") + "…"


def _events_table(events: list[Event], title: str, tz: ZoneInfo) -> Table:
    """Return a table of events, one row each, times in ``tz``."""
    table = Table(title=title)
    table.add_column(f"time ({tz.key})", no_wrap=True)
    for column in ("camera", "objects", "person", "door", "description"):
        table.add_column(column, overflow="fold")
    for ev in events:
        objects = ", ".join(f"{o.label} {o.confidence:.2f}" for o in ev.detected_objects)
        table.add_row(
            f"{ev.timestamp.astimezone(tz):%Y-%m-%d %H:%M:%S}",
            ev.camera_id,
            objects or "-",
            ev.person_name or "-",
            ev.door_action or "-",
            shorten(ev.llm_description),
        )
    return table


def _print_recent(store: EventStore) -> None:
    """Print the newest events and the label counts among them."""
    out.print(_events_table(store.get_recent_events(limit=10), "newest events", zone("UTC")))
    labels = Counter(label for ev in store.query(limit=1000).events for label in ev.labels)
    out.print(
        "labels in the newest 1000: " + ", ".join(f"{k} {v}" for k, v in labels.most_common())
    )


@app.command()
@filter_options()
def query(
    filters: dict[str, Any],
    db: DbOption = "camvault.db",
    tz: TzOption = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per page.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Next page, from a previous query.")] = None,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest first.")] = False,
    count: Annotated[bool, typer.Option("--count", help="Only print how many match.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Find events, newest first; every filter combines with the others."""
    with open_store(db) as store:
        if count:
            n = store.count(**filters)
            out.print_json(json.dumps({"count": n})) if as_json else out.print(n)
            return
        page = store.query(
            limit=limit, cursor=cursor, order="oldest" if oldest_first else "newest", **filters
        )
        if as_json:
            events = [e.model_dump(mode="json") for e in page.events]
            sys.stdout.write(json.dumps({"events": events, "next_cursor": page.next_cursor}))
            sys.stdout.write("\n")
            return
        out.print(_events_table(page.events, f"{len(page.events)} event(s)", zone(tz)))
        if page.next_cursor:
            out.print(f"next page: --cursor {page.next_cursor}")


@app.command()
@filter_options(defaults={"since": "7d"})
def stats(
    filters: dict[str, Any],
    db: DbOption = "camvault.db",
    bucket: Annotated[str, typer.Option(help="hour or day.")] = "day",
    by: Annotated[
        str | None, typer.Option(help="label, camera_id or person_name (none: totals).")
    ] = "label",
    tz: TzOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count events per hour or day, by label, camera or person."""
    group = None if by in (None, "", "none") else by
    with open_store(db) as store:
        buckets = store.histogram(bucket, by=group, tz=tz or "UTC", **filters)
    if as_json:
        rows = [{"start": b.start.isoformat(), "key": b.key, "count": b.count} for b in buckets]
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    keys = sorted({b.key or "events" for b in buckets})
    table = Table(title=f"events per {bucket}" + (f" by {group}" if group else ""))
    table.add_column("start")
    for key in keys:
        table.add_column(key, justify="right")
    cells: dict[datetime, dict[str, int]] = {}
    for b in buckets:
        cells.setdefault(b.start, {})[b.key or "events"] = b.count
    fmt = "%Y-%m-%d" if bucket == "day" else "%Y-%m-%d %H:%M"
    for start, row in cells.items():
        table.add_row(start.strftime(fmt), *(str(row.get(k, "")) for k in keys))
    out.print(table)


@app.command()
def purge(
    db: DbOption = "camvault.db",
    older_than: Annotated[str | None, typer.Option(help="Remove events older than: 30d.")] = None,
    camera: Annotated[str | None, typer.Option("--camera", "-c", help="Only this camera.")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="Only events showing nothing but these labels."),
    ] = None,
    max_size: Annotated[
        str | None, typer.Option(help="Then remove the oldest until the data fits: 5GB.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove old events (never retained ones) with their detections and thumbnails."""
    if not older_than and not max_size:
        raise typer.BadParameter(
            "say what to remove: --older-than 30d, --max-size 5GB or both",
            param_hint="--older-than",
        )
    age = parse_age(older_than, "--older-than") if older_than else None
    if age is not None and age <= timedelta(0):
        raise typer.BadParameter(
            f"{older_than!r}: give an age longer than 0, such as 30d", param_hint="--older-than"
        )
    cap = parse_size(max_size) if max_size else None
    if not yes:
        if not sys.stdin.isatty():
            fail("purge removes events; pass --yes to confirm")
        typer.confirm("Remove these events for good?", abort=True)
    with open_store(db) as store:
        result = store.purge(age, camera, label=label or None, max_bytes=cap)
    if as_json:
        sys.stdout.write(json.dumps({"events": result.events, "thumbnails": result.thumbnails}))
        sys.stdout.write("\n")
    else:
        out.print(f"removed {result.events} event(s) and {result.thumbnails} thumbnail(s)")


@app.command("import")
def import_(
    path: Annotated[
        str, typer.Argument(help="A .jsonl, .csv or .parquet file, or - for JSONL on stdin.")
    ],
    db: DbOption = "camvault.db",
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Import events from a file or stdin; reruns skip what is stored, bad lines are listed."""
    src = sys.stdin.buffer if path == "-" else Path(path)
    with clean_errors():  # a wrong file or format creates no database
        kind = exchange.check_source(src, fmt)
    name = "standard input" if path == "-" else Path(path).name
    total = Path(path).stat().st_size if path != "-" else None
    with open_store(db, create=True) as store, _progress() as progress:
        task = progress.add_task(f"importing {name}", total=total)
        report = exchange.import_events(
            store, src, kind, progress=lambda done: progress.update(task, completed=done)
        )
    summary = {"inserted": report.inserted, "duplicates": report.duplicates}
    if as_json:
        summary["failed"] = report.failed
        sys.stdout.write(json.dumps({**summary, "errors": report.errors}) + "\n")
    else:
        out.print(", ".join(f"{k} {v}" for k, v in summary.items()) + f", failed {report.failed}")
        for line, reason in report.errors[:20]:
            err.print(f"line {line}: {reason}", highlight=False, soft_wrap=True, markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
@filter_options()
def export(
    dest: Annotated[str, typer.Argument(help="File to write, or - for standard output.")],
    filters: dict[str, Any],
    db: DbOption = "camvault.db",
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet.")] = None,
    tz: TzOption = None,
) -> None:
    """Export events, oldest first: JSONL (lossless), CSV or Parquet."""
    with clean_errors():  # a folder or a missing folder is refused before any work
        if dest != "-":
            exchange.check_destination(dest)
        kind = exchange.format_of(dest if dest != "-" else "stdout.jsonl", fmt)
    with open_store(db) as store:
        if dest == "-":
            try:
                exchange.export_events(store, sys.stdout, kind, **filters)
                sys.stdout.flush()
            except BrokenPipeError:
                raise  # the reader went away (| head): not an error worth a message
            except OSError as exc:  # a full disk behind a redirection
                fail(
                    f"cannot write to standard output: {exc.strerror or exc}; free space where "
                    "it goes, or give a file name instead of -"
                )
            return
        with _progress() as progress:
            task = progress.add_task(f"exporting to {dest}", total=store.count(**filters))
            n = exchange.export_events(
                store, Path(dest), kind,
                progress=lambda done: progress.update(task, completed=done), **filters,
            )  # fmt: skip
    err.print(f"exported {n} event(s) to {dest}")


@app.command()
def copy(
    src: Annotated[str, typer.Argument(help="The store to copy: a file or URL, as --db takes.")],
    dst: Annotated[str, typer.Argument(help="The store to copy into, created when missing.")],
    as_json: JsonOption = False,
) -> None:
    """Copy a whole store (persons, events, thumbnails) into another; reruns resume."""
    quiet = logging.getLogger("camvault")  # duplicates on a rerun are counted in the summary
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack, clean_errors(), _progress() as progress:
        stack.callback(quiet.setLevel, level)
        task = progress.add_task("copying events", total=None)
        report = copying.copy_store(
            src,
            dst,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    summary = {
        "events_copied": report.copied,
        "already_there": report.already_there,
        "failed": report.failed,
        "persons": report.persons,
        "thumbnails": report.thumbnails,
        "thumbnails_already_there": report.thumbnails_already_there,
        "missing_thumbnails": report.missing_thumbnails,
        "source_events": report.source_events,
        "complete": report.complete,
    }
    if as_json:
        sys.stdout.write(json.dumps({**summary, "problems": report.problems}) + "\n")
    else:
        out.print(
            f"events copied {report.copied}, already there {report.already_there}, "
            f"failed {report.failed}; persons {report.persons}; thumbnails {report.thumbnails} "
            f"(already there {report.thumbnails_already_there}, "
            f"missing {report.missing_thumbnails})",
            highlight=False,
            soft_wrap=True,
        )
        for event_id, problem in report.problems[:20]:
            err.print(f"event {event_id}: {problem}", highlight=False, soft_wrap=True, markup=False)
    if (mismatch := report.mismatch()) is not None:
        fail(f"the copy is incomplete: {mismatch}; rerun to resume")


def record_samples(
    store: EventStore,
    events: int,
    *,
    seed: int = 0,
    thumbnails: bool = True,
    tz: tzinfo | None = None,
) -> int:
    """Record sample persons, events and thumbnails (times of day in ``tz``, default local)."""
    home = tz or datetime.now().astimezone().tzinfo or UTC
    batch = list(sample_events(events, seed=seed, tz=home))
    for person in SAMPLE_PERSONS:
        store.upsert_person(person)
    with _progress() as progress:
        task = progress.add_task("recording sample events", total=len(batch))
        store.insert_events(batch)
        for event in batch:
            if thumbnails:
                store.save_thumbnail(event.event_id, sample_frame(event, (640, 360), tz=home))
            progress.advance(task)
    return len(batch)


def fill_demo(store: EventStore, events: int) -> int:
    """Record sample events with thumbnails into an empty store; return how many."""
    return 0 if store.count() else record_samples(store, events)


@app.command()
def serve(
    db: DbOption = "camvault.db",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(envvar="CAMVAULT_TOKEN", help="Bearer token clients must send."),
    ] = None,
    read_token: Annotated[
        str | None,
        typer.Option(
            envvar="CAMVAULT_READ_TOKEN",
            help="A second token that may only read (a wall tablet); needs --token.",
        ),
    ] = None,
    public_read: Annotated[
        bool, typer.Option("--public-read", help="Reads need no token (writes still do).")
    ] = False,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Let browser pages from this origin call the API (CORS), e.g. "
            "https://ha.example.org; repeat for more. None by default."
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request (tokens redacted).")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Fill an empty database with sample events first.")
    ] = False,
    frigate_mqtt: Annotated[
        str | None,
        typer.Option(
            "--frigate-mqtt",
            help="Also store what Frigate publishes on this broker (mqtt://host:1883).",
        ),
    ] = None,
    frigate_url: Annotated[
        str | None,
        typer.Option(
            "--frigate-url",
            help="Frigate's HTTP API for snapshots and re-sync (http://frigate:5000).",
        ),
    ] = None,
    frigate_prefix: Annotated[
        str, typer.Option("--frigate-topic-prefix", help="Frigate's mqtt.topic_prefix.")
    ] = "frigate",
    frigate_client: Annotated[
        str | None,
        typer.Option(
            "--frigate-client-id",
            help="Persistent MQTT session id (default camvault-frigate-HOST).",
        ),
    ] = None,
) -> None:
    """Serve the REST API and the dashboard (http://127.0.0.1:8765 by default)."""
    from camvault.backends import redacted
    from camvault.web import create_app
    from camvault.web.security import require_safe_bind
    from camvault.web.server import bind_socket, run

    # checked before anything runs
    background = frigate_background(frigate_mqtt, frigate_url, frigate_prefix, frigate_client)
    try:
        require_safe_bind(host, token)
        web_app = create_app(
            db,
            token=token,
            read_token=read_token,
            public_read=public_read,
            allow_origins=allow_origin or (),
            background=background,
        )
        sock = bind_socket(host, port)
    except ValueError as exc:
        fail(str(exc))
    with contextlib.closing(sock):
        with open_store(db, create=True) as store:
            added = fill_demo(store, 400) if demo else 0
        if added:
            err.print(
                f"recorded {added} demo events with thumbnails in {redacted(db)}", markup=False
            )
        shown = f"[{host}]" if ":" in host else host
        out.print(
            f"camvault is serving {escape(redacted(db))} at [bold]http://{shown}:{port}/[/] "
            "(Ctrl+C stops)",
            highlight=False,
        )
        run(web_app, sock, access_log=access_log)


@app.command()
def bench(
    events: Annotated[int, typer.Option(min=100, help="Single inserts to time.")] = 5000,
    bulk: Annotated[int, typer.Option(min=1000, help="Events in the bulk insert.")] = 50_000,
    as_json: JsonOption = False,
) -> None:
    """Measure camvault on this machine, on a temporary database (--db is not used)."""
    with _progress() as progress:
        progress.add_task("measuring", total=None)
        figures = quick_bench(events, bulk)
    if as_json:
        sys.stdout.write(json.dumps(figures) + "\n")
        return
    table = Table(title="camvault on this machine")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:,.1f}")
    out.print(table)


def main() -> None:
    """Run the CLI (the ``camvault`` console script)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
