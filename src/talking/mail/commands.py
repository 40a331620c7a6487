"""`talking mail ...`: the outbox from the command line (joined to the `talking` command in cli.py)."""

from __future__ import annotations

import asyncio

import click

from talking.settings import Settings


@click.group()
def mail() -> None:
    """Email for the resident panel."""


@mail.command("send")
def send() -> None:
    """Deliver every message due now, then exit (0 when the round ran, even if some must wait).

    Through TALKING_SMTP_URL, or as .eml files under TALKING_MAIL_DIR without it. If a running
    `talking serve` is sending at this moment, it holds the lease and delivers them instead.
    """
    from talking.db.engine import create_engine
    from talking.mail.sender import MailSender
    from talking.mail.transport import transport_for

    settings = Settings.from_env()
    try:
        transport = transport_for(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    async def run() -> None:
        engine = create_engine(settings.database_url)
        sender = MailSender.from_settings(settings, engine, transport)
        try:
            report = await sender.deliver_due()
            forgotten = await sender.forget_old_messages() if report.had_lease else 0
        finally:
            await transport.close()
            await engine.dispose()
        if not report.had_lease:
            click.echo("Another sender is delivering right now; it will send what is due.")
            return
        click.echo(
            f"{report.sent} sent, {report.retrying} to try again later, {report.failed} failed, "
            f"{report.cancelled} cancelled (the member had left)"
            + (f"; {forgotten} old messages' addresses and text cleared" if forgotten else "")
        )

    asyncio.run(run())
