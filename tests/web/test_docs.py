"""/api/docs works offline: every asset it loads is served by camvault itself."""

from __future__ import annotations

import re

import httpx


async def test_docs_reference_no_external_host_and_assets_answer(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/api/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls), urls
    external = [u for u in urls if re.match(r"^(https?:)?//", u)]
    assert not external, f"/api/docs loads from other hosts: {external}"
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 200, url
        assert r.content, url


async def test_vendored_assets_carry_their_licences(client: httpx.AsyncClient) -> None:
    for folder in ("swagger-ui", "uplot"):
        r = await client.get(f"/static/vendor/{folder}/LICENSE")
        assert r.status_code == 200 and "License" in r.text
