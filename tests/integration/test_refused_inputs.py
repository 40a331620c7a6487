"""Inputs that must be refused, and bodies and paths that must never be a 500, through the real app.

Each class of bad input (web/request_bodies.py, talking/text.py, questionnaires/wording.py,
web/assets.py) on every route or field that takes it: the staff JSON API (with a bearer token),
the staff and account pages (signed in through the real form) and the resident pages. Every
refusal is a clear 4xx (problem details on the API, a GOV.UK page with an error summary on pages)
and stores nothing. The residents' JSON route is held to the same classes, on both its paths, in
test_fast_submit.py. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import api_tokens, sign_in_throttle, survey_questions, surveys, users
from talking.surveys.fast_pages import FastPages

from ..conftest import count_stored, live_server, make_token, make_user, publish_survey
from .staff_helpers import Client, csrf_from, error_summary, sign_in, submit

PROBLEM = "application/problem+json"
STAFF = "staff@lancashire.test"
ADMIN = "admin@lancashire.test"
DEFINITION: dict[str, Any] = {
    "title": "Chorley community safety 2027",
    "introduction": "Tell us what matters.",
    "issues": ["speeding", "burglary", {"code": "parking-near-schools", "label": "Parking near schools"}],
    "max_picks": 2,
    "questions": [
        {"kind": "single_choice", "prompt": "How often?", "hint": "Think of last month", "options": ["Often", "Never"]}
    ],
}
DEEP_ARRAYS = b"[" * 1000 + b"]" * 1000
DEEP_OBJECTS = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture(params=["litestar", "fast-pages"])
async def resident(app: Litestar, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """A client of the resident pages: through Litestar alone, or through their fast path in front of it."""
    served = app if request.param == "litestar" else FastPages(app)
    async with AsyncTestClient(app=served) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture
async def bearer(engine: AsyncEngine) -> dict[str, str]:
    """A member of staff's API token."""
    token = await make_token(engine, await make_user(engine, "api@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def draft(client: Client, bearer: dict[str, str]) -> int:
    """A draft made through the API, for the PUT route."""
    created = await client.post("/api/v1/surveys", json=DEFINITION, headers=bearer)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def count(engine: AsyncEngine, table: Any) -> int:
    """Rows in a table."""
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def stored_titles(engine: AsyncEngine) -> list[str]:
    """Every survey's title, oldest first."""
    async with engine.connect() as conn:
        return list((await conn.execute(select(surveys.c.title).order_by(surveys.c.id))).scalars())


def with_field(path: str, value: Any) -> dict[str, Any]:
    """DEFINITION with one field (dotted, list indexes as numbers) set to ``value``."""
    definition = msgspec.json.decode(msgspec.json.encode(DEFINITION))
    *parents, last = path.split(".")
    target = definition
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return definition


def assert_problem(response: Any, status: int | tuple[int, ...], slug: str | None = None) -> dict[str, Any]:
    """A problem+json answer with this status (and type); returns it."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    if slug:
        assert problem["type"] == f"https://talking.invalid/problems/{slug}", problem
    return problem


# --- the staff JSON API: bodies ----------------------------------------------------------------------

JSON_ROUTES = [("POST", "/api/v1/surveys"), ("PUT", "/api/v1/surveys/{draft}/definition")]
REFUSED_MEDIA_TYPES = [
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "application/json, text/plain",
    "application/problem+json",
    "json",
    "",
]
ACCEPTED_MEDIA_TYPES = ["application/json", "application/json; charset=utf-8", 'APPLICATION/Json; Charset="UTF-8"']


async def send(client: Client, method: str, path: str, draft: int, body: bytes, headers: dict[str, str]) -> Any:
    """One request to a staff JSON route."""
    return await client.request(method, path.format(draft=draft), content=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("content_type", REFUSED_MEDIA_TYPES)
async def test_json_only_as_application_json(
    client: Client, engine: AsyncEngine, bearer: dict[str, str], draft: int, method: str, path: str, content_type: str
) -> None:
    headers = {**bearer, **({"content-type": content_type} if content_type is not None else {})}
    body = msgspec.json.encode({**DEFINITION, "title": "Sent cross-site"})
    problem = assert_problem(await send(client, method, path, draft, body, headers), 415, "unsupported-media-type")
    assert "application/json" in problem["detail"]
    assert await stored_titles(engine) == [DEFINITION["title"]]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("content_type", ACCEPTED_MEDIA_TYPES)
async def test_application_json_in_any_spelling_is_taken(
    client: Client, bearer: dict[str, str], draft: int, method: str, path: str, content_type: str
) -> None:
    response = await send(
        client, method, path, draft, msgspec.json.encode(DEFINITION), {**bearer, "content-type": content_type}
    )
    assert response.status_code in (200, 201), response.text


BAD_BODIES = {
    "deep arrays": (DEEP_ARRAYS, 400, "json-too-deep"),
    "deep objects": (DEEP_OBJECTS, 400, "json-too-deep"),
    "deep in a field": (b'{"title": "x", "issues": ' + DEEP_ARRAYS + b"}", 400, "json-too-deep"),
    "deep in a list": (b'{"title": "x", "issues": ["speeding", ' + DEEP_OBJECTS + b"]}", 400, "json-too-deep"),
    "nested a little": (b"[" * 200 + b"]" * 200, 422, "invalid-request"),
    "duplicate title": (b'{"title": "Real", "title": "Other", "issues": ["speeding", "burglary"]}', 400, None),
    "duplicate escaped": (b'{"title": "Real", "t\\u0069tle": "Other", "issues": ["speeding", "burglary"]}', 400, None),
    "duplicate in a custom issue": (
        b'{"title": "T", "issues": ["speeding", {"code": "a-b", "label": "A", "label": "B"}]}',
        400,
        "duplicate-json-key",
    ),
    "duplicate in a question": (
        b'{"title": "T", "issues": ["speeding", "burglary"], "questions": [{"kind": "free_text",'
        b' "prompt": "Q", "kind": "agreement"}]}',
        400,
        "duplicate-json-key",
    ),
    "malformed": (b'{"title": ', 400, None),
    "not utf-8": (b'{"title": "\xff", "issues": []}', 400, None),
    "lone surrogate": (b'{"title": "\\ud800", "issues": ["speeding", "burglary"]}', 400, None),
    "nan": (b'{"title": "T", "issues": ["speeding", "burglary"], "max_picks": NaN}', 400, None),
    "huge number": (
        b'{"title": "T", "issues": ["speeding", "burglary"], "max_picks": 1' + b"0" * 5000 + b"}",
        (400, 422),
        None,
    ),
    "empty": (b"", (400, 422), None),
    "null": (b"null", (400, 422), None),
}


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("name", list(BAD_BODIES))
async def test_bad_json_bodies_are_problems_and_store_nothing(
    client: Client, engine: AsyncEngine, bearer: dict[str, str], draft: int, method: str, path: str, name: str
) -> None:
    body, status, slug = BAD_BODIES[name]
    headers = {**bearer, "content-type": "application/json"}
    assert_problem(await send(client, method, path, draft, body, headers), status, slug)
    assert await stored_titles(engine) == [DEFINITION["title"]]
    assert await count(engine, survey_questions) == 1


async def test_a_repeated_key_is_named(client: Client, bearer: dict[str, str]) -> None:
    body = b'{"title": "Real", "issues": ["speeding", "burglary"], "title": "Other"}'
    response = await client.post(
        "/api/v1/surveys", content=body, headers={**bearer, "content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "duplicate-json-key")
    assert problem["errors"] == [{"field": "body", "message": problem["detail"]}]
    assert "'title'" in problem["detail"]


# --- the staff JSON API: text and sizes -----------------------------------------------------------

TEXT_FIELDS = {
    "title": "title",
    "introduction": "introduction",
    "custom issue label": "issues.2.label",
    "question prompt": "questions.0.prompt",
    "question hint": "questions.0.hint",
    "option": "questions.0.options.0",
}
MULTI_LINE = {"introduction", "question hint"}
BAD_TEXT = {
    "nul": "a\x00b",
    "bell": "a\x07b",
    "escape": "red\x1b[31m",
    "delete": "a\x7fb",
    "c1 next line": "a\x85b",
    "c1 csi": "a\x9b31m",
    "right-to-left override": "abc\u202edcb",
    "left-to-right embedding": "\u202aabc",
    "first strong isolate": "abc\u2068x\u2069",
    "noncharacter": "a\ufffeb",
}
BLANK_TEXT = {
    "spaces": "   ",
    "zero-width": "\u200b\u200c\u200d",
    "byte order mark": "\ufeff",
    "hangul filler": "\u3164",
}
FIELD_NAMES = {
    "title": "title",
    "introduction": "introduction",
    "custom issue label": "issues[2].label",
    "question prompt": "questions[0].prompt",
    "question hint": "questions[0].hint",
    "option": "questions[0].options[0]",
}


@pytest.mark.parametrize("field", list(TEXT_FIELDS))
@pytest.mark.parametrize("bad", list(BAD_TEXT))
async def test_bad_text_in_any_staff_field_is_refused(
    client: Client, engine: AsyncEngine, bearer: dict[str, str], field: str, bad: str
) -> None:
    response = await client.post("/api/v1/surveys", json=with_field(TEXT_FIELDS[field], BAD_TEXT[bad]), headers=bearer)
    problem = assert_problem(response, 422, "invalid-request")
    assert FIELD_NAMES[field] in [error["field"] for error in problem["errors"]], problem
    assert await count(engine, surveys) == 0


@pytest.mark.parametrize("field", ["title", "custom issue label", "question prompt", "option"])
async def test_line_breaks_only_where_text_has_lines(
    client: Client, engine: AsyncEngine, bearer: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/surveys", json=with_field(TEXT_FIELDS[field], "one\ntwo"), headers=bearer)
    problem = assert_problem(response, 422, "invalid-request")
    assert any("one line" in error["message"] for error in problem["errors"]), problem
    assert await count(engine, surveys) == 0


@pytest.mark.parametrize("field", ["title", "custom issue label", "question prompt", "option"])
@pytest.mark.parametrize("blank", list(BLANK_TEXT))
async def test_invisible_text_is_blank(
    client: Client, engine: AsyncEngine, bearer: dict[str, str], field: str, blank: str
) -> None:
    response = await client.post(
        "/api/v1/surveys", json=with_field(TEXT_FIELDS[field], BLANK_TEXT[blank]), headers=bearer
    )
    problem = assert_problem(response, 422, "invalid-request")
    assert FIELD_NAMES[field] in [error["field"] for error in problem["errors"]], problem
    assert await count(engine, surveys) == 0


async def test_text_is_stored_normalised(client: Client, engine: AsyncEngine, bearer: dict[str, str]) -> None:
    definition = with_field("title", "\u200b  Cafe\u0301 safety \u200e2027\ufeff ")
    definition["introduction"] = " First line\r\nsecond line\rthird\t(tabbed) "
    definition["questions"][0]["hint"] = "\u05e9\u05dc\u05d5\u05dd \u200f123"  # Hebrew with a right-to-left mark
    created = await client.post("/api/v1/surveys", json=definition, headers=bearer)
    assert created.status_code == 201, created.text
    async with engine.connect() as conn:
        row = (await conn.execute(select(surveys.c.title, surveys.c.introduction))).one()
        hint = (await conn.execute(select(survey_questions.c.hint))).scalar_one()
    assert row.title == "Café safety \u200e2027"  # NFC: one é; the left-to-right mark kept
    assert row.introduction == "First line\nsecond line\nthird\t(tabbed)"
    assert hint == "\u05e9\u05dc\u05d5\u05dd \u200f123"


def question_of(options: int, label: str = "Option {n}") -> dict[str, Any]:
    return {"kind": "multiple_choice", "prompt": "Which?", "options": [label.format(n=n) for n in range(options)]}


SIZES = {
    "10,000 options (327 KB)": ({"questions": [question_of(10_000, "An option of thirty letters {n:05}")]}, (413, 422)),
    "31 options": ({"questions": [question_of(31)]}, 422),
    "21 questions": ({"questions": [{"kind": "free_text", "prompt": f"Q{n}"} for n in range(21)]}, 422),
    "41 issues": (
        {"issues": ["speeding", *({"code": f"own-{n}", "label": f"Own {n}"} for n in range(40))], "max_picks": 2},
        422,
    ),
    "15 districts": ({"districts": ["E07000118"] * 15}, 422),
    "201-character title": ({"title": "x" * 201}, 422),
    "201 characters once normalised": ({"title": "e\u0301" * 201}, 422),
    "5,001-character introduction": ({"introduction": "x" * 5001}, 422),
    "a megabyte": ({"introduction": "x" * 1_000_000}, 413),
}


@pytest.mark.parametrize("name", list(SIZES))
async def test_sizes_have_limits(client: Client, engine: AsyncEngine, bearer: dict[str, str], name: str) -> None:
    changes, status = SIZES[name]
    response = await client.post("/api/v1/surveys", json={**DEFINITION, **changes}, headers=bearer)
    assert_problem(response, status)
    assert await count(engine, surveys) == 0


async def test_the_largest_allowed_survey_is_taken(client: Client, bearer: dict[str, str]) -> None:
    """Every count at its limit, every label at its length, in a script that takes three bytes a character."""
    urdu = "\u0627\u0645\u0646"  # three Arabic-script letters
    definition = {
        "title": urdu * 66,
        "introduction": urdu * 1666,
        "issues": ["speeding", *({"code": f"own-{n}", "label": urdu * 66 + str(n)} for n in range(39))],
        "max_picks": 10,
        "questions": [
            {
                "kind": "multiple_choice",
                "prompt": urdu * 100,
                "hint": urdu * 333,
                "options": [f"{urdu * 60} {n}" for n in range(30)],
            }
            for _ in range(20)
        ],
    }
    response = await client.post("/api/v1/surveys", json=definition, headers=bearer)
    assert response.status_code == 201, response.text[:500]


# --- the pages: text, sizes and bodies that are not UTF-8 -----------------------------------------------

SURVEY_FORM = {
    "title": "Chorley community safety 2027",
    "introduction": "Tell us what matters.",
    "issues": ["speeding", "burglary"],
    "custom-1-code": "parking-near-schools",
    "custom-1-label": "Parking near schools",
    "max_picks": "2",
    "districts": ["E07000118"],
    "ask_about_you": "yes",
}
PAGE_FIELDS = {"title": "title", "introduction": "introduction", "custom-1-label": "custom-1-label"}


@pytest.fixture
async def staff(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as a member of staff through the real form."""
    await make_user(engine, STAFF, "staff")
    assert (await sign_in(client, STAFF)).status_code == 303
    return client


@pytest.mark.parametrize("field", list(PAGE_FIELDS))
@pytest.mark.parametrize("bad", ["nul", "escape", "c1 next line", "right-to-left override", "first strong isolate"])
async def test_bad_text_on_the_survey_form_is_refused(staff: Client, engine: AsyncEngine, field: str, bad: str) -> None:
    response = await submit(staff, "/staff/surveys/new", "/staff/surveys/new", {**SURVEY_FORM, field: BAD_TEXT[bad]})
    assert response.status_code == 422, response.text[:500]
    assert f"#{PAGE_FIELDS[field]}" in [href for href, _message in error_summary(response.text)]
    assert await count(engine, surveys) == 0


async def test_invisible_title_on_the_survey_form_is_blank(staff: Client, engine: AsyncEngine) -> None:
    response = await submit(staff, "/staff/surveys/new", "/staff/surveys/new", {**SURVEY_FORM, "title": "\u200b\u3164"})
    assert response.status_code == 422
    assert ("#title", "Enter the title") in error_summary(response.text)
    assert await count(engine, surveys) == 0


QUESTION_FORM = {
    "kind": "single_choice",
    "prompt": "How often?",
    "hint": "",
    "options": "Often\nNever",
    "required": "no",
}


@pytest.mark.parametrize("field", ["prompt", "hint", "options"])
@pytest.mark.parametrize("bad", ["nul", "escape", "c1 csi", "right-to-left override"])
async def test_bad_text_on_the_question_form_is_refused(
    staff: Client, engine: AsyncEngine, bearer: dict[str, str], field: str, bad: str
) -> None:
    survey_id = (await staff.post("/api/v1/surveys", json=DEFINITION, headers=bearer)).json()["id"]
    value = BAD_TEXT[bad] + ("\nNever" if field == "options" else "")
    page = f"/staff/surveys/{survey_id}/questions"
    response = await submit(staff, page, page, {**QUESTION_FORM, field: value})
    assert response.status_code == 422, response.text[:500]
    assert f"#{field}" in [href for href, _message in error_summary(response.text)]
    assert await count(engine, survey_questions) == 1  # DEFINITION's own


async def test_a_question_with_too_many_options_is_refused(
    staff: Client, engine: AsyncEngine, bearer: dict[str, str]
) -> None:
    survey_id = (await staff.post("/api/v1/surveys", json=DEFINITION, headers=bearer)).json()["id"]
    page = f"/staff/surveys/{survey_id}/questions"
    options = "\n".join(f"An option of thirty letters {n:05}" for n in range(10_000))  # 327 KB
    response = await submit(staff, page, page, {**QUESTION_FORM, "options": options})
    assert response.status_code in (413, 422)
    assert response.headers["content-type"].startswith("text/html")
    assert await count(engine, survey_questions) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "new\x00@lancashire.test", "control characters such as NUL"),
        ("email", "new\u202e@lancashire.test", "direction"),
        ("email", "\u200b", "Enter the email address"),
    ],
)
async def test_bad_text_in_a_new_account_is_refused(
    client: Client, engine: AsyncEngine, field: str, value: str, message: str
) -> None:
    await make_user(engine, ADMIN, "admin")
    assert (await sign_in(client, ADMIN)).status_code == 303
    form = {
        "email": value,
        "role": "staff",
        "password": "a long enough password 1",
        "confirm_password": "a long enough password 1",
    }
    response = await submit(client, "/admin/users/new", "/admin/users/new", form)
    assert response.status_code == 422, response.text[:500]
    assert any(href == f"#{field}" and message in text for href, text in error_summary(response.text))
    assert await count(engine, users) == 1  # the admin alone


