"""The sender inside `talking serve`: a task per worker that wakes every few seconds, or at once when
this process queues a message; the lease lets only one of them send at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from talking.mail.outbox import on_queued
from talking.mail.sender import MailSender
from talking.mail.transport import transport_for
from talking.outages import note_outage, outage_of
from talking.settings import Settings

log = logging.getLogger(__name__)

POLL_SECONDS = 3.0
# After a nudge, give the caller's transaction a moment to commit before looking.
AFTER_QUEUED_SECONDS = 0.05
FORGET_EVERY_SECONDS = 3600.0
# How long stopping waits for a round under way to finish (and mark what it sent) before cutting it short.
STOP_GRACE_SECONDS = 10.0


class BackgroundSender:
    """Runs ``MailSender.deliver_due`` in a loop for as long as the app runs."""

    def __init__(self, settings: Settings, engine: AsyncEngine, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.transport = transport_for(settings)
        self.sender = MailSender.from_settings(settings, engine, self.transport)
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._nudged = asyncio.Event()
        self._stop_listening = lambda: None
        self._stopping = False

    async def start(self) -> None:
        """Start the loop on this event loop (the app's lifespan calls this)."""
        self._stopping = False
        self._nudged = asyncio.Event()
        self._stop_listening = on_queued(self._nudged.set)
        self._task = asyncio.create_task(self._run(), name="talking-mail-sender")

    async def stop(self) -> None:
        """Stop the loop once its round is done, then let go of the lease and the SMTP connections.

        A round cut short after the SMTP server took its emails but before they were marked sent
        would send them again later: the round is let finish, for up to STOP_GRACE_SECONDS.
        """
        self._stop_listening()
        if self._task is not None:
            self._stopping = True
            self._nudged.set()  # a loop waiting for work wakes and sees it should stop
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        with contextlib.suppress(Exception):
            await self.sender.release_lease()
        await self.transport.close()

    async def _run(self) -> None:
        forgotten_at = 0.0
        while not self._stopping:
            try:
                report = await self.sender.deliver_due()
                if report.sent or report.failed:
                    log.info("mail: %d sent, %d failed, %d to retry", report.sent, report.failed, report.retrying)
                if time.monotonic() - forgotten_at > FORGET_EVERY_SECONDS:
                    await self.sender.forget_old_messages()
                    forgotten_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The database or the server may be away for a while: keep the worker up, try again later.
                if (outage := outage_of(exc)) is not None:
                    note_outage(outage, "the mail sender's round", log)
                else:
                    log.exception("mail: the sender's round failed; trying again in %s s", self.poll_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), self.poll_seconds)
            if self._nudged.is_set() and not self._stopping:
                self._nudged.clear()
                await asyncio.sleep(AFTER_QUEUED_SECONDS)
