"""Headers that every answer of a kind must carry, checked over every route of the route matrix.

- ``Cache-Control: no-store`` on everything but /assets/ (staff pages, exports, the API, and the
  resident pages, which carry a CSRF token and the resident's answers);
- a Content-Security-Policy on every HTML answer, error pages included, whose nonce is the one
  on the page's scripts;
- Strict-Transport-Security when the app is served over HTTPS, and never otherwise.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.questionnaires.schemas import QuestionCreate
from talking.settings import Settings

from ..conftest import make_member, make_token, make_user, publish_survey
from .staff_helpers import Client, csrf_from, sign_in
from .test_route_matrix import ROUTES, SAFE_METHODS, real_path

ADMIN = "admin@lancashire.test"
# Answers outside the route table: an unknown path (Litestar answers it before any middleware),
# a wrong method, and an id out of range.
EXTRA = [("GET", "/no-such-page"), ("GET", "/staff/no-such-page"), ("DELETE", "/"), ("GET", "/surveys/0")]


def header_faults(method: str, path: str, response: httpx.Response, *, https: bool) -> list[str]:
    """What is wrong with this answer's headers, if anything."""
    faults = []
    where = f"{method} {path} ({response.status_code})"
    cache = response.headers.get("cache-control", "")
    if not path.startswith("/assets/") and cache != "no-store":
        faults.append(f"{where}: Cache-Control {cache!r}, not no-store")
    if response.headers.get("content-type", "").startswith("text/html"):
        policy = response.headers.get("content-security-policy", "")
        nonce = re.search(r"'nonce-([^']+)'", policy)
        if "default-src 'self'" not in policy or nonce is None:
            faults.append(f"{where}: an HTML answer without the CSP")
        elif method != "HEAD":
            scripts = re.findall(r"<script\b[^>]*>", response.text)
            if not all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts):
                faults.append(f"{where}: a script without the CSP's nonce")
    hsts = response.headers.get("strict-transport-security")
    if https and (hsts is None or "max-age=63072000" not in hsts):
        faults.append(f"{where}: no Strict-Transport-Security over HTTPS")
    if not https and hsts is not None:
        faults.append(f"{where}: Strict-Transport-Security over plain HTTP")
    return faults


async def ids_for_paths(engine: AsyncEngine) -> dict[str, int]:
    """Real values for the matrix's path templates."""
    ids = {
        "open": await publish_survey(
            engine, questions=(QuestionCreate(kind="agreement", prompt="I feel safe", key="safe"),)
        ),
        "closed": await publish_survey(engine, title="Closed survey"),
        "user": await make_user(engine, "someone@lancashire.test", "staff"),
        "member": await make_member(engine),
    }
    ids["token"] = ids["user"]  # any id: a token that is not the caller's answers as the matrix says
    ids["pack"] = 1  # no such pack: its routes answer 404, which must carry the same headers
    return ids


async def every_answer(client: Client, ids: dict[str, int], token: str | None, csrf: str | None):
    """(method, path, response) for every route of the matrix (changes after reads), then EXTRA."""
    ordered = sorted(ROUTES.items(), key=lambda item: item[0][0] not in SAFE_METHODS)
    for (method, template), the_row in ordered:
        path = real_path(template, the_row, ids)
        api = path.startswith("/api/")
        headers = {"Authorization": f"Bearer {token}"} if token and api else {}
        data = None
        if method not in SAFE_METHODS and not api:
            data = {**(the_row.form or {}), **({"_csrf_token": csrf} if csrf else {})}
        response = await client.request(
            method, path, headers=headers, data=data, json=the_row.json, follow_redirects=False
        )
        yield method, path, response
    for method, path in EXTRA:
        yield method, path, await client.request(method, path, follow_redirects=False)


async def test_every_route_signed_in_as_an_admin(client: Client, engine: AsyncEngine) -> None:
    ids = await ids_for_paths(engine)
    admin = await make_user(engine, ADMIN, "admin")
    token = await make_token(engine, admin)
    assert (await sign_in(client, ADMIN)).status_code == 303
    csrf = csrf_from((await client.get("/account/tokens/new", follow_redirects=True)).text)
    faults, seen = [], set()
    async for method, path, response in every_answer(client, ids, token, csrf):
        seen.add(response.status_code)
        faults += header_faults(method, path, response, https=False)
    assert not faults, "\n".join(faults)
    assert {200, 303, 404, 405}.issubset(seen)


@pytest.fixture
async def https_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[Client]:
    """The app as served over HTTPS (TALKING_HTTPS), asked over https://."""
    app: Litestar = create_app(Settings(database_url=database_url, secret_key="test-secret-key", https=True))
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as test_client:
        yield test_client


async def test_every_route_over_https_has_hsts(https_client: Client, engine: AsyncEngine) -> None:
    ids = await ids_for_paths(engine)
    csrf = csrf_from((await https_client.get("/sign-in")).text)
    faults = []
    async for method, path, response in every_answer(https_client, ids, None, csrf):
        faults += header_faults(method, path, response, https=True)
    assert not faults, "\n".join(faults)


async def test_the_404_page_for_an_unknown_path_runs_its_script(client: Client) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    assert f'nonce="{nonce}"' in response.text
