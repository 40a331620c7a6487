"""Who can answer a survey through the API: anyone with the link, or invited panel members only; locked once
published (SQLite and PostgreSQL). The builder's side is in test_invitation_pages.py."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ..conftest import make_token, make_user
from .test_questionnaires_api import DEFINITION

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def staff_headers(engine: AsyncEngine) -> dict[str, str]:
    token = await make_token(engine, await make_user(engine, "staff@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


async def test_the_api_sets_shows_and_locks_the_audience(client: Client, staff_headers: dict[str, str]) -> None:
    created = await client.post("/api/v1/surveys", json={**DEFINITION, "audience": "members"}, headers=staff_headers)
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]
    listed = {s["id"]: s for s in (await client.get("/api/v1/surveys", headers=staff_headers)).json()}
    assert listed[survey_id]["audience"] == "members"

    # A draft may change who can answer, and leaving it out means anyone with the link.
    url = f"/api/v1/surveys/{survey_id}/definition"
    changed = await client.put(url, json=DEFINITION, headers=staff_headers)
    assert changed.status_code == 200 and changed.json()["audience"] == "open"
    changed = await client.put(url, json={**DEFINITION, "audience": "members"}, headers=staff_headers)
    assert changed.json()["audience"] == "members"

    published = await client.post(f"/api/v1/surveys/{survey_id}/publish", headers=staff_headers)
    assert published.status_code == 200 and published.json()["audience"] == "members"
    refused = await client.put(url, json={**DEFINITION, "audience": "open"}, headers=staff_headers)
    assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
    assert "audience is locked" in refused.json()["detail"]
    listed = {s["id"]: s for s in (await client.get("/api/v1/surveys", headers=staff_headers)).json()}
    assert listed[survey_id]["audience"] == "members"

    # The next wave keeps the audience.
    wave = await client.post(f"/api/v1/surveys/{survey_id}/waves", headers=staff_headers)
    listed = {s["id"]: s for s in (await client.get("/api/v1/surveys", headers=staff_headers)).json()}
    assert listed[wave.json()["id"]]["audience"] == "members"


@pytest.mark.parametrize("audience", ["everyone", "", None, 1, ["members"], "MEMBERS"])
async def test_an_unknown_audience_is_refused(client: Client, staff_headers: dict[str, str], audience: object) -> None:
    before = (await client.get("/api/v1/surveys", headers=staff_headers)).json()
    refused = await client.post("/api/v1/surveys", json={**DEFINITION, "audience": audience}, headers=staff_headers)
    assert refused.status_code in (400, 422) and refused.headers["content-type"].startswith(PROBLEM)
    assert "audience" in {e["field"] for e in refused.json()["errors"]}
    assert (await client.get("/api/v1/surveys", headers=staff_headers)).json() == before
