"""One-click unsubscribe (RFC 8058) from the link in a member's emails: no cookie, no CSRF token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import mail_outbox, members
from talking.mail.outbox import queue_message
from talking.members.unsubscribe import unsubscribe_url
from talking.signed_tokens import sign_id, unsign_id

from .mail_helpers import Inbox, a_message, add_member, smtp_sender, smtp_server, statuses

Client = AsyncTestClient[Litestar]
SECRET = "test-secret-key"  # the app fixture's


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def status_of(engine: AsyncEngine, member_id: int) -> str:
    async with engine.connect() as conn:
        return (await conn.execute(select(members.c.status).where(members.c.id == member_id))).scalar_one()


def path_for(member_id: int, secret: str = SECRET) -> str:
    return unsubscribe_url("https://talking.example/", secret, member_id).removeprefix("https://talking.example")


async def test_one_click_post_with_no_cookie_or_csrf_token_unsubscribes_at_once(
    client: Client, engine: AsyncEngine
) -> None:
    member = await add_member(engine, "leaving@example.org")
    other = await add_member(engine, "staying@example.org")
    client.cookies.clear()
    response = await client.post(
        path_for(member),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "You have unsubscribed" in response.text
    assert await status_of(engine, member) == "unsubscribed"
    assert await status_of(engine, other) == "active"
    # Again (a mail client retrying): still fine, nothing else changes.
    assert (await client.post(path_for(member), content=b"List-Unsubscribe=One-Click")).status_code == 200
    assert await status_of(engine, member) == "unsubscribed"


async def test_the_link_opened_in_a_browser_asks_first_and_changes_nothing(client: Client, engine: AsyncEngine) -> None:
    member = await add_member(engine, "reader@example.org")
    response = await client.get(path_for(member))
    assert response.status_code == 200
    assert "Unsubscribe from the resident panel" in response.text
    assert f'action="{path_for(member)}"' in response.text
    assert await status_of(engine, member) == "active"


@pytest.mark.parametrize(
    "bad_path",
    [
        "/members/unsubscribe/not-a-token",
        "/members/unsubscribe/MQ.forged",
        "/members/unsubscribe/" + sign_id("another-secret", "talking.members.unsubscribe", 1),
        "/members/unsubscribe/" + sign_id(SECRET, "some-other-purpose", 1),
        "/members/unsubscribe/" + sign_id(SECRET, "talking.members.unsubscribe", 0),
        "/members/unsubscribe/" + "x" * 5000,
    ],
)
async def test_a_token_we_did_not_sign_is_page_not_found_and_nothing_changes(
    client: Client, engine: AsyncEngine, bad_path: str
) -> None:
    member = await add_member(engine, "safe@example.org")
    for method in (client.get, client.post):
        response = await method(bad_path)
        assert response.status_code == 404
        assert "Page not found" in response.text
    assert await status_of(engine, member) == "active"


def test_tokens_carry_only_ids_we_signed_for_that_purpose() -> None:
    token = sign_id(SECRET, "p", 42)
    assert unsign_id(SECRET, "p", token) == 42
    assert unsign_id(SECRET, "q", token) is None
    assert unsign_id("other", "p", token) is None
    assert unsign_id(SECRET, "p", sign_id(SECRET, "p", "42")) is None  # type: ignore[arg-type]
    assert unsign_id(SECRET, "p", sign_id(SECRET, "p", True)) is None  # type: ignore[arg-type]


async def test_an_email_queued_before_the_member_left_is_never_sent(
    client: Client, engine: AsyncEngine, tmp_path: Path
) -> None:
    member = await add_member(engine, "gone@example.org")
    url = unsubscribe_url("https://talking.example", SECRET, member)
    later = datetime.now(UTC) + timedelta(hours=1)
    async with engine.begin() as conn:
        # Not due yet, so the app's own sender leaves it alone until the member has left.
        await queue_message(conn, a_message(1, to="gone@example.org", member_id=member, unsubscribe_url=url))
        await conn.execute(update(mail_outbox).values(next_attempt_at=later))
    assert (await client.post(path_for(member), content=b"List-Unsubscribe=One-Click")).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(update(mail_outbox).values(next_attempt_at=datetime.now(UTC)))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        sender = smtp_sender(engine, port)
        for _ in range(50):  # the app's own sender may hold the lease a moment, or get there first
            if (await sender.deliver_due()).had_lease and await statuses(engine) != {"queued": 1}:
                break
            await asyncio.sleep(0.1)
    assert inbox.messages == [] and await statuses(engine) == {"cancelled": 1}
    assert not (tmp_path / "mail").exists()  # nor as a file by the app's sender
