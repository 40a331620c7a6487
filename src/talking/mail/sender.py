"""The sender: one at a time across every process, it claims due messages, delivers them and records what happened.

One sender runs at a time (a lease row, ``mail_sender_lease``, taken by an atomic UPDATE where the
lease has expired), so TALKING_MAIL_RATE holds across every worker and app server. On PostgreSQL
messages are also claimed with ``FOR UPDATE SKIP LOCKED``, so even a sender that stalled past its
lease never shares a message with the one that took over. A claimed message carries
``claimed_until``: if its sender dies, another sends it after that (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from talking.db.models import mail_outbox, mail_sender_lease, members
from talking.mail.messages import SenderIdentity, StoredMessage, build_email
from talking.mail.outbox import REJOIN_CONFIRMATION
from talking.mail.transport import Delivered, Outcome, PermanentFailure, TemporaryFailure, Transport
from talking.settings import Settings

LEASE_SECONDS = 60
# Longer than any batch takes to send: a claimed message is only taken by another sender after this.
CLAIM_SECONDS = 300
# A message is given up (failed) after this many temporary refusals of it (4xx).
MAX_ATTEMPTS = 8
# Temporary refusals wait about 1, 2, 4... minutes (with jitter), at most 6 hours.
BACKOFF_BASE_SECONDS = 60.0
BACKOFF_CAP_SECONDS = 6 * 3600.0
# While the server cannot be reached, messages wait (and keep their attempts): 5 s, 10 s ... 5 min.
OUTAGE_FIRST_SECONDS = 5.0
OUTAGE_CAP_SECONDS = 300.0
# Members who left (or were erased) since a message was queued are never sent it.
GONE_STATUSES = ("unsubscribed", "erased")


def _member_left(member_status: str | None, kind: str) -> bool:
    """Whether a message is for a member who has left since (a rejoin confirmation still goes to the unsubscribed)."""
    if member_status == "unsubscribed" and kind == REJOIN_CONFIRMATION:
        return False
    return member_status in GONE_STATUSES


class RoundReport(msgspec.Struct):
    """What one call of ``deliver_due`` did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    had_lease: bool = True


