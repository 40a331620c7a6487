"""Pages carry a strict Content-Security-Policy whose nonce is the one on their scripts."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient


async def test_pages_have_a_fresh_nonce_that_their_scripts_carry(
    client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    nonces = []
    for path in ("/", f"/surveys/{open_survey}", "/sign-in"):
        response = await client.get(path)
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        scripts = re.findall(r"<script\b[^>]*>", response.text)
        assert scripts, path
        assert all(f'nonce="{nonce}"' in tag for tag in scripts), (path, scripts)
        assert response.headers["x-content-type-options"] == "nosniff"
        nonces.append(nonce)
    assert len(set(nonces)) == len(nonces)


async def test_api_gets_plain_security_headers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/districts")
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_paths_still_get_security_headers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["x-frame-options"] == "DENY"
