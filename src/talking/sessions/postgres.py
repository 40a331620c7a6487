"""Sessions in PostgreSQL's ``web_sessions`` table, through a small asyncpg pool of the worker's own.

Every page reads its session and most posts write it, so each operation is one statement on a
connection kept for sessions, sent straight to asyncpg: one round trip. Through the app's
SQLAlchemy engine the same read cost six (the pool's liveness check is a transaction of its own,
and every statement another), and resident journeys ran at 99 a second on PostgreSQL against
133-140 this way (benchmarks/flow.py --database postgres, one worker).

The statements are ``talking.sessions.statements``, compiled for PostgreSQL with numbered
parameters; the connection settings are the ones SQLAlchemy gives asyncpg for the app's URL.
Sessions are read every time: workers on other machines may have written them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement

from talking.db.engine import POSTGRES_CONNECT_TIMEOUT_SECONDS
from talking.outages import is_dead_connection
from talking.sessions.statements import Operations, Row, expiry_conversions, operations

T = TypeVar("T")

# Connections per worker for sessions, besides the engine's own pool: each statement takes well
# under a millisecond, so a few serve many requests at once.
POOL_SIZE = 4
# What SQLAlchemy's asyncpg dialect takes for itself rather than passing on to asyncpg.connect.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


class _Compiled:
    """A statement as asyncpg takes it: SQL with $1, $2... and its parameters' names in that order."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=postgresql.dialect(paramstyle="numeric_dollar"))
        self.sql = str(compiled)
        self.names = tuple(compiled.positiontup or ())

    def args(self, **values: Any) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.names)


_SQL = Operations(*map(_Compiled, operations(postgresql)))


class PostgresSessions:
    """The sessions table of a PostgreSQL database, through this worker's own asyncpg pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        _args, params = engine.dialect.create_connect_args(engine.url)
        self._connect = {name: value for name, value in params.items() if name not in _SQLALCHEMY_ONLY}
        self._connect.setdefault("timeout", POSTGRES_CONNECT_TIMEOUT_SECONDS)
        self._to_db, self._from_db = expiry_conversions(engine.dialect)
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

    async def pool(self) -> asyncpg.Pool:
        """The pool, opened on first use on the worker's running event loop."""
        if self._pool is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(min_size=1, max_size=POOL_SIZE, **self._connect)
        return self._pool

    async def _run(self, operation: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
        """Run one operation on the pool; once more if a pooled connection turns out dead.

        asyncpg's pool hands out connections without checking them: after a backend was
        terminated (a failover, pg_terminate_backend, a server restart) the first use of each
        fails, the first with "connection was closed", the rest with "cannot switch to state 12".
        Every operation here may safely run twice, so the pool renews all its connections and the
        operation runs again; if that fails too, the database really is out of reach (503).
        """
        pool = await self.pool()
        try:
            return await operation(pool)
        except Exception as exc:
            if not is_dead_connection(exc):
                raise
        await pool.expire_connections()
        return await operation(pool)

    async def read(self, key: str) -> Row | None:
        """The stored value and expiry of ``key``."""
        row = await self._run(lambda pool: pool.fetchrow(_SQL.read.sql, *_SQL.read.args(session_key=key)))
        return None if row is None else (bytes(row[0]), self._from_db(row[1]))

    async def upsert(self, key: str, value: bytes, expires_at: datetime | None, sweep_before: datetime | None) -> None:
        """Insert or replace ``key``; sometimes also remove expired sessions (a statement of its own)."""
        args = _SQL.upsert.args(session_key=key, new_value=value, new_expiry=self._to_db(expires_at))
        await self._run(lambda pool: pool.execute(_SQL.upsert.sql, *args))
        if sweep_before is not None:
            cutoff = _SQL.sweep.args(cutoff=self._to_db(sweep_before))
            await self._run(lambda pool: pool.execute(_SQL.sweep.sql, *cutoff))

    async def renew(self, key: str, expires_at: datetime) -> None:
        """Push back the expiry of ``key``."""
        args = _SQL.renew.args(session_key=key, new_expiry=self._to_db(expires_at))
        await self._run(lambda pool: pool.execute(_SQL.renew.sql, *args))

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        await self._run(lambda pool: pool.execute(_SQL.delete.sql, *_SQL.delete.args(session_key=key)))

    async def delete_all(self) -> None:
        """Remove every session."""
        await self._run(lambda pool: pool.execute(_SQL.delete_all.sql))

    async def close(self) -> None:
        """Close the pool (the next operation opens another)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
