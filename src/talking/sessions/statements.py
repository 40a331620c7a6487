"""The operations on sessions, defined once with SQLAlchemy Core for every backend.

``PostgresSessions`` and ``SessionFile`` compile them for their drivers (asyncpg, sqlite3);
``EngineSessions`` runs them through the engine. Parameters: session_key, new_value, new_expiry,
cutoff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import Dialect, Insert, bindparam, delete, select, update

from talking.db.models import web_sessions

# A stored session: its value and expiry.
Row = tuple[bytes, datetime | None]

SELECT_ONE = select(web_sessions.c.value, web_sessions.c.expires_at).where(
    web_sessions.c.key == bindparam("session_key")
)
RENEW_ONE = (
    update(web_sessions)
    .where(web_sessions.c.key == bindparam("session_key"))
    .values(expires_at=bindparam("new_expiry"))
)
DELETE_ONE = delete(web_sessions).where(web_sessions.c.key == bindparam("session_key"))
DELETE_EVERY = delete(web_sessions)
DELETE_EXPIRED = delete(web_sessions).where(web_sessions.c.expires_at <= bindparam("cutoff"))


def upsert_statement(dialect: ModuleType) -> Insert:
    """Insert or replace one session, in PostgreSQL's or SQLite's ``ON CONFLICT`` form."""
    statement = dialect.insert(web_sessions).values(
        key=bindparam("session_key"), value=bindparam("new_value"), expires_at=bindparam("new_expiry")
    )
    return statement.on_conflict_do_update(
        index_elements=[web_sessions.c.key],
        set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
    )


def expiry_conversions(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """How the expiry goes to and comes from a driver, as the column's own type does it (aware UTC
    in and out; on SQLite, UTC text that sorts in time order)."""
    column_type = web_sessions.c.expires_at.type.dialect_impl(dialect)
    return column_type.bind_processor(dialect) or _same, column_type.result_processor(dialect, None) or _same


def _same(value: object) -> object:
    return value