@pytest.mark.parametrize("name", ["a\x00b", "a\x9bb", "x\u2066y", "\u200b\u200b"])
async def test_bad_token_names_are_refused(staff: Client, engine: AsyncEngine, name: str) -> None:
    response = await submit(staff, "/account", "/account/tokens", {"name": name})
    assert response.status_code == 422
    assert [href for href, _text in error_summary(response.text)] == ["#name"]
    assert await count(engine, api_tokens) == 0


NOT_UTF_8 = [b"%FF", b"%C3%28", b"%ED%A0%80", b"%C0%AE", b"\xff"]


@pytest.mark.parametrize("raw", NOT_UTF_8)
async def test_a_staff_form_that_is_not_utf8_is_refused(staff: Client, engine: AsyncEngine, raw: bytes) -> None:
    shown = await staff.get("/staff/surveys/new")
    body = b"_csrf_token=" + csrf_from(shown.text).encode() + b"&title=Caf" + raw + b"&issues=speeding&issues=burglary"
    response = await staff.post(
        "/staff/surveys/new", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert await count(engine, surveys) == 0


@pytest.mark.parametrize("raw", NOT_UTF_8)
async def test_a_resident_form_that_is_not_utf8_is_refused(resident: Client, engine: AsyncEngine, raw: bytes) -> None:
    survey_id = await publish_survey(engine)
    shown = await resident.get(f"/surveys/{survey_id}/district")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
    body = b"_csrf_token=" + token.encode() + b"&district=E07000123" + raw
    response = await resident.post(
        f"/surveys/{survey_id}/district", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert await count_stored(engine) == (0, 0)


async def test_a_sign_in_form_that_is_not_utf8_is_refused(client: Client, engine: AsyncEngine) -> None:
    await make_user(engine, STAFF, "staff")
    shown = await client.get("/sign-in")
    body = b"_csrf_token=" + csrf_from(shown.text).encode() + b"&email=staff%FF%40lancashire.test&password=x"
    response = await client.post(
        "/sign-in", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400


# --- paths -----------------------------------------------------------------------------------------

ODD_PATHS = [
    "/assets/talking.css%00.png",
    "/assets/%00",
    "/assets/a%01b",
    "/assets/%1b%5b31m",
    "/assets/%7f",
    "/assets/%c2%85",
    "/assets/%e2%80%ae",
    "/assets/%ff",
    "/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/assets/%",
    "/assets/%zz",
    "/assets/..%2f..%2f..%2fetc%2fpasswd",
    "/assets/" + "a" * 5000,
    "/assets/" + "a/" * 2000,
    "/assets/talking.css/x",
    "/assets/" + "%e2%80%ae" * 2000,
    "/surveys/%00",
    "/surveys/1%00/district",
    "/staff/%00",
    "/api/v1/surveys/%00",
    "/api/v1/surveys/1%00",
    "/%ff%fe",
    "/" + "a" * 10_000,
]


@pytest.mark.parametrize("path", ODD_PATHS)
async def test_odd_paths_are_not_found_never_a_500(client: Client, path: str) -> None:
    for method in ("GET", "HEAD", "POST"):
        response = await client.request(method, path)
        assert response.status_code < 500, (method, path, response.status_code)
        if path.startswith("/assets/") and method != "POST":
            assert response.status_code == 404, (method, path, response.status_code)


async def test_odd_paths_through_a_real_server(database_url: str, tmp_path: Path) -> None:
    """The same through `talking serve` (granian, and the fast paths in front of the app)."""
    with live_server(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            for path in ODD_PATHS:
                for method in ("GET", "POST"):
                    response = await http.request(method, path)
                    assert response.status_code < 500, (method, path, response.status_code)
            deep = await http.post(
                "/api/v1/surveys/1/responses", content=DEEP_ARRAYS, headers={"content-type": "application/json"}
            )
            assert_problem(deep, 400, "json-too-deep")


@pytest.mark.parametrize("email", ["staff\x00@lancashire.test", "staff\u202e@lancashire.test", "x" * 300 + "@a.test"])
async def test_sign_in_with_an_impossible_email_is_refused_and_not_kept(
    client: Client, engine: AsyncEngine, email: str
) -> None:
    response = await sign_in(client, email)
    assert response.status_code == 422
    assert ("#email", "Enter a correct email address and password.") in error_summary(response.text)
    assert await count(engine, sign_in_throttle) == 0


@pytest.mark.parametrize("actor", ["a\x00b", "a\x9bb", "x" * 300])
async def test_the_audit_filter_refuses_impossible_emails(client: Client, engine: AsyncEngine, actor: str) -> None:
    await make_user(engine, ADMIN, "admin")
    assert (await sign_in(client, ADMIN)).status_code == 303
    response = await client.get("/admin/audit", params={"actor": actor})
    assert response.status_code in (200, 422), response.status_code
    assert [href for href, _text in error_summary(response.text)] == ["#actor"]


async def test_a_multipart_form_is_refused(resident: Client, engine: AsyncEngine) -> None:
    survey_id = await publish_survey(engine)
    shown = await resident.get(f"/surveys/{survey_id}/district")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
    body = (
        b'--x\r\nContent-Disposition: form-data; name="_csrf_token"\r\n\r\n' + token.encode() + b"\r\n"
        b'--x\r\nContent-Disposition: form-data; name="district"\r\n\r\nE07000123\xff\r\n--x--\r\n'
    )
    response = await resident.post(
        f"/surveys/{survey_id}/district", content=body, headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert await count_stored(engine) == (0, 0)


async def test_lengths_are_counted_once_normalised_on_the_api_as_on_the_pages(
    client: Client, engine: AsyncEngine, bearer: dict[str, str]
) -> None:
    """200 letters typed as letter + accent are 400 code points, and a 200-character title."""
    title = "e\u0301" * 200
    created = await client.post("/api/v1/surveys", json=with_field("title", title), headers=bearer)
    assert created.status_code == 201, created.text
    assert await stored_titles(engine) == ["é" * 200]
