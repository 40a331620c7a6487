"""A small panel, members surveys, and reading back what invitations stored, for the invitations tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.engine import immediate
from talking.db.models import Base, invitations, mail_outbox, members
from talking.members.member_file import read_text_file
from talking.members.services import import_members
from talking.reference import districts
from talking.testing.surveys import publish_survey

SECRET = "test-secret-key"  # the settings fixture's
CODES = {d.name: d.code for d in districts()}
PRESTON, WYRE, CHORLEY, BURNLEY = CODES["Preston"], CODES["Wyre"], CODES["Chorley"], CODES["Burnley"]


async def panel(engine: AsyncEngine, spec: dict[str, int], prefix: str = "") -> dict[str, int]:
    """``spec[district name]`` active members in each district, imported (addresses such as preston0@example.org,
    or latepreston0@... with a prefix); returns email -> member id."""
    lines = ["email,district"]
    for name, count in spec.items():
        lines += [f"{prefix}{name.lower().replace(' ', '-')}{n}@example.org,{name}" for n in range(count)]
    _count, rows = read_text_file(("\n".join(lines) + "\n").encode())
    async with immediate(engine).begin() as conn:
        await import_members(conn, rows)
        return dict((await conn.execute(select(members.c.email, members.c.id))).all())  # type: ignore[arg-type]


async def set_member(engine: AsyncEngine, member_id: int, **values: object) -> None:
    """Change a member behind the app's back (status, bouncing_at...)."""
    async with immediate(engine).begin() as conn:
        await conn.execute(update(members).where(members.c.id == member_id).values(**values))


async def members_survey(engine: AsyncEngine, **overrides: object) -> int:
    """A published members survey, open now (all 14 districts unless overridden)."""
    return await publish_survey(engine, **{"audience": "members", **overrides})


async def invitation_rows(engine: AsyncEngine, survey_id: int) -> list[dict[str, object]]:
    """The survey's invitations, as stored."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(invitations).where(invitations.c.survey_id == survey_id).order_by(invitations.c.member_id)
        )
        return [dict(row._mapping) for row in rows]


async def outbox(engine: AsyncEngine, kind: str | None = None) -> list[dict[str, object]]:
    """Queued emails (of one kind), oldest first."""
    query = select(mail_outbox).order_by(mail_outbox.c.id)
    if kind:
        query = query.where(mail_outbox.c.kind == kind)
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def age_invitations(engine: AsyncEngine, survey_id: int, days: int) -> None:
    """Move every invitation's and reminder's time back by ``days`` (as if that long had passed)."""
    async with immediate(engine).begin() as conn:
        for row in await invitation_rows(engine, survey_id):
            values: dict[str, object] = {"invited_at": row["invited_at"] - timedelta(days=days)}  # type: ignore[operator]
            if row["last_reminded_at"] is not None:
                values["last_reminded_at"] = row["last_reminded_at"] - timedelta(days=days)  # type: ignore[operator]
            await conn.execute(update(invitations).where(invitations.c.id == row["id"]).values(**values))


async def mark_answered(engine: AsyncEngine, survey_id: int, member_ids: list[int]) -> None:
    """Set used_on as the response writer does when an invitation's answer is stored."""
    async with immediate(engine).begin() as conn:
        await conn.execute(
            update(invitations)
            .where(invitations.c.survey_id == survey_id, invitations.c.member_id.in_(member_ids))
            .values(used_on=datetime.now(UTC).date())
        )


async def everything_stored(engine: AsyncEngine) -> str:
    """Every value of every table as text, to look for what must never be stored (tokens)."""
    found: list[str] = []
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            assert isinstance(table, Table)
            for row in await conn.execute(select(table)):
                found.extend(str(value) for value in row)
        if engine.dialect.name == "sqlite":
            names = (await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars()
            assert set(names) >= {t.name for t in Base.metadata.sorted_tables}
    return "\n".join(found)
