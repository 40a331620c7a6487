"""The outbox: every email is written in the same transaction as what caused it, and sent later.

``queue_message`` takes the caller's connection (an ``AsyncConnection`` or an ``AsyncSession``), so
a join, an invitation or a reminder and its email commit together or not at all; the sender
(mail/sender.py) delivers what was committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import make_msgid

import msgspec
from sqlalchemy import func, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking.db.models import mail_outbox


class OutgoingMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One email as its caller writes it: who to, what it says, and how to stop the next ones.

    ``html`` is optional: without it the HTML part is made from the text (mail/messages.py).
    ``unsubscribe_url`` is the one-click URL (RFC 8058) for messages to panel members.
    """

    to: str
    subject: str
    text: str
    kind: str
    html: str | None = None
    unsubscribe_url: str | None = None
    member_id: int | None = None


# The one kind of message an unsubscribed member is still sent: they asked to come back (members/join.py),
# and only the link in it rejoins them. The sender cancels every other message to someone who left.
REJOIN_CONFIRMATION = "join_rejoin_confirmation"

# make_msgid's default asks DNS for this machine's name on every call; a fixed name is as unique.
MESSAGE_ID_DOMAIN = "talking.localhost"


class InvalidMessage(ValueError):
    """A message the outbox refuses: no recipient, no subject, a header that would break lines."""


# Callbacks of the senders running in this process, told when a message is queued here.
_wake_callbacks: list[Callable[[], None]] = []


def on_queued(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` whenever this process queues a message; returns the function that stops it."""
    _wake_callbacks.append(callback)
    return lambda: _wake_callbacks.remove(callback)


async def queue_message(conn: AsyncConnection | AsyncSession, message: OutgoingMessage) -> int:
    """Write ``message`` to the outbox inside the caller's transaction; returns its outbox id."""
    check_message(message)
    now = datetime.now(UTC)
    result = await conn.execute(
        insert(mail_outbox)
        .values(
            member_id=message.member_id,
            kind=message.kind,
            recipient=message.to,
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            unsubscribe_url=message.unsubscribe_url,
            message_id=make_msgid(domain=MESSAGE_ID_DOMAIN),
            status="queued",
            attempts=0,
            queued_at=now,
            next_attempt_at=now,
        )
        .returning(mail_outbox.c.id)
    )
    for wake in list(_wake_callbacks):
        # Only a nudge: the sender looks again shortly after, once the caller has committed.
        wake()
    return result.scalar_one()


async def queue_messages(conn: AsyncConnection | AsyncSession, messages: list[OutgoingMessage]) -> None:
    """Write many messages to the outbox inside the caller's transaction, in one executemany.

    For mailings to panel members (invitations, reminders: up to the whole panel at once): their
    addresses were checked when they joined or were imported, so each is not parsed again here (the
    email package's parser costs about 50 us an address, 4 s for 80,000); what could break a header
    or an email is still refused.
    """
    if not messages:
        return
    for message in messages:
        check_message(message, parse_address=False)
    # The times are the database's clock, in the statement: the same for every row, so not a
    # parameter each row's values are converted for (a fifth of the time at 80,000 rows).
    await conn.execute(
        insert(mail_outbox).values(status="queued", attempts=0, queued_at=func.now(), next_attempt_at=func.now()),
        [
            {
                "member_id": message.member_id,
                "kind": message.kind,
                "recipient": message.to,
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "unsubscribe_url": message.unsubscribe_url,
                "message_id": make_msgid(domain=MESSAGE_ID_DOMAIN),
            }
            for message in messages
        ],
    )
    for wake in list(_wake_callbacks):
        wake()


async def forget_member(conn: AsyncConnection | AsyncSession, member_id: int) -> None:
    """For erasing a member (in the caller's transaction): cancel their queued emails and clear the
    address and text of every email to them, sent or not, without waiting for the retention period."""
    await conn.execute(
        update(mail_outbox)
        .where(mail_outbox.c.member_id == member_id, mail_outbox.c.status == "queued")
        .values(status="cancelled", finished_at=datetime.now(UTC), last_error="the member was erased")
    )
    await conn.execute(
        update(mail_outbox)
        .where(mail_outbox.c.member_id == member_id)
        .values(recipient=None, subject=None, body_text=None, body_html=None, unsubscribe_url=None)
    )


def check_message(message: OutgoingMessage, *, parse_address: bool = True) -> None:
    """Refuse what no mail server would take or what could inject headers."""
    if parse_address:
        try:
            Address(addr_spec=message.to)
        except (ValueError, IndexError) as exc:
            raise InvalidMessage(f"not an email address: {message.to!r}") from exc
    if "@" not in message.to:
        raise InvalidMessage(f"not an email address: {message.to!r}")
    for name, value in (("to", message.to), ("subject", message.subject), ("unsubscribe_url", message.unsubscribe_url)):
        if value is not None and ("\r" in value or "\n" in value):
            raise InvalidMessage(f"{name} must be one line")
    if not message.subject.strip() or not message.text.strip():
        raise InvalidMessage("a message needs a subject and some text")
    if message.unsubscribe_url is not None and not message.unsubscribe_url.startswith(("https://", "http://")):
        raise InvalidMessage("the unsubscribe URL must be an http(s) URL")
