"""Export and import of events: JSONL (lossless), CSV (for spreadsheets), Parquet (pyarrow).

Both directions stream: export pages through the store with a cursor, import reads a line (or
a record batch) at a time and writes chunks of events, so memory stays flat in the size of
the file. Import skips events already stored, so a rerun resumes where a failed one stopped,
and reports bad lines by number without stopping the good ones.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Unpack

import orjson

from camvault.errors import InvalidEventError, InvalidInputError
from camvault.models import Event
from camvault.query import Filters
from camvault.store import EventStore

__all__ = [
    "CSV_COLUMNS",
    "Format",
    "ImportReport",
    "check_destination",
    "check_source",
    "export_events",
    "format_of",
    "import_events",
    "iter_events",
]

Format = Literal["jsonl", "csv", "parquet"]
Progress = Callable[[int], None]
_FIRST = ("event_id", "timestamp", "camera_id")
CSV_COLUMNS = (*_FIRST, "labels", *(f for f in Event.model_fields if f not in _FIRST))
"""One row per event; ``labels`` is derived (``person;car``), the JSON columns hold the rest."""
_JSON_COLUMNS = ("detected_objects", "metadata", "zones")
_MAX_REPORTED = 100
_CHUNK = 2000


@dataclass
class ImportReport:
    """What an import did: counts, and the first bad lines with their numbers."""

    inserted: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    """(line or row number, reason) for the first 100 bad lines."""


def format_of(path: str | Path, fmt: str | None = None) -> Format:
    """Return the format named, or the one a file name implies."""
    name = (fmt or Path(path).suffix.lstrip(".")).lower()
    aliases: dict[str, Format] = {
        "jsonl": "jsonl",
        "ndjson": "jsonl",
        "json": "jsonl",
        "csv": "csv",
        "parquet": "parquet",
    }
    if name not in aliases:
        raise InvalidInputError(
            "export/import", [("format", "must be jsonl, csv or parquet (or a file ending so)")]
        )
    return aliases[name]


def iter_events(store: EventStore, page: int = 1000, **filters: Unpack[Filters]) -> Iterator[Event]:
    """Yield every matching event, oldest first, a page at a time."""
    cursor = None
    while True:
        result = store.query(limit=page, cursor=cursor, order="oldest", **filters)
        yield from result.events
        if (cursor := result.next_cursor) is None:
            return


def _csv_row(event: Event) -> dict[str, Any]:
    """Flatten an event into one CSV row."""
    row = event.model_dump(mode="json")
    row["labels"] = ";".join(event.labels)
    for column in _JSON_COLUMNS:
        row[column] = json.dumps(row[column], ensure_ascii=False)
    return {c: "" if row[c] is None else row[c] for c in CSV_COLUMNS}


def _from_csv(row: dict[str, str | None]) -> dict[str, Any]:
    """Turn a CSV row back into Event fields (empty cells are absent values)."""
    return {
        column: value
        for column, value in row.items()
        if column is not None and column != "labels" and value not in (None, "")
    }


def check_destination(dest: str | Path) -> Path:
    """Return ``dest`` as a Path, or raise InvalidInputError saying why it cannot be written."""
    path = Path(dest)
    if "://" in str(dest):
        problem = f"{dest} is a URL; an export is written to a file: give a path (or - for stdout)"
    elif path.is_dir():
        problem = f"{path} is a folder; give a file name in it, such as {path / 'events.jsonl'}"
    elif not path.parent.is_dir():
        problem = f"cannot write {path}: the folder {path.parent} does not exist; create it first"
    else:
        return path
    raise InvalidInputError("export", [("dest", problem)])


def _unwritable(path: Path, exc: OSError, partial: bool = False) -> InvalidInputError:
    """Say that an export file could not be written: the path, why, and what to do."""
    left = "what was written is incomplete" if partial else "nothing was written"
    problem = (
        f"cannot write {path}: {exc.strerror or exc}; free space there or choose another "
        f"path ({left})"
    )
    return InvalidInputError("export", [("dest", problem)])


def _open_file(path: Path | int, binary: bool) -> IO[Any]:
    """Open a path or file descriptor for an export: bytes, or UTF-8 text for csv/jsonl."""
    if binary:
        return open(path, "wb")
    return open(path, "w", encoding="utf-8", newline="")


@contextlib.contextmanager
def _open_destination(dest: str | Path, binary: bool) -> Iterator[IO[Any]]:
    """Write an export to a temporary file beside ``dest``, renamed over it once complete.

    A failure (a full disk, say) removes the temporary file and raises InvalidInputError
    naming ``dest``: no half-written export is left, and a file already there is kept. A
    link, a pipe or a device (``/dev/stdout``) is written in place instead.
    """
    path = check_destination(dest)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        try:
            fh = _open_file(path, binary)
        except OSError as exc:
            raise _unwritable(path, exc) from exc
        try:
            with fh:
                yield fh
        except OSError as exc:
            raise _unwritable(path, exc, partial=True) from exc
        return
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    try:
        with _open_file(fd, binary) as fh:
            yield fh
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unwritable(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_events(
    store: EventStore,
    dest: str | Path | IO[str] | IO[bytes],
    fmt: Format = "jsonl",
    progress: Progress | None = None,
    **filters: Unpack[Filters],
) -> int:
    """Write matching events to ``dest`` (a path or an open file); return how many."""
    events = iter_events(store, **filters)
    if isinstance(dest, str | Path):
        with _open_destination(dest, binary=fmt == "parquet") as fh:
            if fmt == "parquet":
                return _export_parquet(events, fh, progress)
            return _export_text(events, fh, fmt, progress)
    if fmt == "parquet":
        return _export_parquet(events, dest, progress)
    if isinstance(dest, io.TextIOBase):
        return _export_text(events, dest, fmt, progress)
    raise InvalidInputError("export", [("dest", "must be a path or a text file for jsonl/csv")])


def _export_text(
    events: Iterator[Event], fh: IO[str], fmt: Format, progress: Progress | None
) -> int:
    """Write JSONL or CSV."""
    count = 0
    writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for event in events:
        if writer is not None:
            writer.writerow(_csv_row(event))
        else:
            fh.write(event.model_dump_json())
            fh.write("\n")
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return count


def _pyarrow() -> Any:
    """Import pyarrow or explain how to get it."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInputError(
            "export/import",
            [("format", "parquet needs pyarrow: pip install 'camvault[parquet]'")],
        ) from None
    return pa, pq


