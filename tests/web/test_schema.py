"""Property-based API testing from the OpenAPI schema: no request produces a server error."""

from __future__ import annotations

import asyncio
import shutil
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

# The schema is loaded when the module is collected, so the store behind it opens here
# (schemathesis' lazy fixture loader does not work with this pytest).
_FOLDER = Path(tempfile.mkdtemp(prefix="camvault-schema-"))
_STORE = AsyncEventStore(_FOLDER / "events.db")
asyncio.run(_STORE.initialize())
asyncio.run(_STORE.insert_events(sample_events(30, seed=5)))
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(_STORE, token=TOKEN))


@pytest.fixture(scope="module", autouse=True)
def _close_store() -> Iterator[None]:
    yield
    asyncio.run(_STORE.close())
    shutil.rmtree(_FOLDER, ignore_errors=True)


@schema.exclude(path="/api/stream").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_causes_a_server_error(case: Any) -> None:
    case.call_and_validate(headers=AUTH, checks=[not_a_server_error])


def test_schema_is_served(tmp_path: Path) -> None:
    spec = create_app(AsyncEventStore(tmp_path / "x.db")).openapi()
    assert spec["info"]["title"] == "camvault"
    assert all(path.startswith("/api/") for path in spec["paths"])
