"""Property-based API testing from the OpenAPI schema: no request produces a server error."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from camvault import AsyncEventStore
from camvault.sample import sample_events
from camvault.web import create_app
from tests.web.conftest import AUTH, TOKEN

# The schema is read when the module is collected (schemathesis' lazy fixture loader does not
# work with this pytest): an app over a store that is never opened serves it. Requests go to
# each test's own app (the ``app`` fixture), so no two tests share a store.
with tempfile.TemporaryDirectory(prefix="camvault-schema-") as _folder:
    _SPEC = create_app(AsyncEventStore(Path(_folder) / "never-opened.db"), token=TOKEN).openapi()
schema = schemathesis.openapi.from_dict(_SPEC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    """The API over a store of this test's own, holding 30 sample events."""
    store = AsyncEventStore(tmp_path / "events.db")
    asyncio.run(store.initialize())
    asyncio.run(store.insert_events(sample_events(30, seed=5)))
    yield create_app(store, token=TOKEN)
    asyncio.run(store.close())


@schema.exclude(path="/api/stream").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same requests on every run and every xdist worker
    suppress_health_check=list(HealthCheck),
)
def test_no_request_causes_a_server_error(case: Any, app: Any) -> None:
    case.call_and_validate(app=app, headers=AUTH, checks=[not_a_server_error])


def test_schema_is_served(tmp_path: Path) -> None:
    spec = create_app(AsyncEventStore(tmp_path / "x.db")).openapi()
    assert spec["info"]["title"] == "camvault"
    assert all(path.startswith("/api/") for path in spec["paths"])
