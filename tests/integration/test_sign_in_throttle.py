"""The sign-in throttle's table stays small whatever emails are tried, without cutting a wait short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.auth import services, throttle
from talking.db.models import sign_in_throttle


@pytest.fixture
def database_url(each_database_url: str) -> str:
    return each_database_url


async def rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        found = await conn.execute(select(sign_in_throttle.c.email, sign_in_throttle.c.failures))
        return dict(found.all())


async def fail(engine: AsyncEngine, email: str, *, keep_at_most: int = throttle.KEEP_AT_MOST) -> None:
    """One failed attempt for ``email``, as sign_in counts it."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await throttle.lock_row(conn, email, now, keep_at_most=keep_at_most)
        await throttle.count_failure(conn, email, now)


async def attempt(engine: AsyncEngine, email: str, password: str) -> bool:
    """Sign in as the sign-in page does: a refusal is committed too (it counts); whether it succeeded."""
    async with engine.connect() as conn:
        try:
            await services.sign_in(conn, email, password)
        except services.SignInRefused:
            return False
        finally:
            await conn.commit()
    return True


async def test_unknown_emails_are_forgotten_once_quiet(engine: AsyncEngine) -> None:
    for n in range(300):
        await fail(engine, f"nobody{n}@lancashire.test")
    assert len(await rows(engine)) == 300  # each counted while it might still be tried again
    quiet_since = datetime.now(UTC) - throttle.FORGET_AFTER - timedelta(seconds=1)
    async with engine.begin() as conn:
        await conn.execute(update(sign_in_throttle).values(last_failed_at=quiet_since))
    # The next new email to fail sweeps them out.
    assert not await attempt(engine, "someone-else@lancashire.test", "a wrong guess")
    assert await rows(engine) == {"someone-else@lancashire.test": 1}


async def test_an_email_still_waiting_is_kept(engine: AsyncEngine) -> None:
    await fail(engine, "target@lancashire.test")
    async with (
        engine.begin() as conn
    ):  # ten failures, the last 20 minutes ago: its 15-minute wait is over, but only just
        await conn.execute(
            update(sign_in_throttle).values(failures=10, last_failed_at=datetime.now(UTC) - timedelta(minutes=20))
        )
    await fail(engine, "someone-else@lancashire.test")
    assert await rows(engine) == {"target@lancashire.test": 10, "someone-else@lancashire.test": 1}


async def test_beyond_the_cap_the_longest_quiet_go_first(engine: AsyncEngine) -> None:
    for n in range(40):
        await fail(engine, f"nobody{n}@lancashire.test", keep_at_most=25)
    kept = await rows(engine)
    assert len(kept) == 25
    assert set(kept) == {f"nobody{n}@lancashire.test" for n in range(15, 40)}


async def test_a_successful_sign_in_leaves_no_row(engine: AsyncEngine) -> None:
    from ..conftest import STAFF_PASSWORD, make_user

    await make_user(engine, "staff@lancashire.test", "staff")
    assert not await attempt(engine, "staff@lancashire.test", "a wrong guess")
    assert await rows(engine) == {"staff@lancashire.test": 1}
    assert await attempt(engine, "staff@lancashire.test", STAFF_PASSWORD)
    assert await rows(engine) == {}
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(sign_in_throttle)) == 0
