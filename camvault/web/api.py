"""The REST API under /api: a thin layer over AsyncEventStore, no SQL here.

Responses are serialized by pydantic-core straight from the stored models (no second
validation), so a page of 50 events costs well under a millisecond to encode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import SkipJsonSchema
from sse_starlette.sse import EventSourceResponse

from camvault import thumbnails
from camvault.aio import AsyncEventStore
from camvault.errors import CamvaultError, DatabaseError, InvalidEventError, InvalidInputError
from camvault.filters import describe
from camvault.models import Bucket, Camera, Event, Person, new_event_id
from camvault.rows import trusted
from camvault.upserts import FIXED
from camvault.web.filter_params import filter_dependency
from camvault.web.metrics import Metrics
from camvault.web.paths import event_path

__all__ = ["StoredEvent", "add_request_schemas", "router", "stored", "thumbnail_url"]

log = logging.getLogger("camvault.web")

MAX_BATCH = 1000


class StoredEvent(Event):
    """An event as the API returns it: a ``thumbnail_url``, never the server's file path."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "frigate/1700000000.123-abc",
                    "timestamp": "2026-11-21T18:04:05Z",
                    "camera_id": "porch-lock",
                    "detected_objects": [
                        {"label": "person", "confidence": 0.91, "bbox": [0.1, 0.2, 0.3, 0.6]}
                    ],
                    "llm_description": "A courier leaves a package on the step.",
                    "thumbnail_url": "/api/events/frigate%2F1700000000.123-abc/thumbnail",
                }
            ]
        }
    )

    thumbnail_path: SkipJsonSchema[str | None] = Field(None, exclude=True)
    thumbnail_url: str | None = Field(
        None,
        description="Relative URL of the event's thumbnail (GET it), or null when it has none.",
    )


def thumbnail_url(root: Path, event: Event) -> str | None:
    """Return the URL of the thumbnail camvault made for this event, or None."""
    made = thumbnails.is_owned(
        root, event.camera_id, event.event_id, event.timestamp, event.thumbnail_path
    )
    return event_path(event.event_id, "/thumbnail") if made else None


def stored(root: Path, event: Event) -> StoredEvent:
    """Return the API form of a stored event (no revalidation: it was checked on the way in)."""
    return trusted(StoredEvent, {**event.__dict__, "thumbnail_url": thumbnail_url(root, event)})


class PageOut(BaseModel):
    """One page of events, newest first, and the cursor of the next page."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"events": [], "next_cursor": "AQAGYMsfiHObAAAAAAAAAec"}]}
    )

    events: list[StoredEvent]
    next_cursor: str | None = Field(None, description="Pass back as ?cursor= for the next page.")


class EventResult(BaseModel):
    """What happened to one posted event."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"event_id": "cam1-0001", "status": "inserted", "error": None, "fields": []},
                {
                    "event_id": None,
                    "status": "error",
                    "error": "invalid Event: camera_id: string should have at least 1 character",
                    "fields": ["camera_id"],
                },
            ]
        }
    )

    event_id: str | None
    status: Literal["inserted", "duplicate", "error"]
    error: str | None = None
    fields: list[str] = Field(default_factory=list)


class PostResult(BaseModel):
    """Per-event results of a POST, in the order the events were sent, and the counts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "inserted": 1,
                    "duplicates": 0,
                    "failed": 0,
                    "results": [{"event_id": "cam1-0001", "status": "inserted", "fields": []}],
                }
            ]
        }
    )

    inserted: int
    duplicates: int
    failed: int
    results: list[EventResult]


class BucketOut(BaseModel):
    """One histogram cell."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"start": "2026-11-21T18:00:00Z", "key": "person", "count": 12}]
        }
    )

    start: datetime
    key: str | None
    count: int


_HEATMAP_EXAMPLE: dict[str, Any] = {
    "tz": "Europe/Berlin",
    "counts": [[0] * 8 + [4, 9] + [0] * 14 for _ in range(7)],
}


