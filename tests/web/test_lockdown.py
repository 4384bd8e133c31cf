"""The service locked down: read-only tokens, the session cookie, headers, CORS, failed logins."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from camvault.errors import InvalidInputError
from camvault.web import create_app
from tests.web.conftest import AUTH, TOKEN

READ_TOKEN = "wall-tablet-7c1d"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
EVENT = {"event_id": "lock-1", "camera_id": "porch", "llm_description": "A cat."}


async def test_a_read_token_reads_but_never_writes(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(token=TOKEN, read_token=READ_TOKEN)
    assert (await client.post("/api/events", json=EVENT, headers=AUTH)).status_code == 200
    listed = await client.get("/api/events", headers=READ)
    assert listed.status_code == 200
    assert [e["event_id"] for e in listed.json()["events"]] == ["lock-1"]
    for method, path in [
        ("POST", "/api/events"),
        ("DELETE", "/api/events/lock-1"),
        ("PATCH", "/api/events/lock-1"),
    ]:
        r = await client.request(method, path, json=EVENT, headers=READ)
        assert r.status_code == 403, (method, path)
        assert "may only read" in r.json()["detail"]
    # the event is still there, unchanged, as the write token sees it
    kept = await client.get("/api/events/lock-1", headers=AUTH)
    assert kept.status_code == 200 and kept.json()["retain"] is False


def test_a_read_token_needs_a_different_write_token() -> None:
    with pytest.raises(InvalidInputError, match=r"read_token.*--token"):
        create_app(":memory:", read_token=READ_TOKEN)
    with pytest.raises(InvalidInputError, match=r"read_token.*differ"):
        create_app(":memory:", token=TOKEN, read_token=TOKEN)
    with pytest.raises(InvalidInputError, match="read_token"):
        create_app(":memory:", token=TOKEN, read_token="  ")


async def test_the_session_cookie_reads_without_a_token_in_the_url(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(token=TOKEN, read_token=READ_TOKEN)
    assert (await client.post("/api/events", json=EVENT, headers=AUTH)).status_code == 200
    refused = await client.post("/api/session", headers={"Authorization": "Bearer guess"})
    assert refused.status_code == 401 and "camvault_session" not in refused.headers.get(
        "set-cookie", ""
    )
    started = await client.post("/api/session", headers=AUTH)
    assert started.status_code == 200 and started.json() == {"role": "write", "cookie": True}
    cookie = started.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie  # the cookie is derived from the token, not the token
    # the client now holds the cookie: reads work with no header and no access_token
    assert (await client.get("/api/events")).status_code == 200
    # but a write never rides on the cookie (a page elsewhere cannot make the browser write)
    assert (await client.delete("/api/events/lock-1")).status_code == 401
    assert (await client.get("/api/events/lock-1", headers=AUTH)).status_code == 200
    await client.delete("/api/session")
    assert (await client.get("/api/events")).status_code == 401


async def test_a_session_ends_when_the_token_changes(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    old = make_client(token=TOKEN)
    cookie = (await old.post("/api/session", headers=AUTH)).cookies["camvault_session"]
    renewed = make_client(token="a-new-token-after-a-leak")
    renewed.cookies.set("camvault_session", cookie)
    r = await renewed.get("/api/events")
    assert r.status_code == 401


async def test_a_read_session_stays_read_only(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(token=TOKEN, read_token=READ_TOKEN)
    started = await client.post("/api/session", headers=READ)
    assert started.json() == {"role": "read", "cookie": True}
    assert (await client.get("/api/events")).status_code == 200
    forged = started.cookies["camvault_session"].replace("read.", "write.", 1)
    other = make_client(token=TOKEN, read_token=READ_TOKEN)
    other.cookies.set("camvault_session", forged)
    r = await other.get("/api/events")
    assert r.status_code == 401


async def test_every_answer_carries_the_security_headers(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    client = make_client(token=TOKEN)
    for path in ("/", "/api/events", "/static/app.js", "/api/no-such-route"):
        r = await client.get(path)
        policy = r.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", path  # no inline script, no eval
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
    docs = await client.get("/api/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


async def test_no_cors_unless_an_origin_is_configured(
    make_client: Callable[..., httpx.AsyncClient],
) -> None:
    preflight = {
        "Origin": "https://ha.example.org",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    closed = make_client(token=TOKEN)
    r = await closed.options("/api/events", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    r = await closed.get("/api/events", headers={**AUTH, "Origin": "https://ha.example.org"})
    assert "access-control-allow-origin" not in r.headers
    opened = make_client(token=TOKEN, allow_origins=["https://ha.example.org"])
    r = await opened.options("/api/events", headers=preflight)
    assert r.headers["access-control-allow-origin"] == "https://ha.example.org"
    r = await opened.options("/api/events", headers={**preflight, "Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in r.headers


def test_a_bad_origin_is_refused_by_name() -> None:
    for origin in ("ha.example.org", "https://ha.example.org/path", "ftp://x"):
        with pytest.raises(InvalidInputError, match="allow_origin"):
            create_app(":memory:", allow_origins=[origin])


async def test_wrong_tokens_are_logged_without_the_token_and_rate_limited(
    make_client: Callable[..., httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    app_client = make_client(token=TOKEN)
    transport = app_client._transport
    attacker = httpx.AsyncClient(
        transport=httpx.ASGITransport(transport.app, client=("203.0.113.9", 5000)),  # type: ignore[attr-defined]
        base_url="http://test",
    )
    neighbour = httpx.AsyncClient(
        transport=httpx.ASGITransport(transport.app, client=("203.0.113.10", 5000)),  # type: ignore[attr-defined]
        base_url="http://test",
    )
    guesses = [f"guess-{i}-zq" for i in range(10)]
    with caplog.at_level(logging.WARNING, logger="camvault.web"):
        for guess in guesses:
            r = await attacker.get("/api/events", headers={"Authorization": f"Bearer {guess}"})
            assert r.status_code == 401
        # the eleventh try is refused before its token is even looked at, the right one too
        r = await attacker.get("/api/events", headers=AUTH)
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert "too many wrong tokens" in r.json()["detail"]
    refusals = [rec.getMessage() for rec in caplog.records if "refused" in rec.getMessage()]
    assert len(refusals) == 10
    assert all("203.0.113.9" in line and "/api/events" in line for line in refusals)
    assert not any(guess in line for line in refusals for guess in guesses)
    # another client is not punished for the attacker
    assert (await neighbour.get("/api/events", headers=AUTH)).status_code == 200
    # a request without any token is not a failed login (the dashboard's first load)
    for _ in range(20):
        assert (await neighbour.get("/api/events")).status_code == 401
    assert (await neighbour.get("/api/events", headers=AUTH)).status_code == 200
    await attacker.aclose()
    await neighbour.aclose()
