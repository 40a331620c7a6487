"""Sessions in the database's ``web_sessions`` table through the async engine: the fallback.

For an SQLite database with no file of its own to put a sessions file beside (in memory, or
given as a ``file:`` URI). PostgreSQL has ``PostgresSessions``, SQLite files ``SessionFile``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.sessions.statements import Row, operations


class EngineSessions:
    """Sessions in the database's own ``web_sessions`` table, through the async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sql = operations(postgresql if engine.dialect.name == "postgresql" else sqlite)

    async def read(self, key: str) -> Row | None:
        """The stored value and expiry of ``key``."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._sql.read, {"session_key": key})).first()
        return None if row is None else (bytes(row.value), row.expires_at)

    async def upsert(self, key: str, value: bytes, expires_at: datetime | None, sweep_before: datetime | None) -> None:
        """Insert or replace ``key``; sometimes also remove expired sessions."""
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.upsert, {"session_key": key, "new_value": value, "new_expiry": expires_at})
            if sweep_before is not None:
                await conn.execute(self._sql.sweep, {"cutoff": sweep_before})

    async def renew(self, key: str, expires_at: datetime) -> None:
        """Push back the expiry of ``key``."""
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.renew, {"session_key": key, "new_expiry": expires_at})

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.delete, {"session_key": key})

    async def delete_all(self) -> None:
        """Remove every session."""
        async with self.engine.begin() as conn:
            await conn.execute(self._sql.delete_all)

    async def close(self) -> None:
        """Nothing of its own to close: the engine's pool is the app's."""
