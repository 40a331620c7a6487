"""No input is a 500: every registered route, sent every class of bad body and query, by a signed-in admin,
through Litestar alone and through the fast paths in front of it.

The admin holds every role, a session with a valid CSRF token (sent as a header, so a form that
cannot be read still reaches the handler) and a bearer token for /api/. Path parameters name real
things (a draft with a question, an open survey, another account, a token), so the requests go as
deep as they can. On SQLite and PostgreSQL (PostgreSQL refuses NUL in text, which SQLite stores).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.auth.services import create_token
from talking.members.manage import manage_token
from talking.questionnaires.schemas import QuestionCreate
from talking.surveys.fast_pages import FastPages
from talking.surveys.fast_submit import FastSubmit

from ..conftest import make_member, make_token, make_user, publish_survey
from .join_helpers import walk_to_check
from .staff_helpers import Client, sign_in

ADMIN = "admin@lancashire.test"
BAD_TEXT = "\x00\x1b[31m\u202e\x85\ud7ff"
DEEP = b"[" * 1000 + b"]" * 1000
# Every field name any form of ours reads, so each handler finds its fields and judges them.
FIELDS = [
    "title", "introduction", "issues", "custom-1-code", "custom-1-label", "custom-1-position", "max_picks",
    "districts", "ask_about_you", "kind", "prompt", "hint", "options", "required", "email", "role", "password",
    "confirm_password", "name", "active", "direction", "district", "picks", "comment", "age_band", "sex", "answer",
    "position-speeding", "opens-day", "opens-month", "opens-year", "opens-time", "closes-day", "next",
    "postcode", "consent",
]  # fmt: skip
JSON_BODIES: list[tuple[bytes, str | None]] = [
    (DEEP, "application/json"),
    (b'{"a":' * 1000 + b"1" + b"}" * 1000, "application/json"),
    (b'{"title": "a", "title": "b", "issues": ["speeding", "burglary"]}', "application/json"),
    (
        b'{"title": "\\u0000", "issues": ["speeding", "burglary"],'
        b' "questions": [{"kind": "free_text", "prompt": "\\u202e"}]}',
        "application/json",
    ),
    (
        b'{"district": "\\u0000", "picks": ["\\u0000"], "comment": "\\u0000", "answers": {"\\u0000": "\\u0000"}}',
        "application/json",
    ),
    (b"\xff\xfe", "application/json"),
    (b'{"title": "x"}', "text/plain"),
    (b'{"title": "x"}', None),
    (b'{"district": "E07000123", "picks": ["fraud"], "district": "E07000123"}', "application/json"),
]
FORM_BODIES: list[tuple[bytes, str]] = [
    ("&".join(f"{name}=%00%1B%5B31m%E2%80%AE%C2%85" for name in FIELDS).encode(), "application/x-www-form-urlencoded"),
    ("&".join(f"{name}={'x' * 1500}" for name in FIELDS).encode(), "application/x-www-form-urlencoded"),
    (b"title=%FF&email=%C0%AE&comment=%ED%A0%80", "application/x-www-form-urlencoded"),
    (b"%%%&=&==&title", "application/x-www-form-urlencoded"),
    (
        b'--x\r\nContent-Disposition: form-data; name="title"\r\n\r\n\xff\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
]
QUERY = {name: BAD_TEXT for name in ("actor", "action", "page", "next", "change", "format", "district", "signed-out")}


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture(params=["litestar", "fast-paths"])
async def client(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """The app in-process: Litestar alone, or with the fast paths `talking serve` puts in front of it."""
    served = app if request.param == "litestar" else FastSubmit(app, then=FastPages(app))
    async with AsyncTestClient(app=served) as test_client:  # type: ignore[arg-type]
        yield test_client


def routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every handler, sign-out last."""
    found = sorted(
        {
            (method, route.path)
            for route in app.routes
            for handler in getattr(route, "route_handlers", ())
            for method in handler.http_methods
            if method != "OPTIONS"
        },
        key=lambda item: item == ("POST", "/sign-out"),
    )
    return found


def real_path(template: str, ids: dict[str, Any]) -> str:
    """The template with real values: residents' routes on the open survey, staff's on the draft."""
    survey = ids["open"] if template.startswith("/surveys/") or "/responses" in template else ids["draft"]
    values = {"survey_id": survey, "user_id": ids["user"], "token_id": ids["token"], "key": "q1", "page": "check"}
    values["member_id"] = ids["member"]
    values["pack_id"] = ids.get("pack", 1)
    values["token"] = "not-a-signed-token"
    values |= {"file_path": "talking.css", "path": "swagger", "code": "E07000123"}
    path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), template)
    if template.startswith("/members/you"):  # a member's own pages: their real link, so the forms are read
        path += "?token=" + manage_token("test-secret-key", ids["member"])
    return path


async def test_no_route_answers_any_bad_input_with_a_500(app: Litestar, client: Client, engine: AsyncEngine) -> None:
    admin_id = await make_user(engine, ADMIN, "admin")
    bearer = {"Authorization": f"Bearer {await make_token(engine, admin_id)}"}
    ids = {
        "open": await publish_survey(engine),
        "user": await make_user(engine, "someone@lancashire.test", "staff"),
        "member": await make_member(engine),
    }
    async with engine.begin() as conn:
        ids["token"] = (await create_token(conn, ids["user"], "spare"))[1].id
    draft = {
        "title": "Draft",
        "issues": ["speeding", "burglary"],
        "max_picks": 2,
        "questions": [QuestionCreate(kind="free_text", prompt="Why?", key="q1")],
    }
    created = await client.post("/api/v1/surveys", json=msgspec.to_builtins(draft), headers=bearer)
    assert created.status_code == 201, created.text
    ids["draft"] = created.json()["id"]
    assert (await sign_in(client, ADMIN)).status_code == 303
    # The join pages' answers so far, so their later pages read what is sent rather than send the caller back.
    await walk_to_check(client, "joining@example.org", district="E07000123")
    csrf = {"x-csrftoken": client.cookies["talking_csrf"]}

    server_errors = []
    for method, template in routes(app):
        path = real_path(template, ids)
        headers = {**csrf, **(bearer if path.startswith("/api/") else {})}
        if method in ("GET", "HEAD"):
            attempts = [dict(params=QUERY), dict(params={"page": "9" * 400, "actor": "x" * 10_000})]
        else:
            attempts = [
                dict(content=body, headers={**headers, **({"content-type": kind} if kind else {})})
                for body, kind in [*JSON_BODIES, *FORM_BODIES]
            ]
        for attempt in attempts:
            attempt.setdefault("headers", headers)
            response = await client.request(method, path, follow_redirects=False, **attempt)  # type: ignore[arg-type]
            if response.status_code >= 500:
                server_errors.append((method, template, response.status_code, str(attempt.get("content", b""))[:60]))
    assert not server_errors, server_errors
