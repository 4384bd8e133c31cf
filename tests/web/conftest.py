"""The web app in-process: an httpx client over ASGI, on a real temporary store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from camvault import AsyncEventStore
from camvault.web import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def astore(store_url: str) -> AsyncIterator[AsyncEventStore]:
    async with AsyncEventStore(store_url) as store:
        yield store


@pytest.fixture
async def make_client(
    astore: AsyncEventStore,
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(**options: Any) -> httpx.AsyncClient:
        app = create_app(astore, **options)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    """An app with no token configured (what a loopback-only server runs)."""
    return make_client()