class MailSender:
    """Delivers the outbox's due messages through a transport, holding the one lease while it does."""

    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        identity: SenderIdentity,
        *,
        batch_size: int = 500,
        retention: timedelta = timedelta(days=30),
        backoff_base_seconds: float = BACKOFF_BASE_SECONDS,
        outage_first_seconds: float = OUTAGE_FIRST_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.identity = identity
        self.batch_size = batch_size
        self.retention = retention
        self.backoff_base_seconds = backoff_base_seconds
        self.outage_first_seconds = outage_first_seconds
        self.max_attempts = max_attempts
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._outage_rounds = 0
        self._server_back_at = 0.0
        self._postgres = engine.dialect.name == "postgresql"

    @classmethod
    def from_settings(cls, settings: Settings, engine: AsyncEngine, transport: Transport) -> MailSender:
        """A sender as the settings say: From, Reply-To, retention; batches of about ten seconds' worth."""
        return cls(
            engine,
            transport,
            SenderIdentity(settings.mail_from, settings.mail_reply_to),
            batch_size=max(20, min(500, settings.mail_rate * 10)),
            retention=timedelta(days=settings.mail_retention_days),
        )

    # --- the lease ------------------------------------------------------------------------------

    async def take_lease(self) -> bool:
        """Take (or renew) the lease if nobody else holds a live one; whether we hold it now."""
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(mail_sender_lease)
                .where(
                    mail_sender_lease.c.name == "sender",
                    or_(mail_sender_lease.c.holder == self.holder, mail_sender_lease.c.expires_at < now),
                )
                .values(holder=self.holder, expires_at=now + timedelta(seconds=LEASE_SECONDS))
            )
        return result.rowcount == 1

    async def release_lease(self) -> None:
        """Let another sender take over at once (when we stop, or have nothing left to send)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(mail_sender_lease)
                .where(mail_sender_lease.c.name == "sender", mail_sender_lease.c.holder == self.holder)
                .values(holder=None, expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )

    # --- a round --------------------------------------------------------------------------------

    async def deliver_due(self) -> RoundReport:
        """Send every message due now, a batch at a time, while we hold the lease; then let it go."""
        report = RoundReport()
        if time.monotonic() < self._server_back_at:
            return report  # the server was down a moment ago: not knocking again yet
        if not await self._anything_due():
            return report
        if not await self.take_lease():
            report.had_lease = False
            return report
        try:
            batch = await self._claim_batch(report)
            while batch:
                emails = {message.id: build_email(message, self.identity) for message in batch}
                # The next batch is claimed while this one is on the wire, so the SMTP connections never wait
                # for the database.
                sending = asyncio.create_task(self.transport.send(emails))
                try:
                    upcoming = await self._claim_batch(report) if await self.take_lease() else []
                except Exception:
                    # Record what went out before giving up, or it would be sent again after its claim.
                    await self._record(batch, await sending, report)
                    raise
                await self._record(batch, await sending, report)
                outcomes = sending.result()
                if any(_server_down(outcome) for outcome in outcomes.values()):
                    await self._unclaim(upcoming)  # the server is down: they wait for the next round
                    break
                batch = upcoming
        finally:
            await self.release_lease()
        return report

    async def _anything_due(self) -> bool:
        """Whether any message is due: a read, so an idle sender never writes (on SQLite every write
        would end other connections' read snapshots, and their read-then-write transactions with them)."""
        now = datetime.now(UTC)
        async with self.engine.connect() as conn:
            found = await conn.execute(
                select(mail_outbox.c.id)
                .where(
                    mail_outbox.c.status == "queued",
                    mail_outbox.c.next_attempt_at <= now,
                    or_(mail_outbox.c.claimed_until.is_(None), mail_outbox.c.claimed_until < now),
                )
                .limit(1)
            )
            return found.first() is not None

    async def _claim_batch(self, report: RoundReport) -> list[StoredMessage]:
        """Claim the next due messages for this sender; cancel those whose member has gone."""
        now = datetime.now(UTC)
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                query = (
                    select(
                        mail_outbox.c.id,
                        mail_outbox.c.recipient,
                        mail_outbox.c.subject,
                        mail_outbox.c.body_text,
                        mail_outbox.c.body_html,
                        mail_outbox.c.unsubscribe_url,
                        mail_outbox.c.message_id,
                        mail_outbox.c.member_id,
                        mail_outbox.c.kind,
                        members.c.status.label("member_status"),
                    )
                    .select_from(mail_outbox.outerjoin(members, members.c.id == mail_outbox.c.member_id))
                    .where(
                        mail_outbox.c.status == "queued",
                        mail_outbox.c.next_attempt_at <= now,
                        or_(mail_outbox.c.claimed_until.is_(None), mail_outbox.c.claimed_until < now),
                    )
                    .order_by(mail_outbox.c.next_attempt_at, mail_outbox.c.id)
                    .limit(self.batch_size)
                )
                if self._postgres:
                    query = query.with_for_update(skip_locked=True, of=mail_outbox)
                rows = (await conn.execute(query)).all()
                if not rows:
                    return []
                gone = [row.id for row in rows if _member_left(row.member_status, row.kind)]
                keep = [row for row in rows if not _member_left(row.member_status, row.kind)]
                if gone:
                    await conn.execute(
                        update(mail_outbox)
                        .where(mail_outbox.c.id.in_(gone))
                        .values(status="cancelled", finished_at=now, last_error="the member left the panel")
                    )
                    report.cancelled += len(gone)
                if keep:
                    await conn.execute(
                        update(mail_outbox)
                        .where(mail_outbox.c.id.in_([row.id for row in keep]))
                        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
                    )
        if not keep:
            return await self._claim_batch(report)  # the whole batch had left: look again
        return [
            StoredMessage(
                id=row.id,
                to=row.recipient,
                subject=row.subject,
                text=row.body_text,
                html=row.body_html,
                unsubscribe_url=row.unsubscribe_url,
                message_id=row.message_id,
                member_id=row.member_id,
            )
            for row in keep
        ]

    async def _unclaim(self, batch: list[StoredMessage]) -> None:
        """Give back claimed messages this sender will not send now, for the next round (or sender)."""
        if not batch:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(mail_outbox).where(mail_outbox.c.id.in_([m.id for m in batch])).values(claimed_until=None)
            )

    async def _record(self, batch: list[StoredMessage], outcomes: dict[int, Outcome], report: RoundReport) -> None:
        """Write every outcome of a batch in one transaction: sent ones in one statement."""
        now = datetime.now(UTC)
        sent = [m.id for m in batch if isinstance(outcomes.get(m.id), Delivered)]
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(sqlite_immediate=True)
            async with conn.begin():
                if sent:
                    await conn.execute(
                        update(mail_outbox)
                        .where(mail_outbox.c.id.in_(sent))
                        .values(
                            status="sent",
                            attempts=mail_outbox.c.attempts + 1,
                            finished_at=now,
                            claimed_until=None,
                            last_error=None,
                        )
                    )
                    report.sent += len(sent)
                    self._outage_rounds = 0
                await self._record_failures(conn, batch, outcomes, now, report)

    async def _record_failures(
        self,
        conn: AsyncConnection,
        batch: list[StoredMessage],
        outcomes: dict[int, Outcome],
        now: datetime,
        report: RoundReport,
    ) -> None:
        attempts = dict(
            (
                await conn.execute(
                    select(mail_outbox.c.id, mail_outbox.c.attempts).where(
                        mail_outbox.c.id.in_([m.id for m in batch if not isinstance(outcomes.get(m.id), Delivered)])
                    )
                )
            ).all()
        )
        if not attempts:
            return
        outage_delay = self._outage_delay() if any(_server_down(o) for o in outcomes.values()) else 0.0
        if outage_delay:
            self._server_back_at = time.monotonic() + outage_delay
        changes: list[dict[str, object]] = []
        bounced: list[int] = []
        for message in batch:
            outcome = outcomes.get(message.id) or TemporaryFailure("not tried", server_down=True)
            if isinstance(outcome, Delivered):
                continue
            tries = attempts[message.id]
            change = {
                "b_id": message.id,
                "b_attempts": tries,
                "b_status": "queued",
                "b_finished": None,
                "b_next": now,
                "b_error": outcome.reason[:500],
            }
            if isinstance(outcome, PermanentFailure):
                change.update(b_attempts=tries + 1, b_status="failed", b_finished=now)
                report.failed += 1
                if outcome.recipient_refused and message.member_id is not None:
                    bounced.append(message.member_id)
            elif _server_down(outcome):
                # Not the message's fault: it keeps its attempts and waits for the server.
                change.update(b_next=now + timedelta(seconds=outage_delay))
                report.retrying += 1
            elif tries + 1 >= self.max_attempts:
                change.update(b_attempts=tries + 1, b_status="failed", b_finished=now)
                report.failed += 1
            else:
                change.update(b_attempts=tries + 1, b_next=now + timedelta(seconds=self._backoff(tries + 1)))
                report.retrying += 1
            changes.append(change)
        await conn.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == bindparam("b_id"))
            .values(
                attempts=bindparam("b_attempts"),
                status=bindparam("b_status"),
                finished_at=bindparam("b_finished"),
                next_attempt_at=bindparam("b_next"),
                last_error=bindparam("b_error"),
                claimed_until=None,
            ),
            changes,
        )
        if bounced:
            await conn.execute(
                update(members)
                .where(members.c.id.in_(bounced), members.c.bouncing_at.is_(None))
                .values(bouncing_at=now)
            )

    def _backoff(self, attempt: int) -> float:
        """Exponential with jitter: half the doubled delay, plus a random part of the other half."""
        delay = min(BACKOFF_CAP_SECONDS, self.backoff_base_seconds * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def _outage_delay(self) -> float:
        """How long messages wait for an unreachable server: doubling with each round it stays down."""
        self._outage_rounds += 1
        delay = min(OUTAGE_CAP_SECONDS, self.outage_first_seconds * 2 ** (self._outage_rounds - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    # --- privacy --------------------------------------------------------------------------------

    async def forget_old_messages(self) -> int:
        """Clear recipient, subject and bodies of messages finished longer ago than the retention period."""
        cutoff = datetime.now(UTC) - self.retention
        old = (
            mail_outbox.c.status.in_(("sent", "failed", "cancelled")),
            mail_outbox.c.finished_at < cutoff,
            mail_outbox.c.recipient.is_not(None),
        )
        async with self.engine.connect() as conn:
            # Looked for first, so that most hours it stays a read (see _anything_due).
            if (await conn.execute(select(mail_outbox.c.id).where(*old).limit(1))).first() is None:
                return 0
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(mail_outbox)
                .where(*old)
                .values(recipient=None, subject=None, body_text=None, body_html=None, unsubscribe_url=None)
            )
        return result.rowcount


def _server_down(outcome: Outcome) -> bool:
    """Whether a failure says nothing about the message: the server could not be reached."""
    return isinstance(outcome, TemporaryFailure) and outcome.server_down
