"""Export and import of events: JSONL (lossless), CSV (for spreadsheets), Parquet (pyarrow).

Both directions stream: export pages through the store with a cursor, import reads a line (or
a record batch) at a time and writes chunks of events, so memory stays flat in the size of
the file. Import skips events already stored, so a rerun resumes where a failed one stopped,
and reports bad lines by number without stopping the good ones.
"""

from __future__ import annotations

import csv
import io
import json
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
_JSON_COLUMNS = ("detected_objects", "metadata")
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
    out: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or column == "labels" or value in (None, ""):
            continue
        out[column] = orjson.loads(value) if column in _JSON_COLUMNS else value
    return out


def export_events(
    store: EventStore,
    dest: str | Path | IO[str] | IO[bytes],
    fmt: Format = "jsonl",
    progress: Progress | None = None,
    **filters: Unpack[Filters],
) -> int:
    """Write matching events to ``dest`` (a path or an open file); return how many."""
    events = iter_events(store, **filters)
    if fmt == "parquet":
        return _export_parquet(events, dest, progress)
    if isinstance(dest, str | Path):
        with open(dest, "w", encoding="utf-8", newline="") as fh:
            return _export_text(events, fh, fmt, progress)
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
        ]
    )
    count = 0
    with pq.ParquetWriter(dest, schema) as writer:
        rows: list[dict[str, Any]] = []
        for event in events:
            row = event.model_dump()
            row["labels"] = ";".join(event.labels)
            row["detected_objects"] = orjson.dumps(row["detected_objects"]).decode()
            row["metadata"] = orjson.dumps(row["metadata"]).decode()
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


def _records(src: Path, fmt: Format) -> Iterator[tuple[int, int, Any]]:
    """Yield (line number, bytes read so far, record) from a file, streaming."""
    if fmt == "parquet":
        _, pq = _pyarrow()
        number = 0
        parquet = pq.ParquetFile(src)
        done = 0
        for batch in parquet.iter_batches(batch_size=_CHUNK):
            done += batch.nbytes
            for row in batch.to_pylist():
                number += 1
                row.pop("labels", None)
                for column in _JSON_COLUMNS:
                    if isinstance(row.get(column), str):
                        row[column] = orjson.loads(row[column])
                yield number, done, {k: v for k, v in row.items() if v is not None}
        return
    with open(src, "rb") as fh:
        if fmt == "jsonl":
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield number, fh.tell(), line
            return
        reader = csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8", newline=""))
        for row in reader:
            yield reader.line_num, fh.tell(), row


def import_events(
    store: EventStore,
    src: str | Path,
    fmt: Format | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import events from a file, skipping ones already stored and reporting bad lines."""
    path = Path(src)
    kind = format_of(path, fmt)
    if not path.is_file():
        raise InvalidInputError("import", [("src", f"no such file: {path}")])
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
        for number, done, record in _records(path, kind):
            try:
                if kind == "jsonl":
                    event: Event = Event.model_validate_json(record)
                elif kind == "csv":
                    event = Event.model_validate(_from_csv(record))
                else:
                    event = Event.model_validate(record)
            except (InvalidEventError, orjson.JSONDecodeError) as exc:
                report.failed += 1
                if len(report.errors) < _MAX_REPORTED:
                    report.errors.append((number, str(exc)))
                continue
            chunk.append(event)
            if len(chunk) >= _CHUNK:
                flush(done)
        if chunk:
            flush(done)
    except (UnicodeDecodeError, csv.Error) as exc:
        problem = f"{path} is not readable {kind}: {exc}"
        raise InvalidInputError("import", [("src", problem)]) from exc
    if progress is not None:
        progress(done)
    return report
