"""Server-side web sessions, shared by every worker: in their own SQLite file, or in PostgreSQL.

Litestar's session middleware writes the whole session back after every request; most requests
do not change it, so the store skips writes whose value is what the same process just read.

Where the rows live depends on the database (each backend has the same operations):

- an SQLite database file: a sessions file of its own beside it (``sqlite_file.SessionFile``),
  with what each worker remembers checked against shared write stamps (``stamps``);
- PostgreSQL: the database's ``web_sessions`` table through a small asyncpg pool of its own
  (``postgres.PostgresSessions``), read every time, since workers on other machines may write;
- any other SQLite database (in memory, a ``file:`` URI): the same table through the engine
  (``engine_table.EngineSessions``).

The statements are defined once (``statements``) and compiled for each driver.
"""

from __future__ import annotations

import hashlib
import random
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from types import TracebackType

from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.sessions.engine_table import EngineSessions
from talking.sessions.postgres import PostgresSessions
from talking.sessions.sqlite_file import SessionFile, sessions_path, stamps_path

__all__ = ["DatabaseStore", "EngineSessions", "PostgresSessions", "SessionFile", "sessions_path", "stamps_path"]

# How many recently seen sessions this process remembers, to skip unchanged writes.
_REMEMBERED = 10_000
# About one write in this many also sweeps out expired sessions.
_SWEEP_EVERY = 500


class DatabaseStore(Store):
    """A Litestar Store for web sessions: an SQLite file of their own, or PostgreSQL's ``web_sessions``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Where the rows live: every backend has the same operations.
        self.backend = _backend_for(engine)
        # key -> (digest of value, expiry) as last read or written by this process
        self._seen: OrderedDict[str, tuple[bytes, datetime | None]] = OrderedDict()
        # Rows this process has written (inserted, updated or deleted); for tests and benchmarks.
        self.writes = 0

    def _remember(self, key: str, value: bytes, expires_at: datetime | None) -> None:
        self._seen[key] = (hashlib.blake2b(value, digest_size=16).digest(), expires_at)
        self._seen.move_to_end(key)
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value stored under ``key``, or None if absent or expired."""
        now = datetime.now(UTC)
        row = await self.backend.read(key)
        if row is None or (row[1] is not None and row[1] <= now):
            self._seen.pop(key, None)
            return None
        value, expires_at = row
        if renew_for is not None:
            expires_at = now + _as_timedelta(renew_for)
            await self.backend.renew(key, expires_at)
            self.writes += 1
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
        sweep_before = now if random.randrange(_SWEEP_EVERY) == 0 else None
        await self.backend.upsert(key, data, expires_at, sweep_before)
        self.writes += 1
        self._remember(key, data, expires_at)

    async def delete(self, key: str) -> None:
        """Remove ``key``; a no-op (and no write) if it was never stored."""
        self._seen.pop(key, None)
        if not await self.exists(key):
            return
        await self.backend.delete(key)
        self.writes += 1

    async def delete_all(self) -> None:
        """Remove every session (signs everyone out)."""
        self._seen.clear()
        await self.backend.delete_all()
        self.writes += 1

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds an unexpired value."""
        row = await self.backend.read(key)
        return row is not None and (row[1] is None or row[1] > datetime.now(UTC))

    async def close(self) -> None:
        """Let go of what the backend holds open."""
        await self.backend.close()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Litestar's way for a store to close when it is done with: the app's lifespan exits it."""
        await self.close()

    async def expires_in(self, key: str) -> int | None:
        """Seconds until ``key`` expires, or None if it does not expire or is absent."""
        row = await self.backend.read(key)
        if row is None or row[1] is None:
            return None
        return max(0, int((row[1] - datetime.now(UTC)).total_seconds()))


def _backend_for(engine: AsyncEngine) -> SessionFile | PostgresSessions | EngineSessions:
    """A sessions file beside an SQLite file; PostgreSQL's table through asyncpg; else the engine."""
    if engine.dialect.name == "postgresql":
        return PostgresSessions(engine)
    return SessionFile.for_engine(engine) or EngineSessions(engine)


def _as_timedelta(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
