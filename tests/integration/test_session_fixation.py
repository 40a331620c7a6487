"""Session ids come only from the server, and sign-in replaces the CSRF cookie too.

A browser can be made to carry a session id someone else chose (a planted cookie). The server
must never keep a session under an id it did not issue, on Litestar's path and on the resident
pages' fast path, whether sessions live in the database or in Redis.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.settings import Settings
from talking.surveys.fast_pages import FastPages

from ..conftest import make_user
from .conftest import STAFF
from .staff_helpers import SESSION_COOKIE, csrf_from, sign_in
from .test_redis_sessions import redis_url as redis_url  # the fixture: skips when Redis is not there

HOST = "testserver.local"
WAYS = ["litestar", "fast path"]
# Made up afresh each run (Redis outlives a test run): shaped like our ids, or not at all.
PLANTED = {"like ours": lambda: secrets.token_hex(32), "not like ours": lambda: "not-one-of-" + secrets.token_hex(4)}


@pytest.fixture(params=["database", "redis"])
def sessions_in(request: pytest.FixtureRequest, database_url: str) -> Settings:
    """Settings with sessions in the database (SQLite's sessions file) or in Redis."""
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    return Settings(database_url=database_url, secret_key="test-secret-key", redis_url=redis)


@asynccontextmanager
async def browser(settings: Settings, way: str) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """A browser on the app through Litestar alone, or through the resident pages' fast path."""
    app = create_app(settings)
    asgi = app if way == "litestar" else FastPages(app)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            yield app, client


def session_set(response: httpx.Response) -> str | None:
    """The session id the response's Set-Cookie gives, if any."""
    for header in response.headers.get_list("set-cookie"):
        if found := re.match(rf"{SESSION_COOKIE}=([^;]*)", header):
            return found.group(1)
    return None


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("planted", PLANTED)
async def test_a_session_id_the_server_never_issued_is_replaced(
    sessions_in: Settings, way: str, open_survey: int, planted: str
) -> None:
    async with browser(sessions_in, way) as (app, client):
        await _planted_id_is_replaced(app, client, open_survey, PLANTED[planted]())


async def _planted_id_is_replaced(app: Litestar, client: httpx.AsyncClient, open_survey: int, planted: str) -> None:
    client.cookies.set(SESSION_COOKIE, planted, domain=HOST)
    page = await client.get(f"/surveys/{open_survey}/district")
    assert page.status_code == 200
    assert session_set(page) is None  # nothing to keep yet: no session, and the planted id is not taken up
    answered = await client.post(
        f"/surveys/{open_survey}/district", data={"_csrf_token": csrf_from(page.text), "district": "E07000123"}
    )
    assert answered.status_code == 303
    issued = session_set(answered)
    assert issued and issued != planted
    assert re.fullmatch(r"[0-9a-f]{64}", issued)
    store = app.stores.get("sessions")
    assert not await store.exists(planted)
    assert await store.exists(issued)
    # The browser goes on with the issued id, and its progress is there.
    assert client.cookies.get(SESSION_COOKIE, domain=HOST) == issued
    shown = await client.get(f"/surveys/{open_survey}/district")
    assert 'value="E07000123" checked' in shown.text
    assert session_set(shown) in (None, issued)


@pytest.mark.parametrize("way", WAYS)
async def test_an_expired_or_signed_out_id_is_not_reused(sessions_in: Settings, way: str, open_survey: int) -> None:
    async with browser(sessions_in, way) as (app, client):
        await _expired_id_is_not_reused(app, client, open_survey)


async def _expired_id_is_not_reused(app: Litestar, client: httpx.AsyncClient, open_survey: int) -> None:
    page = await client.get(f"/surveys/{open_survey}/district")
    token = csrf_from(page.text)
    first = session_set(
        await client.post(f"/surveys/{open_survey}/district", data={"_csrf_token": token, "district": "E07000123"})
    )
    assert first
    await app.stores.get("sessions").delete(first)  # as when it expires
    again = await client.post(f"/surveys/{open_survey}/district", data={"_csrf_token": token, "district": "E07000117"})
    assert again.status_code == 303
    assert session_set(again) not in (None, first)


async def test_sign_in_replaces_the_csrf_cookie(app: Litestar, engine: AsyncEngine) -> None:
    await make_user(engine, STAFF, "staff")
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            form = await client.get("/sign-in")
            token_before, cookie_before = csrf_from(form.text), client.cookies["talking_csrf"]
            assert (await sign_in(client, STAFF)).status_code == 303  # type: ignore[arg-type]
            assert client.cookies["talking_csrf"] != cookie_before
            # A token seen before sign-in no longer passes for the signed-in session ...
            stale = await client.post("/sign-out", data={"_csrf_token": token_before}, follow_redirects=False)
            assert stale.status_code == 403
            # ... the one on its pages does.
            account = await client.get("/account")
            signed_out = await client.post(
                "/sign-out", data={"_csrf_token": csrf_from(account.text)}, follow_redirects=False
            )
            assert signed_out.status_code == 303
