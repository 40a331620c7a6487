"""Staff find, read and erase members: every read audited by id (never by address), erasure for good,
counts by district and status, and the command for requests by post or phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import audit_events, members
from talking.members.member_file import read_text_file
from talking.members.services import import_members

from ..conftest import make_user, talking
from .staff_helpers import sign_in, submit, text_of

Client = AsyncTestClient[Litestar]
PANEL = (
    b"email,district,age_band\n"
    b"ann.smith@example.org,Preston,45-54\nbob@example.org,Preston,\ncat@example.org,Wyre,\n"
    b"dan_100%@example.org,Chorley,\n"
)


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


async def panel(engine: AsyncEngine) -> dict[str, int]:
    """The panel above, imported; email -> member id."""
    _count, rows = read_text_file(PANEL)
    async with engine.begin() as conn:
        await import_members(conn, rows)
        return dict((await conn.execute(select(members.c.email, members.c.id))).all())


async def audit_trail(engine: AsyncEngine) -> list[tuple[str, str | None, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(audit_events.c.action, audit_events.c.target_id, audit_events.c.detail)
            .where(audit_events.c.action.in_(["members_searched", "member_viewed", "member_erased"]))
            .order_by(audit_events.c.id)
        )
        return [tuple(row) for row in rows]


async def staff_client(client: Client, engine: AsyncEngine) -> Client:
    await make_user(engine, "staff@example.org", "staff")
    await sign_in(client, "staff@example.org")
    return client


async def test_counts_by_district_and_status_with_their_chart(client: Client, engine: AsyncEngine) -> None:
    await panel(engine)
    await staff_client(client, engine)
    page = await client.get("/staff/members")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = text_of(page.text)
    assert "Preston 2 0 0 0 2" in text and "Wyre 1 0 0 0 1" in text
    assert "Lancashire (all 14 areas) 4 0 0 0 4" in text
    assert page.text.count("<rect") == 14  # a bar for every district, the table's figures beside them
    assert await audit_trail(engine) == []  # counts are not personal data


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("SMITH", ["ann.smith@example.org"]),
        ("%", ["dan_100%@example.org"]),
        ("_", ["dan_100%@example.org"]),
        ("nobody", []),
    ],
)
async def test_search_finds_by_any_part_of_the_address_and_audits_the_ids(
    client: Client, engine: AsyncEngine, typed: str, found: list[str]
) -> None:
    ids = await panel(engine)
    await staff_client(client, engine)
    page = await client.get("/staff/members", params={"q": typed})
    shown = [email for email in ids if f">{email}</a>" in page.text]
    assert shown == found
    [(action, _target, detail)] = await audit_trail(engine)
    assert action == "members_searched" and detail == f'{{"shown":{[ids[e] for e in found]}}}'.replace(" ", "")
    assert "@" not in detail


async def test_a_members_page_is_audited_and_erasure_is_for_good(client: Client, engine: AsyncEngine) -> None:
    ids = await panel(engine)
    await staff_client(client, engine)
    ann = ids["ann.smith@example.org"]
    page = await client.get(f"/staff/members/{ann}")
    assert "ann.smith@example.org" in page.text and "45 to 54" in text_of(page.text)
    erased = await submit(client, f"/staff/members/{ann}", f"/staff/members/{ann}/erase", {})
    assert erased.status_code == 303
    after = await client.get("/staff/members")
    assert f"Member {ann} has been erased" in text_of(after.text)
    async with engine.connect() as conn:
        row = (await conn.execute(select(members).where(members.c.id == ann))).one()
    assert (row.email, row.email_key, row.district_code, row.age_band, row.sex, row.status) == (
        None,
        None,
        None,
        None,
        None,
        "erased",
    )
    trail = await audit_trail(engine)
    assert [(action, target) for action, target, _detail in trail] == [
        ("member_viewed", str(ann)),
        ("member_viewed", str(ann)),
        ("member_erased", str(ann)),
    ]
    assert not any("ann" in detail for _a, _t, detail in trail)


async def test_an_unknown_member_is_not_found(client: Client, engine: AsyncEngine) -> None:
    await staff_client(client, engine)
    assert (await client.get("/staff/members/999")).status_code == 404


async def test_the_command_erases_by_address_in_any_case(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    ids = await panel(engine)
    done = talking("members", "erase", "BOB@Example.org", "--yes", database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"talking: member {ids['bob@example.org']} erased (address and details removed)"
    again = talking("members", "erase", "bob@example.org", "--yes", database_url=database_url, cwd=tmp_path)
    assert again.returncode == 1 and "No member has the address bob@example.org" in again.stderr


async def test_erasure_clears_the_members_emails_too(engine: AsyncEngine) -> None:
    """A queued email to an erased member is never sent, and no email keeps their address."""
    from talking.db.models import mail_outbox
    from talking.mail.outbox import OutgoingMessage, queue_message
    from talking.members import directory

    ids = await panel(engine)
    cat = ids["cat@example.org"]
    async with engine.begin() as conn:
        await queue_message(
            conn,
            OutgoingMessage(to="cat@example.org", subject="Your invitation", text="Hello", member_id=cat, kind="test"),
        )
    async with engine.begin() as conn:
        await directory.erase(conn, cat, actor=None)
    async with engine.connect() as conn:
        row = (await conn.execute(select(mail_outbox).where(mail_outbox.c.member_id == cat))).one()
    assert (row.status, row.recipient, row.subject, row.body_text) == ("cancelled", None, None, None)
