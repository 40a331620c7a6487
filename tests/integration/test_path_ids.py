"""Ids in paths too large for a 32-bit column (or not positive) get a clear refusal on both engines, never a 500.

The API answers 422 naming the parameter; a resident page, the 400 error page.
"""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import count_stored, make_token, make_user

from .staff_helpers import h1s, text_of

TOO_LARGE = "2147483648"


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


@pytest.mark.parametrize("survey_id", [TOO_LARGE, "99999999999999", "0"])
async def test_api_names_the_bad_id(client: AsyncTestClient, engine: AsyncEngine, survey_id: str) -> None:
    token = await make_token(engine, await make_user(engine, "staff@example.org", "staff"))
    for method, path in [
        ("GET", f"/api/v1/surveys/{survey_id}"),
        ("POST", f"/api/v1/surveys/{survey_id}/responses"),
        ("GET", f"/api/v1/surveys/{survey_id}/report"),
        ("POST", f"/api/v1/surveys/{survey_id}/publish"),
    ]:
        body = {"district": "E07000123", "picks": ["burglary"]} if method == "POST" else None
        answer = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "survey_id" in answer.text
    assert await count_stored(engine) == (0, 0)


async def test_resident_page_with_a_bad_id_is_a_clear_error_page(client: AsyncTestClient) -> None:
    answer = await client.get(f"/surveys/{TOO_LARGE}")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert h1s(answer.text) == ["Sorry, there is a problem with that request"]
    assert "(error 400)" in text_of(answer.text)
