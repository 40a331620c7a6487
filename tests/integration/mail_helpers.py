"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests, and ways to queue and count messages."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import mail_outbox, members
from talking.mail.messages import SenderIdentity
from talking.mail.outbox import OutgoingMessage, queue_message
from talking.mail.sender import MailSender
from talking.mail.transport import SmtpTransport
from talking.testing.server import free_port

IDENTITY = SenderIdentity("Lancashire Talking <panel@talking.example>", "help@talking.example")


class Inbox:
    """An aiosmtpd handler keeping every message it accepts; it refuses the addresses in ``refuse`` with 550."""

    def __init__(self, refuse: set[str] | None = None, busy: set[str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse or set()
        self.busy = busy or set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Refuse some addresses for good (550) or for now (450)."""
        if address in self.refuse:
            return "550 5.1.1 The email account that you tried to reach does not exist"
        if address in self.busy:
            return "450 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Keep the message, parsed."""
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        """The Message-ID of every message received, in order."""
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


@contextmanager
def smtp_server(inbox: Inbox, port: int | None = None) -> Iterator[int]:
    """Run aiosmtpd on 127.0.0.1 (a free port unless given) until the block ends; yields the port."""
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_sender(engine: AsyncEngine, port: int, **options: object) -> MailSender:
    """A sender to the test's SMTP server, with short waits so retries happen within a test."""
    options = {"backoff_base_seconds": 0.2, "outage_first_seconds": 0.2, **options}
    return MailSender(engine, SmtpTransport(f"smtp://127.0.0.1:{port}", rate=10_000), IDENTITY, **options)  # type: ignore[arg-type]


def a_message(n: int = 1, **fields: object) -> OutgoingMessage:
    """A message to resident n."""
    values: dict[str, object] = {
        "to": f"resident{n}@example.org",
        "subject": "Your views on community safety in Preston",
        "text": f"Hello,\n\nPlease tell us what matters most in your area: https://talking.example/s/{n}\n\nThank you.",
        "kind": "invitation",
        "unsubscribe_url": f"https://talking.example/members/unsubscribe/token{n}",
        **fields,
    }
    return OutgoingMessage(**values)  # type: ignore[arg-type]


async def queue(engine: AsyncEngine, *messages: OutgoingMessage) -> list[int]:
    """Queue messages in one committed transaction; their outbox ids."""
    async with engine.begin() as conn:
        return [await queue_message(conn, message) for message in messages]


async def add_member(engine: AsyncEngine, address: str, status: str = "active") -> int:
    """A panel member with this address; their id."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(members)
            .values(email=address, email_key=address.lower(), status=status, joined_at=now, updated_at=now)
            .returning(members.c.id)
        )
        return result.scalar_one()


async def statuses(engine: AsyncEngine) -> dict[str, int]:
    """How many outbox messages are in each status."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(mail_outbox.c.status, func.count()).group_by(mail_outbox.c.status))
        return dict(rows.all())  # type: ignore[arg-type]


def talking(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `talking` command with these settings."""
    return subprocess.run(
        [sys.executable, "-m", "talking", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
