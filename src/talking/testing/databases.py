"""Fresh, migrated databases to fill and throw away: an SQLite file, or a PostgreSQL database of its own."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from talking.db import migrate

# The maintenance database of the PostgreSQL the tests and benchmarks use (trust auth, as in CI).
DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def migrate_up(url: str) -> None:
    """Apply migrations from a thread of their own: Alembic's env runs asyncio.run, which cannot start
    inside a running event loop (an async test's, or Playwright's sync API's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrate.upgrade, url).result()


@dataclass
class Database:
    """A fresh, migrated database."""

    kind: str  # sqlite or postgres
    url: str  # the app's SQLAlchemy URL
    path: Path | None = None  # the SQLite file

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one query with a plain driver (the server may still be running); ``?`` placeholders."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as conn:  # type: ignore[arg-type]
                return conn.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(plain_postgres_url(self.url)) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()  # type: ignore[arg-type]


def plain_postgres_url(url: str) -> str:
    """The app's asyncpg URL as libpq (psycopg) takes it."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextmanager
def postgres_database(prefix: str, admin_url: str = DEFAULT_POSTGRES_ADMIN_URL) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, migrate it, yield its URL, and drop it afterwards.

    Raises psycopg.OperationalError, before creating anything, if PostgreSQL cannot be reached.
    """
    import psycopg

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        migrate_up(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(
    kind: str, workdir: Path, admin_url: str = DEFAULT_POSTGRES_ADMIN_URL, prefix: str = "talking_bench"
) -> Iterator[Database]:
    """A migrated SQLite file in ``workdir`` (kept there), or a new PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        path = workdir / "bench.db"
        database = Database(kind, f"sqlite+aiosqlite:///{path}", path)
        migrate_up(database.url)
        yield database
    elif kind == "postgres":
        with postgres_database(prefix, admin_url) as url:
            yield Database(kind, url)
    else:
        raise ValueError(f"no such kind of database: {kind!r}")
