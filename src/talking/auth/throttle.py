"""The sign-in throttle's rows: one per email with recent failures, locked while an attempt is counted.

Counting has to hold under any concurrency: sixty guesses sent at once must be sixty failures, not
sixty reads of "no failures yet". So an attempt first makes sure its email has a row (an insert
that does nothing if the row is there) and locks it: on PostgreSQL with SELECT ... FOR UPDATE, on
SQLite by the write lock its transaction took at BEGIN (``talking.db.engine.immediate``). Under
that lock it is turned away or counted as a failure in advance (auth.services.sign_in), and the
count is committed before the password is checked; so attempts on one email each see the ones
before them, and none holds the lock through the slow password check.

The table stays small whatever is sent: a row is forgotten once its email has been quiet for
FORGET_AFTER (longer than the longest wait, so no wait is cut short), and beyond KEEP_AT_MOST rows
the longest-quiet are forgotten first. Both happen whenever a new email gets a row, the only time
the table grows. Rows another attempt holds locked are left for next time (SKIP LOCKED), so two
attempts pruning at once never wait for each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from talking.db.models import sign_in_throttle

Db = AsyncSession | AsyncConnection

# Longer than the longest wait (auth.services.MAX_WAIT, 15 minutes): a row is only forgotten after
# its wait has run out and its email has been quiet a while more.
FORGET_AFTER = timedelta(minutes=30)
# Rows kept at most, however many different emails are tried (about 100 bytes each).
KEEP_AT_MOST = 10_000

_table = sign_in_throttle


async def lock_row(db: Db, email: str, now: datetime, *, keep_at_most: int = KEEP_AT_MOST) -> tuple[int, datetime]:
    """Make sure ``email`` has a row and lock it for this transaction; its (failures, last failure)."""
    upsert = (postgresql.insert if _dialect(db) == "postgresql" else sqlite.insert)(_table)
    add = upsert.values(email=email, failures=0, last_failed_at=now).on_conflict_do_nothing(index_elements=["email"])
    locked = select(_table.c.failures, _table.c.last_failed_at).where(_table.c.email == email).with_for_update()
    while True:
        if (await db.execute(add)).rowcount:  # type: ignore[attr-defined]
            await _prune(db, email, now, keep_at_most)
        row = (await db.execute(locked)).first()
        if row is not None:
            return row.failures, row.last_failed_at
        # PostgreSQL: the attempt we queued behind signed in and deleted the row; add it again.


async def count_failure(db: Db, email: str, failed_at: datetime) -> None:
    """One more failure for ``email`` (its row is locked), the wait measured from ``failed_at``."""
    await db.execute(
        update(_table).where(_table.c.email == email).values(failures=_table.c.failures + 1, last_failed_at=failed_at)
    )


async def forget(db: Db, email: str) -> None:
    """A successful sign-in: the email starts again with no failures."""
    await db.execute(delete(_table).where(_table.c.email == email))


async def _prune(db: Db, email: str, now: datetime, keep_at_most: int) -> None:
    """Forget emails quiet for FORGET_AFTER, then the longest-quiet beyond ``keep_at_most`` rows."""
    others = select(_table.c.email).where(_table.c.email != email)
    quiet = others.where(_table.c.last_failed_at < now - FORGET_AFTER)
    await db.execute(delete(_table).where(_table.c.email.in_(quiet.with_for_update(skip_locked=True))))
    if (await db.execute(select(func.count()).select_from(_table))).scalar_one() > keep_at_most:
        # Newest first; what lies beyond the first keep_at_most - 1 (the new row is the last kept).
        beyond = others.order_by(_table.c.last_failed_at.desc()).offset(keep_at_most - 1)
        await db.execute(delete(_table).where(_table.c.email.in_(beyond.with_for_update(skip_locked=True))))


def _dialect(db: Db) -> str:
    """The database's dialect name, for a session or a connection alike."""
    return db.dialect.name if isinstance(db, AsyncConnection) else db.get_bind().dialect.name
