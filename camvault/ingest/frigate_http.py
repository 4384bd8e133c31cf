"""Frigate's HTTP API as the live consumer uses it: detect sizes, missed events, snapshots.

Every request goes through one :class:`FrigateApi`; a failure to reach Frigate (refused,
timed out, a 5xx answer) raises :class:`FrigateUnavailable` and is logged once when the outage
starts and once when it ends, whichever request notices it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from camvault.errors import InvalidInputError
from camvault.ingest.frigate_map import Frame
from camvault.ingest.mqtt import Outage

__all__ = ["FrigateApi", "FrigateUnavailable", "check_frigate_url"]

log = logging.getLogger("camvault.ingest.frigate")

PAGE = 100
"""Events asked for per page of ``/api/events`` (Frigate's own default limit)."""


class FrigateUnavailable(Exception):
    """Frigate's HTTP API could not be reached (or answered 5xx); try again later."""


def check_frigate_url(url: str, field: str = "frigate_url") -> str:
    """Return ``http(s)://host[:port][/prefix]`` without a trailing slash; InvalidInputError."""
    problem = "expected http://host:5000 or https://host[:port][/path]"
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError("Frigate URL", [(field, problem)])
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise InvalidInputError(
            "Frigate URL", [(field, f"{url!r} must start with http:// or https://")]
        )
    try:
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise InvalidInputError(
            "Frigate URL", [(field, f"{url!r} has a port that is not a number from 1 to 65535")]
        ) from None
    if not parts.hostname:
        raise InvalidInputError("Frigate URL", [(field, f"{url!r} names no host")])
    if parts.query or parts.fragment:
        raise InvalidInputError("Frigate URL", [(field, f"{url!r} has a query; {problem}")])
    return url.strip().rstrip("/")


class FrigateApi:
    """A client of one Frigate's HTTP API (an httpx.AsyncClient underneath)."""

    def __init__(self, url: str, *, timeout: float = 10.0, max_delay: float = 30.0) -> None:
        self.url = check_frigate_url(url)
        self.max_delay = max_delay
        self.outage = Outage(f"Frigate API {self.url}", log)
        self.client = httpx.AsyncClient(
            base_url=self.url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )

    async def close(self) -> None:
        """Close the connections."""
        await self.client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET ``path``; a 404 is returned, an outage raises FrigateUnavailable."""
        try:
            response = await self.client.get(path, params=params)
        except httpx.HTTPError as exc:
            self.outage.failed(exc, self.max_delay)
            raise FrigateUnavailable(str(exc) or type(exc).__name__) from exc
        if response.status_code >= 500:
            error = FrigateUnavailable(f"HTTP {response.status_code} for {path}")
            self.outage.failed(error, self.max_delay)
            raise error
        self.outage.connected(f"connected to Frigate API {self.url}")
        return response

    async def _json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` as JSON; anything but a JSON 200 is FrigateUnavailable."""
        response = await self._get(path, params)
        if response.status_code != 200:
            raise FrigateUnavailable(f"HTTP {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise FrigateUnavailable(f"{path} did not answer JSON") from exc

    async def frames(self) -> dict[str, Frame]:
        """Return each camera's detect size from ``/api/config``."""
        config = await self._json("/api/config")
        cameras = config.get("cameras") if isinstance(config, dict) else None
        frames: dict[str, Frame] = {}
        for name, camera in (cameras or {}).items():
            detect = camera.get("detect") if isinstance(camera, dict) else None
            if not isinstance(detect, dict):
                continue
            width, height = detect.get("width"), detect.get("height")
            if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
                frames[str(name)] = (width, height)
        return frames

    async def events(
        self, *, after: float | None = None, in_progress: bool = False, page: int = PAGE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of ``/api/events`` (newest first), every event once.

        Pages go back in time with ``before`` (which every Frigate version has). The next
        page starts at the oldest start time of the last one, so events sharing that instant
        are not skipped, unless that instant filled a whole page (then it is passed over).
        Ids already yielded are dropped.
        """
        seen: set[str] = set()
        before: float | None = None
        oldest: float | None = None
        while True:
            params: dict[str, Any] = {"limit": page, "include_thumbnails": 0}
            if after is not None:
                params["after"] = after
            if before is not None:
                params["before"] = before
            if in_progress:
                params["in_progress"] = 1
            rows = await self._json("/api/events", params)
            if not isinstance(rows, list):
                raise FrigateUnavailable("/api/events did not answer a list")
            fresh = [row for row in rows if _new_row(row, seen)]
            if fresh:
                seen.update(row["id"] for row in fresh)
                yield fresh
            starts = [row["start_time"] for row in rows if _number(row.get("start_time"))]
            if len(rows) < page or not starts:
                return
            low = min(starts)
            before = low if low == oldest else low + 1e-6  # before is exclusive
            oldest = low

    async def event(self, event_id: str) -> dict[str, Any] | None:
        """Return one event of ``/api/events/<id>``, or None if Frigate does not know it."""
        response = await self._get(f"/api/events/{quote(event_id, safe='')}")
        if response.status_code != 200:
            return None
        try:
            row = response.json()
        except ValueError:
            return None
        return row if isinstance(row, dict) else None

    async def snapshot(self, event_id: str) -> bytes | None:
        """Return the event's snapshot JPEG, or None if Frigate has none (404)."""
        response = await self._get(f"/api/events/{quote(event_id, safe='')}/snapshot.jpg")
        if response.status_code != 200 or not response.content:
            return None
        return response.content


def _new_row(row: Any, seen: set[str]) -> bool:
    """Tell an event item with an id not yielded yet apart."""
    return isinstance(row, dict) and isinstance(row.get("id"), str) and row["id"] not in seen


def _number(value: Any) -> bool:
    """Tell a JSON number (not a boolean) apart."""
    return isinstance(value, int | float) and not isinstance(value, bool)