def _export_parquet(
    events: Iterator[Event], dest: str | Path | IO[Any], progress: Progress | None
) -> int:
    """Write Parquet in row groups of 10,000 events, JSON columns as strings."""
    pa, pq = _pyarrow()
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("camera_id", pa.string()),
            ("motion_confidence", pa.float64()),
            ("labels", pa.string()),
            ("detected_objects", pa.string()),
            ("llm_description", pa.string()),
            ("person_name", pa.string()),
            ("face_confidence", pa.float64()),
            ("face_distance", pa.float64()),
            ("unlock_granted", pa.bool_()),
            ("door_action", pa.string()),
            ("recording_id", pa.string()),
            ("image_path", pa.string()),
            ("json_log_path", pa.string()),
            ("thumbnail_path", pa.string()),
            ("retain", pa.bool_()),
            ("metadata", pa.string()),
            ("end_time", pa.timestamp("us", tz="UTC")),
            ("zones", pa.string()),
            ("license_plate", pa.string()),
            ("source", pa.string()),
        ]
    )
    count = 0
    with pq.ParquetWriter(dest, schema) as writer:
        rows: list[dict[str, Any]] = []
        for event in events:
            row = event.model_dump()
            row["labels"] = ";".join(event.labels)
            for column in _JSON_COLUMNS:
                row[column] = orjson.dumps(row[column]).decode()
            rows.append(row)
            if len(rows) == 10_000:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                count += len(rows)
                rows.clear()
                if progress is not None:
                    progress(count)
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            count += len(rows)
    if progress is not None:
        progress(count)
    return count


def check_source(src: str | Path | IO[bytes], fmt: str | None = None) -> Format:
    """Return the format to import ``src`` (a path or a binary stream) with, or say why not."""
    if not isinstance(src, str | Path):
        kind = format_of("stream.jsonl", fmt)
        if kind == "parquet":
            problem = "parquet cannot be read from a stream; give a .parquet file"
            raise InvalidInputError("import", [("src", problem)])
        return kind
    path = Path(src)
    if path.is_dir():
        problem = f"{path} is a folder, not a file; give a .jsonl, .csv or .parquet file in it"
    elif not path.exists():
        problem = f"no such file: {path}"
    else:
        return format_of(path, fmt)
    raise InvalidInputError("import", [("src", problem)])


