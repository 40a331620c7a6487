"""Staff build and run surveys through the API with bearer tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events

from ..conftest import make_token, make_user

PROBLEM = "application/problem+json"
DEFINITION = {
    "title": "Chorley community safety 2027",
    "issues": ["speeding", "burglary", {"code": "parking-near-schools", "label": "Parking near schools"}],
    "max_picks": 2,
    "districts": ["E07000118", "E07000126"],
    "questions": [
        {
            "kind": "agreement",
            "prompt": "I feel safe walking alone after dark",
            "key": "safe-after-dark",
            "required": True,
        },
        {
            "kind": "multiple_choice",
            "prompt": "How do you hear about local policing?",
            "options": ["In the Know", "Social media", "Local paper"],
        },
        {"kind": "free_text", "prompt": "What one thing would make your street safer?"},
    ],
}


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def staff_headers(engine: AsyncEngine) -> dict[str, str]:
    token = await make_token(engine, await make_user(engine, "staff@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


async def test_the_whole_life_of_a_survey(
    client: AsyncTestClient[Litestar], engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    created = await client.post("/api/v1/surveys", json=DEFINITION, headers=staff_headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    survey_id = created.json()["id"]
    # Residents cannot see or answer a draft.
    answer = {"district": "E07000118", "picks": ["parking-near-schools"], "answers": {"safe-after-dark": "agree"}}
    assert (await client.post(f"/api/v1/surveys/{survey_id}/responses", json=answer)).status_code == 409

    published = await client.post(f"/api/v1/surveys/{survey_id}/publish", headers=staff_headers)
    assert published.status_code == 200, published.text
    assert published.json()["state"] == "open"
    definition = (await client.get(f"/api/v1/surveys/{survey_id}")).json()
    assert definition["districts"] == ["E07000118", "E07000126"]
    assert [q["key"] for q in definition["questions"]] == ["safe-after-dark", "q2", "q3"]
    assert [o["code"] for o in definition["questions"][1]["options"]] == ["in-the-know", "social-media", "local-paper"]

    stored = await client.post(
        f"/api/v1/surveys/{survey_id}/responses",
        json={
            **answer,
            "answers": {"safe-after-dark": "agree", "q2": ["in-the-know", "local-paper"], "q3": " Lights "},
        },
    )
    assert stored.status_code == 201, stored.text
    for bad, field in [
        ({**answer, "district": "E07000123"}, "district"),  # Preston is not covered
        ({**answer, "answers": {}}, "answers.safe-after-dark"),  # required
        ({**answer, "answers": {"safe-after-dark": "maybe"}}, "answers.safe-after-dark"),
        ({**answer, "answers": {"safe-after-dark": "agree", "q2": "in-the-know"}}, "answers.q2"),
        ({**answer, "answers": {"safe-after-dark": "agree", "q9": "x"}}, "answers.q9"),
        ({**answer, "answers": {"safe-after-dark": "agree", "q3": "a\x00b"}}, "answers.q3"),
    ]:
        refused = await client.post(f"/api/v1/surveys/{survey_id}/responses", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in [e["field"] for e in refused.json()["errors"]]

    counts = await client.get(f"/api/v1/surveys/{survey_id}/counts", headers=staff_headers)
    assert {c["name"]: c["responses"] for c in counts.json()} == {"Chorley": 1, "South Ribble": 0}

    # Published questions are locked.
    locked = await client.put(f"/api/v1/surveys/{survey_id}/definition", json=DEFINITION, headers=staff_headers)
    assert locked.status_code == 409
    assert locked.headers["content-type"].startswith(PROBLEM)

    closed = await client.post(f"/api/v1/surveys/{survey_id}/close", headers=staff_headers)
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed"
    assert (await client.post(f"/api/v1/surveys/{survey_id}/responses", json=answer)).status_code == 409
    assert (await client.post(f"/api/v1/surveys/{survey_id}/close", headers=staff_headers)).status_code == 409

    wave = await client.post(f"/api/v1/surveys/{survey_id}/waves", headers=staff_headers)
    assert wave.status_code == 201
    listed = {s["id"]: s for s in (await client.get("/api/v1/surveys", headers=staff_headers)).json()}
    second = listed[wave.json()["id"]]
    assert (second["wave"], second["previous_wave_id"], second["state"]) == (2, survey_id, "draft")
    assert listed[survey_id]["responses"] == 1
    wave_definition = await client.put(
        f"/api/v1/surveys/{second['id']}/definition", json={**DEFINITION, "max_picks": 3}, headers=staff_headers
    )
    assert wave_definition.status_code == 200

    async with engine.connect() as conn:
        actions = (await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).scalars().all()
    for action in ("survey_created", "survey_published", "survey_closed", "survey_wave_created", "survey_updated"):
        assert action in actions


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"issues": ["speeding"]}, "issues"),
        ({"issues": ["speeding", "no-such-issue"]}, "issues[1]"),
        ({"issues": ["speeding", {"code": "burglary", "label": "Break-ins"}]}, "issues[1]"),
        ({"issues": ["speeding", "speeding"]}, "issues"),
        ({"max_picks": 4}, "max_picks"),
        ({"districts": []}, "districts"),
        ({"districts": ["E99999999"]}, "districts"),
        ({"opens_at": "2027-02-01T00:00:00Z", "closes_at": "2027-01-01T00:00:00Z"}, "closes_at"),
        ({"questions": [{"kind": "single_choice", "prompt": "Pick", "options": ["Only one"]}]}, "questions[0]"),
        ({"questions": [{"kind": "free_text", "prompt": "Say", "options": ["x", "y"]}]}, "questions[0]"),
        ({"max_picks": 11}, "max_picks"),
        ({"title": ""}, "title"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_definitions_are_refused(
    client: AsyncTestClient[Litestar], staff_headers: dict[str, str], change: dict[str, object], field: str
) -> None:
    response = await client.post("/api/v1/surveys", json={**DEFINITION, **change}, headers=staff_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert field in [e["field"] for e in response.json()["errors"]]
    assert (await client.get("/api/v1/surveys", headers=staff_headers)).json() == []


async def test_credentials_and_roles(client: AsyncTestClient[Litestar], engine: AsyncEngine) -> None:
    anonymous = await client.post("/api/v1/surveys", json=DEFINITION)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/api/v1/surveys", headers={"Authorization": "Bearer tk_forged"})).status_code == 401
    analyst = {"Authorization": f"Bearer {await make_token(engine, await make_user(engine, 'a@x.test', 'analyst'))}"}
    assert (await client.post("/api/v1/surveys", json=DEFINITION, headers=analyst)).status_code == 403
    assert (await client.get("/api/v1/surveys", headers=analyst)).status_code == 403
