"""The JSON API v1 through the real app, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import response_picks, responses, surveys
from talking.errors import SurveyNotOpen
from talking.surveys.batches import PendingResponse
from talking.surveys.writer import ResponseWriter

from ..conftest import count_stored, publish_survey

PRESTON = "E07000123"
PROBLEM = "application/problem+json"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def test_healthz(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_districts_are_the_fourteen_areas(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/districts")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 14
    preston = next(d for d in body if d["code"] == PRESTON)
    assert preston["name"] == "Preston"
    assert preston["population"] == 147_900


async def test_issues_have_stable_codes(client: AsyncTestClient[Litestar]) -> None:
    body = (await client.get("/api/v1/issues")).json()
    codes = {i["code"] for i in body}
    assert {"anti-social-behaviour", "road-safety", "drug-dealing-and-taking", "domestic-abuse"} <= codes
    assert all(i["label"] for i in body)


async def test_open_survey_definition(client: AsyncTestClient[Litestar], open_survey: int) -> None:
    response = await client.get(f"/api/v1/surveys/{open_survey}")
    assert response.status_code == 200
    body = response.json()
    assert body["max_picks"] == 5
    assert [i["code"] for i in body["issues"]][:2] == ["anti-social-behaviour", "road-safety"]


async def test_response_is_stored_with_picks_in_order(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    response = await client.post(
        f"/api/v1/surveys/{open_survey}/responses",
        json={
            "district": PRESTON,
            "picks": ["burglary", "fraud", "alcohol"],
            "comment": "  Speeding on the ring road.\r\n ",
            "age_band": "65-74",
            "sex": "female",
        },
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["reference"].startswith("LT-")
    async with engine.connect() as conn:
        row = (await conn.execute(select(responses).where(responses.c.id == receipt["id"]))).one()
        picks = (
            await conn.execute(
                select(response_picks.c.rank, response_picks.c.issue_code)
                .where(response_picks.c.response_id == receipt["id"])
                .order_by(response_picks.c.rank)
            )
        ).all()
    assert row.reference == receipt["reference"]
    assert row.district_code == PRESTON
    assert row.comment == "Speeding on the ring road."
    assert (row.age_band, row.sex, row.channel) == ("65-74", "female", "api")
    assert [tuple(p) for p in picks] == [(1, "burglary"), (2, "fraud"), (3, "alcohol")]


BAD_BODIES = [
    ({"picks": ["fraud"]}, 422, "district"),
    ({"district": "E99999999", "picks": ["fraud"]}, 422, "district"),
    ({"district": "", "picks": ["fraud"]}, 422, "district"),
    ({"district": PRESTON, "picks": ["no-such-issue"]}, 422, "picks[0]"),
    ({"district": PRESTON, "picks": ["speeding"]}, 422, "picks[0]"),  # in the taxonomy, not in this survey
    ({"district": PRESTON, "picks": ["fraud", "burglary", "fraud"]}, 422, "picks[2]"),
    ({"district": PRESTON, "picks": []}, 422, "picks"),
    (
        {
            "district": PRESTON,
            "picks": ["fraud", "burglary", "alcohol", "road-safety", "violent-crime", "criminal-damage"],
        },
        422,
        "picks",
    ),
    ({"district": 123, "picks": ["fraud"]}, 422, "district"),
    ({"district": PRESTON, "picks": "fraud"}, 422, "picks"),
    ({"district": PRESTON, "picks": [1, 2]}, 422, "picks[0]"),
    ({"district": PRESTON, "picks": ["fraud"], "comment": "x" * 2001}, 422, "comment"),
    ({"district": PRESTON, "picks": ["fraud"], "comment": "before\x00after"}, 422, "comment"),
    ({"district": PRESTON, "picks": ["fraud"], "age_band": "teenager"}, 422, "age_band"),
    ({"district": PRESTON, "picks": ["fraud"], "sex": "unknown"}, 422, "sex"),
    ({"district": PRESTON, "picks": ["fraud"], "favourite_colour": "blue"}, 422, "favourite_colour"),
    ([PRESTON, "fraud"], 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_BODIES)
async def test_bad_input_is_a_problem_and_stores_nothing(
    app: Litestar,
    engine: AsyncEngine,
    client: AsyncTestClient[Litestar],
    open_survey: int,
    body: object,
    status: int,
    field: str,
) -> None:
    response = await client.post(f"/api/v1/surveys/{open_survey}/responses", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["type"].startswith("https://")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await count_stored(engine) == (0, 0)


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b'{"district": "E07000123", "picks": ["fraud"]', b"\xff\xfe"],
    ids=["broken", "empty", "truncated", "not-utf8"],
)
async def test_malformed_json_is_400(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int, raw: bytes
) -> None:
    response = await client.post(
        f"/api/v1/surveys/{open_survey}/responses", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["detail"]
    if not raw:  # an empty body says so, not Litestar's internal key name
        assert problem["errors"] == [{"field": "body", "message": "The request has no body: send a JSON object"}]
    assert await count_stored(engine) == (0, 0)


async def test_oversized_body_is_413(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    body = b'{"district": "E07000123", "picks": ["fraud"], "comment": "' + b"x" * 100_000 + b'"}'
    response = await client.post(
        f"/api/v1/surveys/{open_survey}/responses", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert await count_stored(engine) == (0, 0)


async def test_unknown_survey_is_404(client: AsyncTestClient[Litestar]) -> None:
    for response in (
        await client.get("/api/v1/surveys/9999"),
        await client.post("/api/v1/surveys/9999/responses", json={"district": PRESTON, "picks": ["fraud"]}),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_non_numeric_survey_id_is_a_problem(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/surveys/abc")
    assert response.status_code in (400, 404)
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "closed"},
        {"status": "draft"},
        {"closes_at": datetime.now(UTC) - timedelta(minutes=1)},
        {"opens_at": datetime.now(UTC) + timedelta(days=1)},
    ],
    ids=["closed", "draft", "past-closing", "not-yet-open"],
)
async def test_survey_not_open_is_409(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int, change: dict[str, object]
) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == open_survey).values(**change))
    app.state.catalogue.forget(open_survey)
    response = await client.post(
        f"/api/v1/surveys/{open_survey}/responses", json={"district": PRESTON, "picks": ["fraud"]}
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith(PROBLEM)
    assert (await client.get(f"/api/v1/surveys/{open_survey}")).status_code == 409
    assert await count_stored(engine) == (0, 0)


async def test_closing_is_seen_at_commit_even_with_a_cached_definition(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    url = f"/api/v1/surveys/{open_survey}/responses"
    assert (await client.post(url, json={"district": PRESTON, "picks": ["fraud"]})).status_code == 201
    async with engine.begin() as conn:  # closed by someone else; this worker's cache still says open
        await conn.execute(update(surveys).where(surveys.c.id == open_survey).values(status="closed"))
    response = await client.post(url, json={"district": PRESTON, "picks": ["fraud"]})
    assert response.status_code == 409
    assert await count_stored(engine) == (1, 1)


async def test_idempotency_key_returns_the_first_result(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    url = f"/api/v1/surveys/{open_survey}/responses"
    body = {"district": PRESTON, "picks": ["fraud", "burglary"]}
    first = await client.post(url, json=body, headers={"Idempotency-Key": "retry-123"})
    second = await client.post(url, json=body, headers={"Idempotency-Key": "retry-123"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = await client.post(url, json={**body, "picks": ["alcohol"]}, headers={"Idempotency-Key": "retry-123"})
    assert other.status_code == 422
    assert other.json()["type"].endswith("idempotency-key-reused")
    assert await count_stored(engine) == (1, 2)


async def test_concurrent_retries_with_one_key_store_once(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    url = f"/api/v1/surveys/{open_survey}/responses"
    body = {"district": PRESTON, "picks": ["fraud"]}
    results = await asyncio.gather(
        *[client.post(url, json=body, headers={"Idempotency-Key": "same-key"}) for _ in range(20)]
    )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["reference"] for r in results}) == 1
    assert await count_stored(engine) == (1, 1)


async def test_bad_idempotency_key_is_400(client: AsyncTestClient[Litestar], open_survey: int) -> None:
    response = await client.post(
        f"/api/v1/surveys/{open_survey}/responses",
        json={"district": PRESTON, "picks": ["fraud"]},
        headers={"Idempotency-Key": "has spaces"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.load
async def test_many_concurrent_responses_are_all_stored(
    app: Litestar, engine: AsyncEngine, client: AsyncTestClient[Litestar], open_survey: int
) -> None:
    url = f"/api/v1/surveys/{open_survey}/responses"
    results = await asyncio.gather(
        *[client.post(url, json={"district": PRESTON, "picks": ["fraud", "alcohol"]}) for _ in range(100)]
    )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 100
    assert await count_stored(engine) == (100, 200)


async def test_openapi_documents_the_api(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/surveys/{survey_id}/responses" in spec["paths"]
    assert "/api/v1/districts" in spec["paths"]


async def test_a_bulk_store_raises_a_refusal_instead_of_leaving_it_out(engine: AsyncEngine, open_survey: int) -> None:
    """store_now (the demo loader's path) must not let a bulk load quietly miss answers: it raises
    the refusal, and the answers that could be stored are."""
    still_open = await publish_survey(engine)
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == open_survey).values(status="closed"))
    answer = {"district": PRESTON, "comment": None, "age_band": None, "sex": None, "channel": "web"}
    batch = [
        PendingResponse(**answer, survey_id=open_survey, picks=("fraud",)),
        PendingResponse(**answer, survey_id=still_open, picks=("alcohol",)),
    ]
    writer = ResponseWriter(engine)
    try:
        with pytest.raises(SurveyNotOpen):
            await writer.store_now(batch)
    finally:
        await writer.stop()
    assert await count_stored(engine) == (1, 1)
