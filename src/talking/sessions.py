"""Server-side web sessions kept in our own database, so every worker and host sees them.

Litestar's session middleware writes the whole session back after every request; most requests
do not change it, so this store skips writes whose value is what the same process just read.
"""

from __future__ import annotations

import hashlib
import random
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db.models import web_sessions

# How many recently seen sessions this process remembers, to skip unchanged writes.
_REMEMBERED = 10_000
# About one write in this many also sweeps out expired sessions.
_SWEEP_EVERY = 500


class DatabaseStore(Store):
    """A Litestar Store backed by the ``web_sessions`` table (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._upsert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
        # key -> (digest of value, expiry) as last read or written by this process
        self._seen: OrderedDict[str, tuple[bytes, datetime | None]] = OrderedDict()

    def _remember(self, key: str, value: bytes, expires_at: datetime | None) -> None:
        self._seen[key] = (hashlib.blake2b(value, digest_size=16).digest(), expires_at)
        self._seen.move_to_end(key)
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value stored under ``key``, or None if absent or expired."""
        now = datetime.now(UTC)
        async with self.engine.connect() as conn:
            query = select(web_sessions.c.value, web_sessions.c.expires_at).where(web_sessions.c.key == key)
            row = (await conn.execute(query)).first()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            self._seen.pop(key, None)
            return None
        value = bytes(row.value)
        expires_at = row.expires_at
        if renew_for is not None:
            expires_at = now + _as_timedelta(renew_for)
            async with self.engine.begin() as conn:
                await conn.execute(update(web_sessions).where(web_sessions.c.key == key).values(expires_at=expires_at))
        self._remember(key, value, expires_at)
        return value

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        """Store ``value`` under ``key``, unless it is unchanged and not near expiry."""
        data = value.encode() if isinstance(value, str) else value
        now = datetime.now(UTC)
        lifetime = _as_timedelta(expires_in) if expires_in is not None else None
        expires_at = now + lifetime if lifetime is not None else None
        seen = self._seen.get(key)
        unchanged = seen is not None and seen[0] == hashlib.blake2b(data, digest_size=16).digest()
        # Unchanged: only push the expiry back once half its life has gone.
        if unchanged and (lifetime is None or seen[1] is None or seen[1] - now > lifetime / 2):
            return
        statement = self._upsert(web_sessions).values(key=key, value=data, expires_at=expires_at)
        statement = statement.on_conflict_do_update(
            index_elements=[web_sessions.c.key], set_={"value": data, "expires_at": expires_at}
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)
            if random.randrange(_SWEEP_EVERY) == 0:
                await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        self._remember(key, data, expires_at)

    async def delete(self, key: str) -> None:
        """Remove ``key``; a no-op (and no write) if it was never stored."""
        self._seen.pop(key, None)
        if not await self.exists(key):
            return
        async with self.engine.begin() as conn:
            await conn.execute(delete(web_sessions).where(web_sessions.c.key == key))

    async def delete_all(self) -> None:
        """Remove every session (signs everyone out)."""
        self._seen.clear()
        async with self.engine.begin() as conn:
            await conn.execute(delete(web_sessions))

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired value."""
        async with self.engine.connect() as conn:
            expires_at = (
                await conn.execute(select(web_sessions.c.expires_at).where(web_sessions.c.key == key))
            ).first()
        return expires_at is not None and (expires_at[0] is None or expires_at[0] > datetime.now(UTC))

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires, or None if it does not expire or is absent."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(web_sessions.c.expires_at).where(web_sessions.c.key == key))).first()
        if row is None or row.expires_at is None:
            return None
        return max(0, int((row.expires_at - datetime.now(UTC)).total_seconds()))


def _as_timedelta(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
