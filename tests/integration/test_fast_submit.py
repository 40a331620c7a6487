"""The submission fast path (surveys/fast_submit.py) answers exactly as the Litestar handler does.

Every case is sent twice, once to the fast path and once to the plain Litestar app, on the same
database: status, headers and body must be the same bytes (a new response's id and reference aside),
and a refusal must store nothing. In-process, the ASGI scope also tells which of the two answered
(Litestar marks it), so the cases the fast path claims are not quietly served by Litestar. Through a
real `talking serve`, the answers must also be the documented ones. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import response_picks, responses, surveys
from talking.settings import Settings
from talking.surveys.fast_submit import FastSubmit
from talking.surveys.references import REFERENCE_PATTERN

from ..conftest import count_stored, live_server, publish_survey

PRESTON = "E07000123"
GOOD = {"district": PRESTON, "picks": ["fraud", "burglary", "alcohol"]}
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}
# Differ from one response to the next: the transport's, and the request id the server adds (talking.metrics).
TRANSPORT_HEADERS = {b"date", b"server", b"connection", b"keep-alive", b"x-request-id"}
RECEIPT = re.compile(rb'\{"id":(\d+),"reference":"' + REFERENCE_PATTERN.encode() + rb'"\}')


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


def _json(value: object) -> bytes:
    return msgspec.json.encode(value)


@dataclass(frozen=True)
class Case:
    """One request, and what the README promises for it."""

    name: str
    status: int
    body: bytes = _json(GOOD)
    survey: str = "open"  # open, closed, not-yet-open, missing
    key: str | None = None  # Idempotency-Key
    slug: str | None = None  # the problem type's last part
    fields: tuple[str, ...] = ()  # the fields named in errors
    stores: bool = False  # a new response (its picks come from body)
    fast: bool = True  # answered by the fast path; False: handed to Litestar
    chunked: bool = False  # no Content-Length
    content_type: str | None = "application/json"  # None: no Content-Type header


DEEP_ARRAYS = b"[" * 1000 + b"]" * 1000  # 2 KB: deeper than any decoder's recursion guard
DEEP_OBJECTS = b'{"a":' * 1000 + b"1" + b"}" * 1000


# In order: the idempotency cases build on each other.
CASES = [
    Case("created", 201, stores=True),
    Case(
        "created-with-everything",
        201,
        _json({**GOOD, "comment": "  Speeding.\r\n ", "age_band": "65-74", "sex": "female", "answers": {}}),
        stores=True,
    ),
    Case("keyed", 201, key="fast-key-1", stores=True),
    Case("keyed-retry", 201, key="fast-key-1"),
    Case("keyed-conflict", 422, _json({**GOOD, "picks": ["fraud"]}), key="fast-key-1", slug="idempotency-key-reused"),
    Case("bad-key", 400, key="has spaces", slug="invalid-idempotency-key"),
    Case("empty-key", 400, key="", slug="invalid-idempotency-key"),
    Case(
        "unknown-district", 422, _json({**GOOD, "district": "E99999999"}), slug="invalid-request", fields=("district",)
    ),
    Case("empty-district", 422, _json({**GOOD, "district": ""}), slug="invalid-request", fields=("district",)),
    Case("pick-not-offered", 422, _json({**GOOD, "picks": ["speeding"]}), slug="invalid-request", fields=("picks[0]",)),
    Case(
        "pick-twice",
        422,
        _json({**GOOD, "picks": ["fraud", "burglary", "fraud"]}),
        slug="invalid-request",
        fields=("picks[2]",),
    ),
    Case("no-picks", 422, _json({**GOOD, "picks": []}), slug="invalid-request", fields=("picks",)),
    Case(
        "too-many-picks",
        422,
        _json({**GOOD, "picks": ["fraud", "burglary", "alcohol", "road-safety", "violent-crime", "criminal-damage"]}),
        slug="invalid-request",
        fields=("picks",),
    ),
    Case("comment-nul", 422, _json({**GOOD, "comment": "a\x00b"}), slug="invalid-request", fields=("comment",)),
    Case("comment-too-long", 422, _json({**GOOD, "comment": "x" * 2001}), slug="invalid-request", fields=("comment",)),
    Case(
        "bad-about-you",
        422,
        _json({**GOOD, "age_band": "teenager", "sex": "unknown"}),
        slug="invalid-request",
        fields=("age_band", "sex"),
    ),
    Case(
        "unknown-question", 422, _json({**GOOD, "answers": {"q9": "x"}}), slug="invalid-request", fields=("answers.q9",)
    ),
    Case("unknown-survey", 404, survey="missing", slug="not-found"),
    Case("unknown-survey-bad-answers", 404, _json({"district": "E99999999", "picks": []}), survey="missing"),
    Case("closed-survey", 409, survey="closed", slug="survey-not-open"),
    Case("not-yet-open-survey", 409, survey="not-yet-open", slug="survey-not-open"),
    Case("closed-survey-bad-key", 400, survey="closed", key="has spaces", slug="invalid-idempotency-key"),
    # Bodies that do not decode: Litestar's own answers, after the fast path hands them over.
    Case("malformed-json", 400, b"{not json", slug="malformed-json", fields=("body",), fast=False),
    Case("malformed-json-bad-key", 400, b"{not json", key="has spaces", slug="malformed-json", fast=False),
    Case("truncated-json", 400, _json(GOOD)[:-1], fast=False),  # Litestar: type bad-request, no errors
    Case("not-utf8", 400, b"\xff\xfe", fast=False),
    Case("empty-body", 422, b"", slug="invalid-request", fast=False),
    Case("wrong-type", 422, _json({**GOOD, "district": 123}), slug="invalid-request", fields=("district",), fast=False),
    Case("picks-not-a-list", 422, _json({**GOOD, "picks": "fraud"}), slug="invalid-request", fast=False),
    Case(
        "unknown-field",
        422,
        _json({**GOOD, "favourite_colour": "blue"}),
        slug="invalid-request",
        fields=("favourite_colour",),
        fast=False,
    ),
    Case("not-an-object", 422, _json([PRESTON, "fraud"]), slug="invalid-request", fields=("body",), fast=False),
    Case(
        "oversized",
        413,
        _json({**GOOD, "comment": "x" * 20_000}),
        slug="request-entity-too-large",
        fast=False,
    ),
    Case("chunked", 201, stores=True, fast=False, chunked=True),
    # JSON only as JSON (web/request_bodies.py): a page elsewhere cannot make browsers post answers.
    Case("no-content-type", 415, content_type=None, slug="unsupported-media-type", fields=("body",), fast=False),
    Case("text-plain", 415, content_type="text/plain", slug="unsupported-media-type", fast=False),
    Case("xml", 415, content_type="application/xml", slug="unsupported-media-type", fast=False),
    Case("form", 415, content_type="application/x-www-form-urlencoded", slug="unsupported-media-type", fast=False),
    Case("multipart", 415, content_type="multipart/form-data; boundary=x", slug="unsupported-media-type", fast=False),
    Case("json-latin-1", 415, content_type="application/json; charset=latin-1", fast=False),
    Case("json-list", 415, content_type="application/json, text/plain", fast=False),
    Case("json-suffix", 415, content_type="application/problem+json", fast=False),
    Case("json-utf-8", 201, content_type="application/json; charset=utf-8", stores=True),
    Case("json-capitals", 201, content_type='Application/JSON;Charset="UTF-8"', stores=True),
    # A key given twice: msgspec would keep the last one silently.
    Case(
        "duplicate-key",
        400,
        b'{"district": "E99999999", "district": "E07000123", "picks": ["fraud"]}',
        slug="duplicate-json-key",
        fields=("body",),
        fast=False,
    ),
    Case(
        "duplicate-key-escaped",
        400,
        b'{"district": "E07000123", "distr\\u0069ct": "E07000123", "picks": ["fraud"]}',
        slug="duplicate-json-key",
        fast=False,
    ),
    Case(
        "duplicate-answer",
        400,
        b'{"district": "E07000123", "picks": ["fraud"], "answers": {"q1": "a", "q1": "b"}}',
        slug="duplicate-json-key",
        fast=False,
    ),
    # Nested past the decoder's recursion guard: a 400, never a RecursionError.
    Case("deep-arrays", 400, DEEP_ARRAYS, slug="json-too-deep", fast=False),
    Case("deep-objects", 400, DEEP_OBJECTS, slug="json-too-deep", fast=False),
    Case("deep-in-a-field", 400, b'{"district": ' + DEEP_ARRAYS + b', "picks": []}', fast=False),
    Case(
        "deep-in-answers", 400, b'{"district": "E07000123", "picks": [], "answers": ' + DEEP_OBJECTS + b"}", fast=False
    ),
    Case("nested-a-little", 422, b"[" * 100 + b"]" * 100, slug="invalid-request", fast=False),
    # Text (talking/text.py): controls, direction overrides; invisible-only text is no comment at all.
    Case("comment-escape", 422, _json({**GOOD, "comment": "red\x1b[31m"}), slug="invalid-request", fields=("comment",)),
    Case("comment-c1", 422, _json({**GOOD, "comment": "a\x85b"}), slug="invalid-request", fields=("comment",)),
    Case("comment-del", 422, _json({**GOOD, "comment": "a\x7fb"}), slug="invalid-request", fields=("comment",)),
    Case("comment-bidi", 422, _json({**GOOD, "comment": "abc\u202edcb"}), slug="invalid-request", fields=("comment",)),
    Case("comment-isolate", 422, _json({**GOOD, "comment": "\u2067x"}), slug="invalid-request", fields=("comment",)),
    Case("comment-invisible", 201, _json({**GOOD, "comment": "\u200b\u200d\ufeff \u3164"}), stores=True),
]


async def make_surveys(engine: AsyncEngine) -> dict[str, int]:
    """An open survey, a closed one and one not open yet; 'missing' is an id nobody has."""
    ids = {name: await publish_survey(engine) for name in ("open", "closed", "not-yet-open")}
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == ids["closed"]).values(status="closed"))
        await conn.execute(
            update(surveys)
            .where(surveys.c.id == ids["not-yet-open"])
            .values(opens_at=datetime.now(UTC) + timedelta(days=1))
        )
    return {**ids, "missing": 999_999}


def expected_growth(case: Case) -> tuple[int, int]:
    """What a case adds to the database: nothing unless it stores a new response."""
    return (1, len(msgspec.json.decode(case.body)["picks"])) if case.stores else (0, 0)


@dataclass
class Answer:
    """What came back for one request."""

    status: int
    headers: list[tuple[bytes, bytes]]  # as sent, in order
    body: bytes
    by_litestar: bool = False


async def call_asgi(asgi: Any, path: str, case: Case) -> Answer:
    """Send a case's request to an ASGI app as an HTTP server would, and collect the answer."""
    headers = [(b"host", b"testserver")]
    if case.content_type is not None:
        headers.append((b"content-type", case.content_type.encode("latin-1")))
    if case.key is not None:
        headers.append((b"idempotency-key", case.key.encode("latin-1")))
    if case.chunked:
        chunks = [case.body[:10], case.body[10:]]
    else:
        headers.append((b"content-length", b"%d" % len(case.body)))
        chunks = [case.body]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            body = chunks.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    start, *rest = sent
    return Answer(
        status=start["status"],
        headers=[(bytes(name), bytes(value)) for name, value in start["headers"]],
        body=b"".join(message.get("body", b"") for message in rest),
        # Litestar puts itself in the scope of every request it serves; the fast path never does.
        by_litestar="litestar_app" in scope,
    )


