"""With the database stopped, no route answers 500: every route of the route matrix, asked by someone
anonymous, a signed-in admin and an admin's API token, answers as it can without the database or
503 with Retry-After; once the database is back, the admin's session and token work again."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.testing.private_servers import PrivatePostgres

from ...conftest import make_token, make_user, publish_survey
from ..staff_helpers import Client, csrf_from
from ..test_route_matrix import ROUTES, SAFE_METHODS, Caller, as_caller, real_path, signed_in

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(private_pg_url: str) -> str:
    """The app fixture's database: one on the private PostgreSQL, which this test stops."""
    return private_pg_url


async def test_no_route_answers_500_while_the_database_is_down(
    private_pg: PrivatePostgres, app: Litestar, client: Client, engine: AsyncEngine
) -> None:
    ids = {
        "open": await publish_survey(engine),
        "closed": await publish_survey(engine, title="Closed survey"),
        "user": await make_user(engine, "someone@lancashire.test", "staff"),
    }
    admin_id = await make_user(engine, "admin@lancashire.test", "admin")
    admin = await signed_in(client, "admin", "admin@lancashire.test")
    admin.token = await make_token(engine, admin_id)
    admin.csrf = csrf_from((await as_caller(client, admin, "GET", "/sign-in", ROUTES[("GET", "/sign-in")])).text)
    ids["token"] = 1
    ids["member"] = ids["pack"] = 1  # any id: with the database stopped, every route answers alike
    callers = [Caller("anonymous"), admin, Caller("script", token=admin.token, token_everywhere=True)]

    private_pg.stop()
    answers: dict[int, int] = {}
    wrong = []
    try:
        for (method, template), the_row in sorted(ROUTES.items(), key=lambda item: item[0][0] not in SAFE_METHODS):
            if template == "/sign-out":
                continue  # it would end the admin's session, which the check afterwards uses
            path = real_path(template, the_row, ids)
            for caller in callers:
                response: httpx.Response = await as_caller(client, caller, method, path, the_row)
                answers[response.status_code] = answers.get(response.status_code, 0) + 1
                unavailable = response.status_code == 503 and int(response.headers.get("retry-after", "0")) > 0
                if response.status_code >= 500 and not unavailable:
                    wrong.append(f"{method} {path} as {caller.name}: {response.status_code} {response.text[:200]}")
    finally:
        private_pg.start()
    assert not wrong, "\n".join(wrong)
    assert answers.get(503, 0) > 20, answers

    back = await as_caller(client, admin, "GET", "/staff", ROUTES[("GET", "/staff")])
    assert back.status_code == 200
    listed = await client.get("/api/v1/surveys", headers={"Authorization": f"Bearer {admin.token}"})
    assert listed.status_code == 200