class HeatmapOut(BaseModel):
    """Events by weekday and hour of day in a time zone."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HEATMAP_EXAMPLE]})

    tz: str = Field(description="The time zone the weekdays and hours are in.")
    counts: list[list[int]] = Field(
        description="7 rows, Monday first, of 24 counts, one per hour of day from 00:00.",
        min_length=7,
        max_length=7,
    )


class PersonIn(BaseModel):
    """The editable fields of a person (the name comes from the path)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"authorized": True, "notes": "owner"}]}
    )

    authorized: bool = False
    notes: str | None = None


class ThumbnailOut(BaseModel):
    """Where an uploaded thumbnail was stored."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"thumbnail_url": "/api/events/e1/thumbnail"}]}
    )

    thumbnail_url: str


class CountOut(BaseModel):
    """How many events match."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 1234}]})

    count: int


class Health(BaseModel):
    """Liveness and what is behind it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "engine": "sqlite", "schema_version": 2}]}
    )

    status: Literal["ok"]
    engine: str
    schema_version: int


_PAGE = TypeAdapter(PageOut)
_BUCKETS = TypeAdapter(list[BucketOut])
_EVENT = TypeAdapter(StoredEvent)
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "A bearer token is required."},
    413: {"description": "The request body is too large."},
    422: {"description": "An argument or field is invalid; `detail` names it."},
}
_EXAMPLE_EVENT = {
    "camera_id": "front-door",
    "timestamp": "2026-11-21T18:04:05Z",
    "motion_confidence": 0.82,
    "detected_objects": [{"label": "person", "confidence": 0.91, "bbox": [0.1, 0.2, 0.3, 0.6]}],
    "llm_description": "A courier leaves a package on the step.",
}


def add_request_schemas(spec: dict[str, Any]) -> None:
    """Add the Event and EventChanges schemas to an OpenAPI document (bodies read raw)."""
    schema = Event.model_json_schema(ref_template="#/components/schemas/{model}")
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["Event"] = schema
    changes = {k: v for k, v in schema["properties"].items() if k not in FIXED}
    components["EventChanges"] = {
        "title": "EventChanges",
        "description": "Fields of an event to change: any Event field but event_id.",
        "type": "object",
        "properties": changes,
        "additionalProperties": False,
        "minProperties": 1,
    }


def _json(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/json")


Filters = Annotated[dict[str, Any], Depends(filter_dependency)]


def _store(request: Request) -> AsyncEventStore:
    store: AsyncEventStore = request.app.state.store
    return store


def _root(store: AsyncEventStore) -> Path:
    """Return the folder of the thumbnails camvault makes."""
    return store.store.thumbnails_dir


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _read(request: Request) -> None:
    await request.app.state.auth.read(request)


async def _write(request: Request) -> None:
    await request.app.state.auth.write(request)


Store = Annotated[AsyncEventStore, Depends(_store)]
Stats = Annotated[Metrics, Depends(_metrics)]
can_read = [Depends(_read)]
can_write = [Depends(_write)]
router = APIRouter(prefix="/api", responses=_ERRORS)


def _json_body(raw: bytes) -> Any:
    """Parse a JSON request body; InvalidInputError names the body when it cannot be read.

    orjson refuses nesting deeper than 1,024 levels and integers beyond 64 bits, where the
    standard library would run out of stack or spend seconds on a 5,000-digit number.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(
            "request", [("body", f"is not JSON camvault can read: {exc}")]
        ) from None


async def _insert_one(store: AsyncEventStore, item: Any) -> bool:
    """Insert one item of a posted batch; an item that is no JSON object is its own error."""
    if not isinstance(item, dict):
        kind = "null" if item is None else type(item).__name__
        raise InvalidEventError("Event", [("event", f"must be a JSON object, not {kind}")])
    return await store.insert_event(item)