def _parquet_records(src: Path) -> Iterator[tuple[int, int, Any]]:
    """Yield (row number, bytes read so far, record) from a Parquet file, a batch at a time."""
    pa, pq = _pyarrow()
    number = 0
    done = 0
    try:
        for batch in pq.ParquetFile(src).iter_batches(batch_size=_CHUNK):
            done += batch.nbytes
            for row in batch.to_pylist():
                number += 1
                yield number, done, row
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).split(". ")[0].strip()
        problem = f"{src} is not a readable Parquet file ({reason}); check the file and --format"
        raise InvalidInputError("import", [("src", problem)]) from exc


def _text_records(fh: IO[bytes], fmt: Format) -> Iterator[tuple[int, int, Any]]:
    """Yield (line number, bytes read so far, record) from JSONL or CSV, a line at a time."""
    seekable = fh.seekable()
    if fmt == "jsonl":
        done = 0
        for number, line in enumerate(fh, start=1):
            done = fh.tell() if seekable else done + len(line)
            if line.strip():
                yield number, done, line
        return
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
    try:
        reader = csv.DictReader(text)
        for row in reader:
            yield reader.line_num, fh.tell() if seekable else 0, row
    finally:
        text.detach()  # the caller's file stays open, for the caller to close


def _json_columns(record: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-text columns of a CSV or Parquet record, naming a column that is bad."""
    for column in _JSON_COLUMNS:
        value = record.get(column)
        if isinstance(value, str):
            try:
                record[column] = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise InvalidEventError("Event", [(column, f"is not JSON ({exc})")]) from None
    return record


def _event(kind: Format, record: Any) -> Event:
    """Validate one record of an import as an Event."""
    if kind == "jsonl":
        event: Event = Event.model_validate_json(record)
    elif kind == "csv":
        event = Event.model_validate(_json_columns(_from_csv(record)))
    else:
        row = {k: v for k, v in record.items() if v is not None and k != "labels"}
        event = Event.model_validate(_json_columns(row))
    return event


def _reason(exc: InvalidInputError) -> str:
    """Say what is wrong with a line: each bad field, then its problem."""
    return "; ".join(f"{f}: {m}" if f else m for f, m in exc.problems)


def import_events(
    store: EventStore,
    src: str | Path | IO[bytes],
    fmt: Format | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import events from a file or a binary stream, skipping stored ones, reporting bad lines."""
    kind = check_source(src, fmt)
    if not isinstance(src, str | Path):
        return _import_records(store, _text_records(src, kind), kind, "the input", progress)
    path = Path(src)
    if kind == "parquet":
        return _import_records(store, _parquet_records(path), kind, str(path), progress)
    with open(path, "rb") as fh:
        return _import_records(store, _text_records(fh, kind), kind, str(path), progress)


def _import_records(
    store: EventStore,
    records: Iterator[tuple[int, int, Any]],
    kind: Format,
    name: str,
    progress: Progress | None,
) -> ImportReport:
    """Validate and insert records in chunks; count and list the bad ones."""
    report = ImportReport()
    chunk: list[Event] = []
    done = 0

    def flush(done: int) -> None:
        result = store.insert_events(chunk)
        report.inserted += result.inserted
        report.duplicates += result.duplicates
        chunk.clear()
        if progress is not None:
            progress(done)

    try:
        for number, done, record in records:
            try:
                event = _event(kind, record)
            except InvalidInputError as exc:
                report.failed += 1
                if len(report.errors) < _MAX_REPORTED:
                    report.errors.append((number, _reason(exc)))
                continue
            chunk.append(event)
            if len(chunk) >= _CHUNK:
                flush(done)
        if chunk:
            flush(done)
    except (UnicodeDecodeError, csv.Error) as exc:
        problem = f"{name} is not readable {kind}: {exc}"
        raise InvalidInputError("import", [("src", problem)]) from exc
    if progress is not None:
        progress(done)
    return report
