"""camvault: the event store for camera and smart-lock pipelines."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from camvault.aio import AsyncEventStore
from camvault.errors import (
    CamvaultError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseWriteError,
    InvalidEventError,
    InvalidInputError,
    InvalidPersonError,
    InvalidQueryError,
    MigrationError,
    StoreClosedError,
)
from camvault.models import (
    BatchFailure,
    BatchResult,
    Bucket,
    Camera,
    DetectedObject,
    Event,
    Page,
    Person,
    PurgeResult,
)
from camvault.store import EventStore

try:
    __version__ = version("camvault")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AsyncEventStore",
    "BatchFailure",
    "BatchResult",
    "Bucket",
    "Camera",
    "CamvaultError",
    "DatabaseBusyError",
    "DatabaseError",
    "DatabaseWriteError",
    "DetectedObject",
    "Event",
    "EventStore",
    "InvalidEventError",
    "InvalidInputError",
    "InvalidPersonError",
    "InvalidQueryError",
    "MigrationError",
    "Page",
    "Person",
    "PurgeResult",
    "StoreClosedError",
    "__version__",
]