@router.post(
    "/events",
    response_model=PostResult,
    dependencies=can_write,
    summary="Store one event or a list of events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Event"},
                            {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Event"},
                                "maxItems": MAX_BATCH,
                            },
                        ]
                    },
                    "examples": {
                        "one": {"value": _EXAMPLE_EVENT},
                        "batch": {"value": [_EXAMPLE_EVENT, {"camera_id": "driveway"}]},
                    },
                }
            },
        }
    },
)
async def post_events(request: Request, store: Store, metrics: Stats) -> Response:
    """Store events; each gets its own result (inserted, duplicate or error)."""
    body = _json_body(await request.body())
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_BATCH:
        raise InvalidInputError("request", [("body", f"send 1 to {MAX_BATCH} events")])
    sent = [i.get("event_id") if isinstance(i, dict) else None for i in items]
    # an event sent without an id gets it here, so that its result can name it once stored
    items = [
        {**i, "event_id": new_event_id()} if isinstance(i, dict) and "event_id" not in i else i
        for i in items
    ]
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(_insert_one(store, i) for i in items),
        return_exceptions=True,
    )
    metrics.insert_seconds.observe((time.perf_counter() - started) / len(items))
    results = []
    for item, client_id, outcome in zip(items, sent, outcomes, strict=True):
        stored_id = item.get("event_id") if isinstance(item, dict) else None
        # an id camvault made is named only if the event was stored under it
        event_id = stored_id if isinstance(outcome, bool) else client_id
        event_id = event_id if isinstance(event_id, str) else None
        if outcome is True:
            results.append(EventResult(event_id=event_id, status="inserted"))
        elif outcome is False:
            results.append(EventResult(event_id=event_id, status="duplicate"))
        elif isinstance(outcome, CamvaultError):
            fields = outcome.fields if isinstance(outcome, InvalidInputError) else []
            results.append(
                EventResult(event_id=event_id, status="error", error=str(outcome), fields=fields)
            )
        elif isinstance(outcome, Exception):  # a fault of this item alone: logged, reported
            log.error("event %r not stored", event_id, exc_info=outcome)
            results.append(
                EventResult(
                    event_id=event_id,
                    status="error",
                    error="unexpected error storing this event; see the server log",
                )
            )
        else:
            raise outcome
    counts = {s: sum(r.status == s for r in results) for s in ("inserted", "duplicate", "error")}
    database = [o for o in outcomes if isinstance(o, DatabaseError)]
    if database and counts["error"] == len(results):
        # nothing was stored because of the database (locked, full): 503/507, retry it all
        metrics.failures.inc(counts["error"])
        raise database[0]
    metrics.inserts.inc(counts["inserted"])
    metrics.duplicates.inc(counts["duplicate"])
    metrics.failures.inc(counts["error"])
    out = PostResult(
        inserted=counts["inserted"],
        duplicates=counts["duplicate"],
        failed=counts["error"],
        results=results,
    )
    status = 422 if counts["error"] == len(results) else 200
    return _json(out.model_dump_json().encode(), status)


@router.get("/events", response_model=PageOut, dependencies=can_read, summary="Find events")
async def get_events(
    store: Store,
    f: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    order: Literal["newest", "oldest"] = "newest",
) -> Response:
    """Find matching events, newest first (or oldest), with a cursor to the next page."""
    page = await store.query(limit=limit, cursor=cursor, order=order, **f)
    root = _root(store)
    events = [stored(root, e) for e in page.events]
    return _json(_PAGE.dump_json(PageOut(events=events, next_cursor=page.next_cursor)))


@router.get("/count", response_model=CountOut, dependencies=can_read, summary="Count events")
async def count_events(store: Store, f: Filters) -> CountOut:
    """Count the events that match the filters."""
    return CountOut(count=await store.count(**f))


# An id is one percent-encoded path segment (it may hold "/"): see camvault.web.paths.
@router.get(
    "/events/{event_id:event_id}/thumbnail",
    dependencies=can_read,
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/webp": {}}}, 404: {}},
)
async def get_thumbnail(event_id: str, store: Store) -> Response:
    """Send the thumbnail camvault made for the event (never another file)."""
    found = await store.read_thumbnail(event_id)
    if found is None:
        return _not_found(f"no thumbnail for event {event_id!r}")
    data, fmt = found
    return Response(data, media_type=f"image/{fmt}", headers={"Cache-Control": "max-age=3600"})