def comparable(answer: Answer, case: Case) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer without what may differ between two new responses: their id and reference."""
    body, headers = answer.body, answer.headers
    if answer.status == 201 and case.key is None:
        assert RECEIPT.fullmatch(body), (case.name, body)
        body = b"<receipt>"
        headers = [(n, b"<length>" if n == b"content-length" else v) for n, v in headers]
    return answer.status, headers, body


def assert_documented(answer: Answer, case: Case, path: str) -> None:
    """The status, headers and body the README promises for this case."""
    headers = dict(answer.headers)
    assert answer.status == case.status, (case.name, answer.status, answer.body)
    assert headers[b"content-length"] == b"%d" % len(answer.body), case.name
    assert {name: headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, case.name
    assert b"content-security-policy" not in headers, case.name  # the API serves no HTML
    if answer.status == 201:
        assert headers[b"content-type"] == b"application/json", case.name
        assert RECEIPT.fullmatch(answer.body), (case.name, answer.body)
        return
    assert headers[b"content-type"] == b"application/problem+json", case.name
    problem = msgspec.json.decode(answer.body)
    assert problem["status"] == case.status, (case.name, problem)
    assert problem["title"] == HTTPStatus(case.status).phrase, (case.name, problem)
    assert problem["instance"] == path, (case.name, problem)
    if case.slug:
        assert problem["type"] == f"https://talking.invalid/problems/{case.slug}", (case.name, problem)
    named = [error["field"] for error in problem.get("errors", [])]
    assert all(field in named for field in case.fields), (case.name, problem)


async def test_fast_path_answers_as_litestar_does(database_url: str, engine: AsyncEngine) -> None:
    survey_ids = await make_surveys(engine)
    app = create_app(
        Settings(database_url=database_url, secret_key="test-secret-key", rate_limits=False)
    )  # many cases, one address
    fast = FastSubmit(app)
    async with app.lifespan():
        for case in CASES:
            path = f"/api/v1/surveys/{survey_ids[case.survey]}/responses"
            before = await count_stored(engine)
            ours = await call_asgi(fast, path, case)
            after = await count_stored(engine)
            assert ours.by_litestar is not case.fast, f"{case.name}: answered by the wrong path"
            assert_documented(ours, case, path)
            assert (after[0] - before[0], after[1] - before[1]) == expected_growth(case), case.name
            # Litestar second: for a keyed request it replays what the fast path stored.
            theirs = await call_asgi(app, path, case)
            assert theirs.by_litestar, case.name
            assert comparable(ours, case) == comparable(theirs, case), case.name


async def test_served_submissions_are_the_documented_answers(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    survey_ids = await make_surveys(engine)
    reference = create_app(Settings(database_url=database_url, secret_key="test-secret-key"))
    with live_server(database_url, tmp_path) as server:
        async with reference.lifespan(), httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            for case in CASES:
                path = f"/api/v1/surveys/{survey_ids[case.survey]}/responses"
                headers = {"content-type": case.content_type} if case.content_type is not None else {}
                if case.key is not None:
                    headers["idempotency-key"] = case.key
                content: Any = case.body
                if case.chunked:

                    async def chunks(body: bytes = case.body) -> Any:
                        yield body[:10]
                        yield body[10:]

                    content = chunks()
                before = await count_stored(engine)
                response = await http.post(path, content=content, headers=headers)
                after = await count_stored(engine)
                served = Answer(
                    response.status_code,
                    [(n.lower(), v) for n, v in response.headers.raw if n.lower() not in TRANSPORT_HEADERS],
                    response.content,
                )
                assert_documented(served, case, path)
                assert (after[0] - before[0], after[1] - before[1]) == expected_growth(case), case.name
                assert comparable(served, case) == comparable(await call_asgi(reference, path, case), case), case.name
                if case.stores:
                    await assert_stored_as_sent(engine, served, case)
            # Everything else is still Litestar's: the route is documented, other methods refused.
            spec = (await http.get("/schema/openapi.json")).json()
            assert "post" in spec["paths"]["/api/v1/surveys/{survey_id}/responses"]
            assert (await http.get(f"/api/v1/surveys/{survey_ids['open']}/responses")).status_code == 405


async def assert_stored_as_sent(engine: AsyncEngine, answer: Answer, case: Case) -> None:
    """The response a 201 acknowledged is in the database with the answers sent, from the API."""
    sent = msgspec.json.decode(case.body)
    receipt = msgspec.json.decode(answer.body)
    async with engine.connect() as conn:
        row = (await conn.execute(select(responses).where(responses.c.id == receipt["id"]))).one()
        picks = (
            await conn.execute(
                select(response_picks.c.issue_code)
                .where(response_picks.c.response_id == receipt["id"])
                .order_by(response_picks.c.rank)
            )
        ).scalars()
    assert (row.reference, row.district_code, row.channel) == (receipt["reference"], sent["district"], "api")
    assert list(picks) == sent["picks"], case.name


async def test_concurrent_submissions_through_the_server_are_all_stored(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    survey_id = await publish_survey(engine)
    with live_server(database_url, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            path = f"/api/v1/surveys/{survey_id}/responses"
            answers = await asyncio.gather(*[http.post(path, json=GOOD) for _ in range(200)])
            retries = await asyncio.gather(
                *[http.post(path, json=GOOD, headers={"Idempotency-Key": "one-key"}) for _ in range(20)]
            )
    assert {a.status_code for a in answers + retries} == {201}
    assert len({a.json()["id"] for a in answers}) == 200
    assert len({r.content for r in retries}) == 1  # one response stored for one key, however it raced
    assert await count_stored(engine) == (201, 201 * len(GOOD["picks"]))
