"""Members surveys and invitations to them, made directly in the database for tests and benchmarks.

Sending invitations is the invitations feature's; these rows are what it stores (a token derived
from the secret key, only its hash kept), so the residents' side can be tested and measured alone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import create_engine
from talking.db.models import invitations, members, surveys
from talking.invitation_tokens import invitation_token, token_hash
from talking.testing.surveys import publish_survey


async def publish_members_survey(engine: AsyncEngine, **overrides: object) -> int:
    """A published survey for invited panel members only (``publish_survey``'s, audience "members")."""
    survey_id = await publish_survey(engine, **overrides)
    async with engine.begin() as conn:
        await conn.execute(update(surveys).where(surveys.c.id == survey_id).values(audience="members"))
    return survey_id


async def invite(engine: AsyncEngine, secret_key: str, survey_id: int, member_id: int) -> str:
    """Invite a member to a survey, as sending invitations stores it; returns the link's token."""
    token = invitation_token(secret_key, survey_id, member_id)
    async with engine.begin() as conn:
        district = (await conn.execute(select(members.c.district_code).where(members.c.id == member_id))).scalar_one()
        await conn.execute(
            insert(invitations).values(
                survey_id=survey_id,
                member_id=member_id,
                district_code=district,
                token_hash=token_hash(token),
                invited_at=datetime.now(UTC),
                reminders_sent=0,
            )
        )
    return token


async def invite_many(
    engine: AsyncEngine, secret_key: str, survey_id: int, districts: list[str], count: int
) -> list[str]:
    """``count`` new active members (districts in turn) each invited to the survey; their tokens, in order."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        first = (await conn.execute(select(members.c.id).order_by(members.c.id.desc()).limit(1))).scalar() or 0
        rows = [
            {
                "id": first + n,
                "email": f"panel{first + n}@example.org",
                "email_key": f"panel{first + n}@example.org",
                "district_code": districts[n % len(districts)],
                "status": "active",
                "consent_version": "imported",
                "consent_at": now,
                "joined_at": now,
                "confirmed_at": now,
                "updated_at": now,
            }
            for n in range(1, count + 1)
        ]
        await conn.execute(insert(members), rows)
        tokens = [invitation_token(secret_key, survey_id, row["id"]) for row in rows]
        await conn.execute(
            insert(invitations),
            [
                {
                    "survey_id": survey_id,
                    "member_id": row["id"],
                    "district_code": row["district_code"],
                    "token_hash": token_hash(token),
                    "invited_at": now,
                    "reminders_sent": 0,
                }
                for row, token in zip(rows, tokens, strict=True)
            ],
        )
    return tokens


def invite_many_at(database_url: str, secret_key: str, survey_id: int, districts: list[str], count: int) -> list[str]:
    """``invite_many`` from code with no event loop running (the benchmarks): on an engine and a loop of its own."""

    async def create() -> list[str]:
        engine = create_engine(database_url)
        try:
            return await invite_many(engine, secret_key, survey_id, districts, count)
        finally:
            await engine.dispose()

    return asyncio.run(create())


def publish_members_survey_at(database_url: str, survey_id: int) -> None:
    """Make a published survey a members survey, from code with no event loop running."""

    async def change() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(surveys).where(surveys.c.id == survey_id).values(audience="members"))
        finally:
            await engine.dispose()

    asyncio.run(change())
