"""The FastAPI application: REST API, dashboard and error handling.

Every error a request can cause becomes a 4xx (or 503 / 507 for the database) JSON answer
that names what was wrong; no request produces a 500 or shows a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from camvault.aio import AsyncEventStore
from camvault.errors import (
    CamvaultError,
    DatabaseBusyError,
    DatabaseWriteError,
    InvalidInputError,
    StoreClosedError,
)
from camvault.web.api import add_request_schemas, router
from camvault.web.metrics import Metrics
from camvault.web.paths import EncodedSlashes
from camvault.web.security import Auth, BodyLimit, SecurityHeaders, check_origins
from camvault.web.session import router as session_router

__all__ = ["Background", "create_app"]

log = logging.getLogger("camvault.web")
STATIC = Path(__file__).parent / "static"
SWAGGER = "/static/vendor/swagger-ui"
MAX_BODY = 16 * 1024 * 1024

Background = Callable[[AsyncEventStore, asyncio.Event], Awaitable[object]]
"""Work the service runs beside the app (an ingest): given the store and its stop event."""


def _problem(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """Name a request field from a FastAPI error location (dropping 'query', 'body'...)."""
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "body"


def create_app(
    database: str | os.PathLike[str] | AsyncEventStore,
    *,
    token: str | None = None,
    read_token: str | None = None,
    public_read: bool = False,
    max_body: int = MAX_BODY,
    allow_origins: Sequence[str] = (),
    background: Sequence[Background] = (),
) -> FastAPI:
    """Build the app over a database path (opened for the app's lifetime) or an open store.

    An empty or blank ``token`` is refused (InvalidInputError, a ValueError): leave it out
    (None) for a loopback-only server. ``read_token`` may only read. Browsers on other
    origins may call the API only when named in ``allow_origins`` (no CORS otherwise). Each
    of ``background`` runs from startup to shutdown on the app's store, and is asked to stop
    (its event set) before the store closes.
    """
    auth = Auth(token, read_token=read_token, public_read=public_read)
    origins = check_origins(allow_origins)
    store = database if isinstance(database, AsyncEventStore) else AsyncEventStore(database)
    owns_store = not isinstance(database, AsyncEventStore)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await store.initialize()
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(work(store, stop)) for work in background]
        for task in tasks:
            task.add_done_callback(_report)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task
            if owns_store:
                await store.close()

    app = FastAPI(
        title="camvault",
        summary="The event store for camera and smart-lock pipelines.",
        version=_version(),
        lifespan=lifespan,
        docs_url=None,  # served below from camvault's own copy of Swagger UI (works offline)
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.auth = auth
    app.state.metrics = Metrics()
    app.include_router(router)
    app.include_router(session_router)
    app.add_middleware(BodyLimit, max_bytes=max_body)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(EncodedSlashes)
    # the dashboard's scripts and styles (about 120 kB) go compressed, a third of that on a
    # slow phone link; API answers are left as they are (their time is the measured one)
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC)), name="static")
    app.state.store = store

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_request_schemas(FastAPI.openapi(app))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="camvault API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.exception_handler(InvalidInputError)
    async def invalid(_: Request, exc: InvalidInputError) -> JSONResponse:
        fields = [{"field": f, "message": m} for f, m in exc.problems]
        return _problem(422, fields)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg")} for e in exc.errors()
        ]
        return _problem(422, fields)

    @app.exception_handler(CamvaultError)
    async def unavailable(_: Request, exc: CamvaultError) -> JSONResponse:
        if isinstance(exc, DatabaseBusyError | StoreClosedError):
            return _problem(503, str(exc), {"Retry-After": "1"})
        if isinstance(exc, DatabaseWriteError):
            return _problem(507, str(exc))
        return _problem(503, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return _problem(500, "unexpected server error; see the server log")

    return app


def _report(task: asyncio.Future[object]) -> None:
    """Log a background task that ended with an error (the web app goes on)."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("background ingest stopped: %s", exc)


def _version() -> str:
    from camvault import __version__

    return __version__
