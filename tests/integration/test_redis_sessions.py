"""With TALKING_REDIS_URL, web sessions live in Redis, shared by every worker."""

from __future__ import annotations

import os
import re
import secrets

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from talking.app import create_app
from talking.settings import Settings

from ..conftest import IN_CI

REDIS_URL = os.environ.get("TALKING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_url() -> str:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        if IN_CI:
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


async def test_resident_progress_is_kept_in_redis(database_url: str, redis_url: str, open_survey: int) -> None:
    settings = Settings(database_url=database_url, secret_key="k" + secrets.token_hex(8), redis_url=redis_url)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        page = await client.get(f"/surveys/{open_survey}/district")
        token = client.cookies.get("talking_csrf")
        answered = await client.post(
            f"/surveys/{open_survey}/district",
            data={"district": "E07000123", "_csrf_token": token},
            follow_redirects=False,
        )
        assert page.status_code == 200
        assert answered.status_code == 303
        session_id = client.cookies.get("talking_session")
        assert session_id
        redis = Redis.from_url(redis_url)
        try:
            keys = [key.decode() async for key in redis.scan_iter(match="*talking_sessions*")]
            assert any(session_id in key for key in keys), keys
        finally:
            await redis.aclose()
        # A second app (another worker) with the same Redis sees the resident's progress.
        other = create_app(settings)
        async with AsyncTestClient(app=other) as second:
            second.cookies.set("talking_session", session_id)
            back = await second.get(f"/surveys/{open_survey}/district")
            chosen = re.search(r'<input[^>]*value="E07000123"[^>]*>', back.text)
            assert chosen is not None and "checked" in chosen.group(0)
