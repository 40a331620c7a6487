"""How emails leave: SMTP (aiosmtplib), or .eml files under var/mail/ when no SMTP server is set.

A transport takes a batch of built emails and says, for each, whether it was delivered or failed
for now (try again later) or for good (SMTP 5xx). It never raises for one message's failure.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import msgspec
from aiolimiter import AsyncLimiter

from talking.mail.messages import Envelope
from talking.settings import Settings

# Connections kept open to the SMTP server: messages go out in parallel on them (within the rate).
SMTP_CONNECTIONS = 16
SMTP_TIMEOUT_SECONDS = 30


class Delivered(msgspec.Struct, frozen=True):
    """The server took the message."""


class TemporaryFailure(msgspec.Struct, frozen=True):
    """Not delivered this time (4xx, or ``server_down``): the sender tries again later."""

    reason: str
    # The server could not be reached or dropped us: nothing is known against the message itself.
    server_down: bool = False


class PermanentFailure(msgspec.Struct, frozen=True):
    """Refused for good (5xx); ``recipient_refused`` when the address itself was (it bounces)."""

    reason: str
    recipient_refused: bool


Outcome = Delivered | TemporaryFailure | PermanentFailure


class Transport(Protocol):
    """Where the sender hands its emails."""

    async def send(self, emails: dict[int, Envelope]) -> dict[int, Outcome]:
        """Send each email (keyed by outbox id) and say what became of it."""
        ...

    async def close(self) -> None:
        """Let go of connections."""
        ...


def transport_for(settings: Settings) -> Transport:
    """SMTP when TALKING_SMTP_URL is set, else .eml files in TALKING_MAIL_DIR."""
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url, rate=settings.mail_rate)
    return EmlFileTransport(settings.mail_dir)


def describe_destination(settings: Settings) -> str:
    """Where emails go, for the operator (never the password); ValueError for an unusable SMTP URL."""
    if not settings.smtp_url:
        return f"emails written as .eml files in {settings.mail_dir}/ (no TALKING_SMTP_URL)"
    server = parse_smtp_url(settings.smtp_url)
    how = "TLS" if server.use_tls else ("STARTTLS" if server.start_tls else "STARTTLS if offered")
    return f"emails sent through {server.host}:{server.port} ({how}), at most {settings.mail_rate} a second"


class SmtpServer(msgspec.Struct, frozen=True):
    """Where and how to reach the SMTP server, read from TALKING_SMTP_URL."""

    host: str
    port: int
    use_tls: bool
    start_tls: bool | None
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """smtp://[user:pass@]host[:port] (STARTTLS; required when a password is sent) or smtps:// (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(f"TALKING_SMTP_URL must look like smtp://user:pass@host:587 or smtps://host, not {url!r}")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError as exc:
        raise ValueError(f"TALKING_SMTP_URL has a port that is not a number: {url!r}") from exc
    username = unquote(parts.username) if parts.username else None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        use_tls=parts.scheme == "smtps",
        # A password never crosses the network in the clear; without one, STARTTLS if offered.
        start_tls=None if parts.scheme == "smtps" or not username else True,
        username=username,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpTransport:
    """SMTP through aiosmtplib: a few connections kept open and reused, messages paced to the rate."""

    def __init__(self, url: str, *, rate: float, connections: int = SMTP_CONNECTIONS) -> None:
        self.server = parse_smtp_url(url)
        self.limiter = AsyncLimiter(rate, 1)
        self.clients = [self._client() for _ in range(connections)]

    def _client(self) -> aiosmtplib.SMTP:
        server = self.server
        return aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            use_tls=server.use_tls,
            start_tls=None if server.use_tls else server.start_tls,
            username=server.username,
            password=server.password,
            timeout=SMTP_TIMEOUT_SECONDS,
        )

    async def send(self, emails: dict[int, Envelope]) -> dict[int, Outcome]:
        """Send the batch on every connection at once; a server that cannot be reached fails the rest fast."""
        waiting = list(emails.items())
        waiting.reverse()
        outcomes: dict[int, Outcome] = {}
        unreachable: list[str] = []

        async def work(client: aiosmtplib.SMTP) -> None:
            while waiting:
                outbox_id, email = waiting.pop()
                if unreachable:
                    outcomes[outbox_id] = TemporaryFailure(unreachable[0], server_down=True)
                    continue
                async with self.limiter:
                    outcomes[outbox_id] = await self._send_one(client, email, unreachable)

        await asyncio.gather(*(work(client) for client in self.clients[: max(1, len(emails))]))
        return outcomes

    async def _send_one(self, client: aiosmtplib.SMTP, email: Envelope, unreachable: list[str]) -> Outcome:
        if not client.is_connected:
            try:
                await client.connect()
            except (aiosmtplib.SMTPException, OSError) as exc:
                unreachable.append(f"SMTP server unreachable: {exc}")
                client.close()
                return TemporaryFailure(unreachable[0], server_down=True)
        try:
            await client.sendmail(email.sender, [email.recipient], email.data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            if refusal.code >= 500:
                return PermanentFailure(f"{refusal.code} {refusal.message}", recipient_refused=True)
            return TemporaryFailure(f"{refusal.code} {refusal.message}")
        except aiosmtplib.SMTPServerDisconnected as exc:
            client.close()
            return TemporaryFailure(f"SMTP server disconnected: {exc}", server_down=True)
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                return PermanentFailure(f"{exc.code} {exc.message}", recipient_refused=False)
            return TemporaryFailure(f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            return TemporaryFailure(f"SMTP error: {exc}")
        return Delivered()

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        for client in self.clients:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


class EmlFileTransport:
    """The embedded default: each message written as var/mail/<outbox id>.eml, readable by any mail client."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send(self, emails: dict[int, Envelope]) -> dict[int, Outcome]:
        """Write the batch's files on a thread (disk writes would stall the event loop)."""
        return await asyncio.to_thread(self._write_all, emails)

    def _write_all(self, emails: dict[int, Envelope]) -> dict[int, Outcome]:
        self.directory.mkdir(parents=True, exist_ok=True)
        outcomes: dict[int, Outcome] = {}
        for outbox_id, email in emails.items():
            path = self.directory / f"{outbox_id:09d}.eml"
            partial = path.with_suffix(".eml.partial")
            try:
                partial.write_bytes(email.data)
                # Renamed into place whole: a reader never sees half a message.
                os.replace(partial, path)
            except OSError as exc:
                outcomes[outbox_id] = TemporaryFailure(f"could not write {path}: {exc}")
            else:
                outcomes[outbox_id] = Delivered()
        return outcomes

    async def close(self) -> None:
        """Nothing to let go of."""
