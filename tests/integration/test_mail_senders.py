"""One sender at a time, across processes and app servers: every message delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.app import create_app
from talking.db.models import mail_outbox, mail_sender_lease
from talking.settings import Settings

from ..conftest import live_server
from .mail_helpers import Inbox, a_message, queue, smtp_sender, smtp_server, statuses, talking


@pytest.fixture
def database_url(each_database_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return each_database_url


async def test_only_one_sender_holds_the_lease_and_another_takes_it_when_it_expires(engine: AsyncEngine) -> None:
    await queue(engine, a_message(1))
    first, second = smtp_sender(engine, 1), smtp_sender(engine, 1)
    assert await first.take_lease()
    assert not await second.take_lease()
    assert await first.take_lease()  # renewing
    assert (await second.deliver_due()).had_lease is False
    await first.release_lease()
    assert await second.take_lease() and not await first.take_lease()
    # The holder died: once its lease has run out, another sender takes over.
    async with engine.begin() as conn:
        await conn.execute(update(mail_sender_lease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert await first.take_lease()


async def test_while_one_process_holds_the_lease_talking_mail_send_in_another_sends_nothing(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await queue(engine, a_message(1))
    holder = smtp_sender(engine, 1)
    assert await holder.take_lease()
    inbox = Inbox()
    with smtp_server(inbox) as port:
        env = {"TALKING_DATABASE_URL": database_url, "TALKING_SMTP_URL": f"smtp://127.0.0.1:{port}"}
        result = talking("mail", "send", env=env, cwd=tmp_path)
        assert result.returncode == 0 and "Another sender is delivering right now" in result.stdout
        assert inbox.messages == [] and await statuses(engine) == {"queued": 1}
        await holder.release_lease()
        assert talking("mail", "send", env=env, cwd=tmp_path).stdout.startswith("1 sent")
    assert len(inbox.messages) == 1


async def test_messages_claimed_by_a_sender_that_died_are_sent_by_the_next(engine: AsyncEngine) -> None:
    ids = await queue(engine, *(a_message(n) for n in range(5)))
    async with engine.begin() as conn:
        # Claimed a while ago by a sender that never came back; one claim is still live.
        await conn.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id.in_(ids[:4]))
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await conn.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == ids[4])
            .values(claimed_until=datetime.now(UTC) + timedelta(minutes=5))
        )
    inbox = Inbox()
    with smtp_server(inbox) as port:
        report = await smtp_sender(engine, port).deliver_due()
    assert report.sent == 4 and len(inbox.messages) == 4


async def test_senders_racing_in_one_process_deliver_each_message_once(engine: AsyncEngine, database_url: str) -> None:
    from talking.db.engine import create_engine

    await queue(engine, *(a_message(n) for n in range(300)))
    inbox = Inbox()
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        with smtp_server(inbox) as port:
            senders = [smtp_sender(e, port, batch_size=25) for e in engines]
            for _ in range(20):
                await asyncio.gather(*(s.deliver_due() for s in senders))
                if await statuses(engine) == {"sent": 300}:
                    break
    finally:
        for e in engines:
            await e.dispose()
    assert await statuses(engine) == {"sent": 300}
    counts = Counter(inbox.message_ids())
    assert len(counts) == 300 and set(counts.values()) == {1}


async def test_talking_mail_send_in_two_processes_at_once_delivers_each_message_once(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await queue(engine, *(a_message(n) for n in range(400)))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        env = {
            "TALKING_DATABASE_URL": database_url,
            "TALKING_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "TALKING_MAIL_RATE": "2000",
            "TALKING_SECRET_KEY": "x",
        }
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "talking",
                "mail",
                "send",
                env={**os.environ, **env},
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = await asyncio.gather(*(p.communicate() for p in processes))
        assert [p.returncode for p in processes] == [0, 0], outputs
        # Whichever started second found the lease taken or nothing left; a last run sends any remainder.
        assert talking("mail", "send", env=env, cwd=tmp_path).returncode == 0
    assert await statuses(engine) == {"sent": 400}
    counts = Counter(inbox.message_ids())
    assert len(counts) == 400 and set(counts.values()) == {1}


async def test_talking_mail_send_delivers_what_is_due_and_exits_0(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await queue(engine, a_message(1), a_message(2))
    inbox = Inbox()
    with smtp_server(inbox) as port:
        env = {"TALKING_DATABASE_URL": database_url, "TALKING_SMTP_URL": f"smtp://127.0.0.1:{port}"}
        result = talking("mail", "send", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 sent, 0 to try again later, 0 failed")
    assert sorted(m["To"] for m in inbox.messages) == ["resident1@example.org", "resident2@example.org"]
    # Without SMTP: .eml files under var/mail/ of where it runs.
    await queue(engine, a_message(3))
    result = talking("mail", "send", env={"TALKING_DATABASE_URL": database_url, "TALKING_SMTP_URL": ""}, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("1 sent")
    [eml] = (tmp_path / "var" / "mail").iterdir()
    assert "To: resident3@example.org" in eml.read_text()


async def test_talking_mail_send_with_a_broken_smtp_url_says_so_and_sends_nothing(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await queue(engine, a_message(1))
    env = {"TALKING_DATABASE_URL": database_url, "TALKING_SMTP_URL": "http://mail.example"}
    result = talking("mail", "send", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "TALKING_SMTP_URL must look like smtp://" in result.stderr
    assert "Traceback" not in result.stderr
    assert await statuses(engine) == {"queued": 1}


def test_talking_serve_with_a_broken_smtp_url_says_so_and_does_not_start(tmp_path: Path, sqlite_url: str) -> None:
    env = {"TALKING_DATABASE_URL": sqlite_url, "TALKING_SMTP_URL": "smtp://mail.example:port", "TALKING_PORT": "1"}
    result = talking("serve", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "TALKING_SMTP_URL has a port that is not a number" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_apps_own_sender_delivers_what_is_queued_while_it_runs(
    engine: AsyncEngine, database_url: str
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        settings = Settings(database_url=database_url, secret_key="k", smtp_url=f"smtp://127.0.0.1:{port}")
        async with AsyncTestClient(app=create_app(settings)):
            await queue(engine, *(a_message(n) for n in range(3)))
            for _ in range(100):
                if len(inbox.messages) == 3:
                    break
                await asyncio.sleep(0.1)
        assert len(inbox.messages) == 3
    assert await statuses(engine) == {"sent": 3}
    async with engine.connect() as conn:
        holder = (await conn.execute(select(mail_sender_lease.c.holder))).scalar()
    assert holder is None  # let go when the app stopped


@pytest.mark.postgres
def test_two_app_servers_on_one_postgresql_database_send_each_message_once(postgres_url: str, tmp_path: Path) -> None:
    from talking.db.engine import create_engine

    inbox = Inbox()
    with smtp_server(inbox) as port:
        env = {"TALKING_SMTP_URL": f"smtp://127.0.0.1:{port}", "TALKING_MAIL_RATE": "500"}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with (
            live_server(postgres_url, tmp_path / "a", workers=2, extra_env=env),
            live_server(postgres_url, tmp_path / "b", workers=1, extra_env=env),
        ):

            async def queue_and_wait() -> dict[str, int]:
                engine = create_engine(postgres_url)
                try:
                    for start in range(0, 600, 100):  # while the servers' senders are already at work
                        await queue(engine, *(a_message(n) for n in range(start, start + 100)))
                        await asyncio.sleep(0.2)
                    for _ in range(300):  # a minute at most
                        if await statuses(engine) == {"sent": 600}:
                            break
                        await asyncio.sleep(0.2)
                    return await statuses(engine)
                finally:
                    await engine.dispose()

            assert asyncio.run(queue_and_wait()) == {"sent": 600}
    counts = Counter(inbox.message_ids())
    assert len(counts) == 600 and set(counts.values()) == {1}
