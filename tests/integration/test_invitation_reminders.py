"""Reminders: one to each invitee who has not answered, at most two each, at least three days apart, never to
members who left, were erased or bounce; the same link as the invitation. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import immediate
from talking.db.models import audit_events
from talking.invitation_tokens import invitation_token
from talking.members.directory import erase

from ..conftest import make_token, make_user
from .invitation_helpers import (
    SECRET,
    age_invitations,
    invitation_rows,
    mark_answered,
    members_survey,
    outbox,
    panel,
    set_member,
)

Client = AsyncTestClient[Litestar]


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """On SQLite and on PostgreSQL."""
    return each_database_url


@pytest.fixture
async def staff_headers(engine: AsyncEngine) -> dict[str, str]:
    token = await make_token(engine, await make_user(engine, "staff@lancashire.test", "staff"))
    return {"Authorization": f"Bearer {token}"}


async def remind(client: Client, survey_id: int, headers: dict[str, str]) -> int:
    answer = await client.post(f"/api/v1/surveys/{survey_id}/reminders", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["reminded"]


async def test_who_is_reminded_how_often_and_with_which_link(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    ids = await panel(engine, {"Preston": 6})
    survey_id = await members_survey(engine)
    sent = await client.post(f"/api/v1/surveys/{survey_id}/invitations", headers=staff_headers)
    assert sent.json() == {"invited": 6}

    # Just invited: nobody is reminded yet (three days at least between emails).
    assert await remind(client, survey_id, staff_headers) == 0

    await age_invitations(engine, survey_id, days=4)
    await mark_answered(engine, survey_id, [ids["preston0@example.org"]])
    await set_member(engine, ids["preston1@example.org"], status="unsubscribed")
    await set_member(engine, ids["preston2@example.org"], bouncing_at=datetime.now(UTC))
    async with immediate(engine).begin() as conn:
        await erase(conn, ids["preston3@example.org"], actor=None)
    reminded = {ids["preston4@example.org"], ids["preston5@example.org"]}

    assert await remind(client, survey_id, staff_headers) == 2
    emails = await outbox(engine, "reminder")
    assert {e["member_id"] for e in emails} == reminded
    for email in emails:
        token = invitation_token(SECRET, survey_id, email["member_id"])  # type: ignore[arg-type]
        assert f"/i/{token}" in email["body_text"]  # type: ignore[operator]
        assert email["subject"].startswith("Reminder: ")  # type: ignore[union-attr]
    by_member = {row["member_id"]: row for row in await invitation_rows(engine, survey_id)}
    assert all(by_member[m]["reminders_sent"] == 1 and by_member[m]["last_reminded_at"] for m in reminded)
    assert by_member[ids["preston0@example.org"]]["reminders_sent"] == 0

    # Pressing again the same day reminds nobody.
    assert await remind(client, survey_id, staff_headers) == 0
    # Three days on, the second and last reminder; after that, none however long it has been.
    await age_invitations(engine, survey_id, days=4)
    assert await remind(client, survey_id, staff_headers) == 2
    await age_invitations(engine, survey_id, days=10)
    assert await remind(client, survey_id, staff_headers) == 0
    assert {
        row["reminders_sent"] for row in await invitation_rows(engine, survey_id) if row["member_id"] in reminded
    } == {2}
    assert len(await outbox(engine, "reminder")) == 4

    async with engine.connect() as conn:
        rounds = (
            await conn.execute(select(audit_events.c.detail).where(audit_events.c.action == "reminders_sent"))
        ).scalars()
        assert [d for d in rounds if '"reminded":2' in d] and all("@" not in d for d in rounds)


async def test_two_reminder_rounds_at_once_remind_each_invitee_once(
    client: Client, engine: AsyncEngine, staff_headers: dict[str, str]
) -> None:
    await panel(engine, {"Wyre": 25})
    survey_id = await members_survey(engine)
    await client.post(f"/api/v1/surveys/{survey_id}/invitations", headers=staff_headers)
    await age_invitations(engine, survey_id, days=5)
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/surveys/{survey_id}/reminders", headers=staff_headers) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert sorted(a.json()["reminded"] for a in answers) == [0, 0, 25]
    assert len(await outbox(engine, "reminder")) == 25
    assert {row["reminders_sent"] for row in await invitation_rows(engine, survey_id)} == {1}