@router.get("/events/{event_id:event_id}", response_model=StoredEvent, dependencies=can_read)
async def get_event(event_id: str, store: Store) -> Response:
    """Get one event by id."""
    event = await store.get_event(event_id)
    if event is None:
        return _not_found(f"no event {event_id!r}")
    return _json(_EVENT.dump_json(stored(_root(store), event)))


@router.delete("/events/{event_id:event_id}", status_code=204, dependencies=can_write)
async def delete_event(event_id: str, store: Store) -> Response:
    """Remove one event with its detections and thumbnail."""
    if not await store.delete_event(event_id):
        return _not_found(f"no event {event_id!r}")
    return Response(status_code=204)


@router.patch(
    "/events/{event_id:event_id}",
    response_model=StoredEvent,
    dependencies=can_write,
    summary="Change fields of an event",
    responses={404: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/EventChanges"},
                    "examples": {
                        "keep forever": {"value": {"retain": True}},
                        "ended": {
                            "value": {"end_time": "2026-11-21T18:04:35Z", "zones": ["porch"]}
                        },
                    },
                }
            },
        }
    },
)
async def patch_event(event_id: str, request: Request, store: Store) -> Response:
    """Change fields of an event: any field but `event_id` (`retain`: never purged)."""
    body = _json_body(await request.body())
    if not isinstance(body, dict):
        raise InvalidInputError("request", [("body", "must be a JSON object of changes")])
    if "event_id" in body:
        raise InvalidInputError("request", [("event_id", "cannot be updated")])
    event = await store.update_event(event_id, **body)
    if event is None:
        return _not_found(f"no event {event_id!r}")
    return _json(_EVENT.dump_json(stored(_root(store), event)))


@router.put(
    "/events/{event_id:event_id}/thumbnail",
    response_model=ThumbnailOut,
    dependencies=can_write,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={404: {}},
)
async def put_thumbnail(event_id: str, request: Request, store: Store) -> ThumbnailOut:
    """Upload an image (JPEG, PNG, WebP...); stored as a bounded JPEG thumbnail."""
    if await store.get_event(event_id) is None:
        return _not_found(f"no event {event_id!r}")  # type: ignore[return-value]
    body = await request.body()
    try:  # past the pixel limits, refused from the header alone: nothing is decoded
        path = await store.set_thumbnail(event_id, body)  # database or disk: 503 / 507
    except thumbnails.ThumbnailError as exc:
        problem = f"is not an image camvault can use: {exc}"
        raise InvalidInputError("thumbnail", [("body", problem)]) from None
    if path is None:
        return _not_found(f"no event {event_id!r}")  # type: ignore[return-value]
    return ThumbnailOut(thumbnail_url=event_path(event_id, "/thumbnail"))


@router.get("/histogram", response_model=list[BucketOut], dependencies=can_read)
async def histogram(
    store: Store,
    f: Filters,
    bucket: Literal["hour", "day"] = "hour",
    by: Literal["label", "camera_id", "person_name"] | None = None,
    tz: Annotated[str, Query(description="IANA time zone for days.")] = "UTC",
) -> Response:
    """Count events per hour or day, optionally by label, camera or person."""
    buckets: list[Bucket] = await store.histogram(bucket, by=by, tz=tz, **f)
    out = [BucketOut(start=b.start, key=b.key, count=b.count) for b in buckets]
    return _json(_BUCKETS.dump_json(out))


@router.get("/heatmap", response_model=HeatmapOut, dependencies=can_read)
async def heatmap(
    store: Store,
    f: Filters,
    tz: Annotated[str, Query(description="IANA time zone of the weekdays and hours.")] = "UTC",
) -> HeatmapOut:
    """Count events by weekday and hour of day in ``tz`` (7 x 24, Monday first)."""
    return HeatmapOut(tz=tz, counts=await store.heatmap(tz=tz, **f))


class FilterChoices(BaseModel):
    """Where the values to offer for a filter come from: GET ``url``, read ``field`` of each."""

    url: str
    field: str


