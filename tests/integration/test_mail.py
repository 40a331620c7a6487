"""The panel's email through a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import mail_outbox, members
from talking.mail.outbox import InvalidMessage, forget_member, queue_message
from talking.mail.sender import MailSender
from talking.mail.transport import EmlFileTransport, parse_smtp_url
from talking.testing.server import free_port

from .mail_helpers import IDENTITY, Inbox, a_message, add_member, queue, smtp_sender, smtp_server, statuses


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def test_a_message_arrives_with_both_parts_its_headers_and_one_click_unsubscribe(engine: AsyncEngine) -> None:
    inbox = Inbox()
    [outbox_id] = await queue(engine, a_message(1, text="Hello,\n\nTell us: https://talking.example/s/1 & more."))
    with smtp_server(inbox) as port:
        report = await smtp_sender(engine, port).deliver_due()
    assert report.sent == 1 and await statuses(engine) == {"sent": 1}
    [received] = inbox.messages
    assert received["From"] == "Lancashire Talking <panel@talking.example>"
    assert received["Reply-To"] == "help@talking.example"
    assert received["To"] == "resident1@example.org"
    assert received["Subject"] == "Your views on community safety in Preston"
    assert received["List-Unsubscribe"] == "<https://talking.example/members/unsubscribe/token1>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.utils.parsedate_to_datetime(received["Date"]).tzinfo is not None
    async with engine.connect() as conn:
        stored_id = (await conn.execute(select(mail_outbox.c.message_id).where(mail_outbox.c.id == outbox_id))).scalar()
    assert received["Message-ID"] == stored_id
    assert received.get_content_type() == "multipart/alternative"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Tell us: https://talking.example/s/1 & more." in text
    assert "https://talking.example/members/unsubscribe/token1" in text
    assert '<a href="https://talking.example/s/1"' in html and "&amp; more." in html
    assert 'href="https://talking.example/members/unsubscribe/token1"' in html
    assert inbox.envelopes == [("panel@talking.example", ["resident1@example.org"])]


async def test_a_message_queued_in_a_transaction_that_rolls_back_is_never_sent(engine: AsyncEngine) -> None:
    inbox = Inbox()
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await queue_message(conn, a_message(1))
            raise RuntimeError("the join failed after queueing its email")
    with smtp_server(inbox) as port:
        report = await smtp_sender(engine, port).deliver_due()
    assert report.sent == 0 and inbox.messages == [] and await statuses(engine) == {}


async def test_the_outbox_takes_an_orm_session_as_well(engine: AsyncEngine) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session, session.begin():
        await queue_message(session, a_message(1))
    assert await statuses(engine) == {"queued": 1}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"to": "not an address"}, "not an email address"),
        ({"to": ""}, "not an email address"),
        ({"to": "a@example.org\r\nBcc: everyone@example.org"}, "email address"),
        ({"subject": "Hello\nBcc: everyone@example.org"}, "one line"),
        ({"subject": "  "}, "a subject and some text"),
        ({"text": ""}, "a subject and some text"),
        ({"unsubscribe_url": "javascript:alert(1)"}, r"an http\(s\) URL"),
        ({"unsubscribe_url": "https://x.example/u\r\nX-Evil: 1"}, "one line"),
    ],
)
async def test_a_bad_message_is_refused_and_nothing_is_stored(engine: AsyncEngine, fields: dict, why: str) -> None:
    with pytest.raises(InvalidMessage, match=why):
        async with engine.begin() as conn:
            await queue_message(conn, a_message(1, **fields))
    assert await statuses(engine) == {}


async def test_while_the_smtp_server_is_down_messages_wait_and_all_arrive_when_it_returns(engine: AsyncEngine) -> None:
    await queue(engine, *(a_message(n) for n in range(30)))
    port = free_port()  # nobody listens yet
    sender = smtp_sender(engine, port)
    report = await sender.deliver_due()
    assert report.sent == 0 and report.retrying == 30 and await statuses(engine) == {"queued": 30}
    async with engine.connect() as conn:
        rows = (await conn.execute(select(mail_outbox.c.attempts, mail_outbox.c.next_attempt_at))).all()
    # An outage is not the messages' fault: they keep their attempts, and wait before the next try.
    assert {row.attempts for row in rows} == {0}
    assert all(row.next_attempt_at > datetime.now(UTC) for row in rows)
    inbox = Inbox()
    with smtp_server(inbox, port=port):
        assert (await sender.deliver_due()).sent == 0  # not due yet: backing off
        await asyncio.sleep(0.25)
        report = await sender.deliver_due()
    assert report.sent == 30 and await statuses(engine) == {"sent": 30}
    assert sorted(m["To"] for m in inbox.messages) == sorted(f"resident{n}@example.org" for n in range(30))


async def test_a_5xx_for_one_address_fails_that_message_and_marks_its_member_bouncing(engine: AsyncEngine) -> None:
    gone = await add_member(engine, "gone@example.org")
    kept = await add_member(engine, "kept@example.org")
    await queue(
        engine,
        a_message(1, to="gone@example.org", member_id=gone),
        a_message(2, to="kept@example.org", member_id=kept),
        a_message(3),
    )
    inbox = Inbox(refuse={"gone@example.org"})
    with smtp_server(inbox) as port:
        report = await smtp_sender(engine, port).deliver_due()
    assert (report.sent, report.failed) == (2, 1)
    assert sorted(m["To"] for m in inbox.messages) == ["kept@example.org", "resident3@example.org"]
    async with engine.connect() as conn:
        failed = (await conn.execute(select(mail_outbox).where(mail_outbox.c.status == "failed"))).one()
        bouncing = dict((await conn.execute(select(members.c.email, members.c.bouncing_at))).all())
    assert failed.recipient == "gone@example.org" and failed.last_error.startswith("550")
    assert bouncing["gone@example.org"] is not None and bouncing["kept@example.org"] is None


async def test_a_4xx_is_tried_again_with_backoff_and_given_up_after_the_last_attempt(engine: AsyncEngine) -> None:
    await queue(engine, a_message(1, to="busy@example.org"), a_message(2))
    inbox = Inbox(busy={"busy@example.org"})
    with smtp_server(inbox) as port:
        sender = smtp_sender(engine, port, backoff_base_seconds=0.05, max_attempts=3)
        first = await sender.deliver_due()
        assert (first.sent, first.retrying) == (1, 1)
        async with engine.connect() as conn:
            row = (await conn.execute(select(mail_outbox).where(mail_outbox.c.recipient == "busy@example.org"))).one()
        assert row.status == "queued" and row.attempts == 1 and row.last_error.startswith("450")
        for _ in range(40):
            await asyncio.sleep(0.05)
            await sender.deliver_due()
            if (await statuses(engine)).get("failed"):
                break
    assert await statuses(engine) == {"sent": 1, "failed": 1}
    async with engine.connect() as conn:
        attempts = (await conn.execute(select(mail_outbox.c.attempts).where(mail_outbox.c.status == "failed"))).scalar()
    assert attempts == 3


async def test_members_who_left_since_the_message_was_queued_are_not_sent_it(engine: AsyncEngine) -> None:
    left = await add_member(engine, "left@example.org")
    erased = await add_member(engine, "erased@example.org")
    active = await add_member(engine, "active@example.org")
    await queue(
        engine,
        *(
            a_message(n, to=f"{name}@example.org", member_id=m)
            for n, (name, m) in enumerate([("left", left), ("erased", erased), ("active", active)])
        ),
    )
    async with engine.begin() as conn:
        await conn.execute(update(members).where(members.c.id == left).values(status="unsubscribed"))
        await conn.execute(update(members).where(members.c.id == erased).values(status="erased", email=None))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = await smtp_sender(engine, port).deliver_due()
    assert (report.sent, report.cancelled) == (1, 2)
    assert [m["To"] for m in inbox.messages] == ["active@example.org"]
    assert await statuses(engine) == {"sent": 1, "cancelled": 2}


async def test_finished_messages_lose_their_address_and_text_after_the_retention_period(engine: AsyncEngine) -> None:
    ids = await queue(engine, a_message(1), a_message(2), a_message(3))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        sender = smtp_sender(engine, port, retention=timedelta(days=30))
        await sender.deliver_due()
        await queue(engine, a_message(4))  # still queued: kept whatever its age
        async with engine.begin() as conn:
            await conn.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id.in_(ids[:2]))
                .values(finished_at=datetime.now(UTC) - timedelta(days=31))
            )
            await conn.execute(update(mail_outbox).values(queued_at=datetime.now(UTC) - timedelta(days=40)))
        assert await sender.forget_old_messages() == 2
    async with engine.connect() as conn:
        rows = {row.id: row for row in await conn.execute(select(mail_outbox).order_by(mail_outbox.c.id))}
    for old in ids[:2]:
        assert rows[old].status == "sent" and rows[old].finished_at is not None
        assert (rows[old].recipient, rows[old].subject, rows[old].body_text, rows[old].body_html) == (None,) * 4
        assert rows[old].unsubscribe_url is None
    assert rows[ids[2]].recipient == "resident3@example.org"
    assert [row.recipient for row in rows.values() if row.status == "queued"] == ["resident4@example.org"]


async def test_without_smtp_each_message_is_a_readable_eml_file(engine: AsyncEngine, tmp_path: Path) -> None:
    ids = await queue(engine, a_message(1), a_message(2, text="Diolch! Café crème — £5"))
    mail_dir = tmp_path / "var" / "mail"
    report = await MailSender(engine, EmlFileTransport(mail_dir), IDENTITY).deliver_due()
    assert report.sent == 2
    files = sorted(mail_dir.iterdir())
    assert [f.name for f in files] == [f"{ids[0]:09d}.eml", f"{ids[1]:09d}.eml"]
    second = email.message_from_bytes(files[1].read_bytes(), policy=default)
    assert second["To"] == "resident2@example.org"
    assert second["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Diolch! Café crème — £5" in second.get_body(("plain",)).get_content()
    assert "Your views on community safety" in files[0].read_text()


def test_a_smtp_url_that_cannot_work_is_a_clear_error() -> None:
    assert parse_smtp_url("smtp://user:p%40ss@mail.example:2525") == parse_smtp_url(
        "smtp://user:p%40ss@mail.example:2525"
    )
    server = parse_smtp_url("smtp://user:p%40ss@mail.example:2525")
    assert (server.host, server.port, server.username, server.password) == ("mail.example", 2525, "user", "p@ss")
    assert server.start_tls is True and not server.use_tls  # a password is never sent in the clear
    assert parse_smtp_url("smtps://mail.example").port == 465 and parse_smtp_url("smtps://mail.example").use_tls
    assert parse_smtp_url("smtp://relay.internal").start_tls is None  # STARTTLS when offered
    for bad in ["http://mail.example", "smtp://", "mail.example:25", "smtp://mail.example:port"]:
        with pytest.raises(ValueError, match="TALKING_SMTP_URL"):
            parse_smtp_url(bad)


async def test_erasing_a_member_cancels_their_queued_emails_and_clears_every_address_and_text(
    engine: AsyncEngine,
) -> None:
    erased = await add_member(engine, "erased@example.org")
    other = await add_member(engine, "other@example.org")
    inbox = Inbox()
    with smtp_server(inbox) as port:
        await queue(engine, a_message(1, to="erased@example.org", member_id=erased))
        await smtp_sender(engine, port).deliver_due()
    await queue(engine, a_message(2, to="erased@example.org", member_id=erased))
    await queue(engine, a_message(3, to="other@example.org", member_id=other))
    async with engine.begin() as conn:
        await forget_member(conn, erased)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(mail_outbox).order_by(mail_outbox.c.id))).all()
    assert [(row.status, row.recipient) for row in rows] == [
        ("sent", None),
        ("cancelled", None),
        ("queued", "other@example.org"),
    ]
    assert all(row.body_text is None and row.subject is None for row in rows[:2])