class FilterOut(BaseModel):
    """One query filter, as the dashboard builds its form field from it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "camera_id",
                    "type": "string",
                    "repeats": True,
                    "label": "Camera",
                    "help": "Events of this camera",
                    "examples": ["front-door"],
                    "placeholder": "all",
                    "minimum": None,
                    "maximum": None,
                    "choices": {"url": "/api/cameras", "field": "camera_id"},
                }
            ]
        }
    )

    name: str = Field(description="Keyword, query parameter and URL key.")
    type: Literal["string", "number", "time", "flag", "search"]
    repeats: bool = Field(description="One value or several (a repeated parameter).")
    label: str
    help: str
    examples: list[Any]
    placeholder: str = Field(description='The word for "no filter": all, anyone, any.')
    minimum: float | None
    maximum: float | None
    choices: FilterChoices | None


@router.get("/filters", response_model=list[FilterOut], dependencies=can_read)
async def filters() -> list[dict[str, Any]]:
    """List the query filters (name, type, label, help, where their choices come from)."""
    return describe()


@router.get("/cameras", response_model=list[Camera], dependencies=can_read)
async def cameras(store: Store) -> list[Camera]:
    """List every camera that has produced an event."""
    return await store.list_cameras()


@router.get("/persons", response_model=list[Person], dependencies=can_read)
async def persons(store: Store) -> list[Person]:
    """List every known person."""
    return await store.list_persons()


@router.get("/persons/{name}", response_model=Person, dependencies=can_read)
async def person(name: str, store: Store) -> Response:
    """Get one person by name."""
    found = await store.get_person(name)
    if found is None:
        return _not_found(f"no person {name!r}")
    return _json(found.model_dump_json().encode())


@router.put("/persons/{name}", response_model=Person, dependencies=can_write)
async def put_person(name: str, body: PersonIn, store: Store) -> Person:
    """Create or update a person (whether the lock may open for them, notes)."""
    return await store.upsert_person({"name": name, **body.model_dump()})


@router.delete("/persons/{name}", status_code=204, dependencies=can_write, responses={404: {}})
async def delete_person(name: str, store: Store) -> Response:
    """Forget a known person (their events stay)."""
    if not await store.delete_person(name):
        return _not_found(f"no person {name!r}")
    return Response(status_code=204)


@router.get("/healthz", response_model=Health)
async def healthz(store: Store) -> Health:
    """Report liveness: the store answers (one round trip to the database, no scan)."""
    info = await store.ping()
    return Health(status="ok", engine=info["engine"], schema_version=info["schema_version"])


@router.get(
    "/metrics",
    dependencies=can_read,
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus(store: Store, metrics: Stats) -> Response:
    """Report Prometheus metrics: inserts, duplicates, failures, latency, events stored."""
    metrics.events_stored.set(await store.count())  # from the hourly rollups: no scan
    return Response(metrics.render(), media_type=metrics.content_type)


@router.get(
    "/stream",
    dependencies=can_read,
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    store: Store,
    f: Filters,
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            description="Resume after this position (browsers send the last `id:` seen).",
        ),
    ] = None,
    poll: Annotated[
        float,
        Query(ge=0.05, le=10, deprecated=True, description="Ignored: new events come at once."),
    ] = 0.5,
) -> EventSourceResponse:
    """Stream new events matching the filters as server-sent events, in commit order.

    `event: event`, `id:` the event's position, data: the event JSON. A reconnecting
    client sends `Last-Event-ID` and gets every matching event committed meanwhile.
    """
    closing = anyio.Event()  # set on server shutdown: end the response cleanly, then exit
    watch = await store.watch(after=last_event_id, **f).start()  # bad filters: a 422 here
    root = _root(store)

    async def stop_on_shutdown() -> None:
        await closing.wait()
        watch.close()

    async def feed() -> Any:
        stopper = asyncio.create_task(stop_on_shutdown())
        try:
            async for event in watch:
                data = stored(root, event).model_dump_json()
                yield {"event": "event", "id": str(watch.position), "data": data}
        finally:
            stopper.cancel()
            watch.close()

    return EventSourceResponse(feed(), ping=15, shutdown_event=closing, shutdown_grace_period=5)


def _not_found(message: str) -> Response:
    return _json(json.dumps({"detail": message}).encode(), 404)
