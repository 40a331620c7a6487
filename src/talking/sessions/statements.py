"""The operations on sessions, defined once with SQLAlchemy Core for every backend.

``PostgresSessions`` and ``SessionFile`` compile them for their drivers (asyncpg, sqlite3);
``EngineSessions`` runs them through the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import ClauseElement, Dialect, bindparam, delete, select, update

from talking.db.models import web_sessions

# A stored session: its value and expiry.
Row = tuple[bytes, datetime | None]

S = TypeVar("S")


class Operations(NamedTuple, Generic[S]):
    """The operations on sessions: as SQLAlchemy statements, or as a driver takes them."""

    read: S  # session_key
    upsert: S  # session_key, new_value, new_expiry
    renew: S  # session_key, new_expiry
    delete: S  # session_key
    delete_all: S
    sweep: S  # cutoff: remove what expired by then


def operations(dialect: ModuleType) -> Operations[ClauseElement]:
    """The statements for ``sqlalchemy.dialects.postgresql`` or ``.sqlite`` (their upserts differ)."""
    key = web_sessions.c.key == bindparam("session_key")
    upsert = dialect.insert(web_sessions).values(
        key=bindparam("session_key"), value=bindparam("new_value"), expires_at=bindparam("new_expiry")
    )
    return Operations(
        read=select(web_sessions.c.value, web_sessions.c.expires_at).where(key),
        upsert=upsert.on_conflict_do_update(
            index_elements=[web_sessions.c.key],
            set_={"value": upsert.excluded.value, "expires_at": upsert.excluded.expires_at},
        ),
        renew=update(web_sessions).where(key).values(expires_at=bindparam("new_expiry")),
        delete=delete(web_sessions).where(key),
        delete_all=delete(web_sessions),
        sweep=delete(web_sessions).where(web_sessions.c.expires_at <= bindparam("cutoff")),
    )


def expiry_conversions(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """How the expiry goes to and comes from a driver, as the column's own type does it (aware UTC
    in and out; on SQLite, UTC text that sorts in time order)."""
    column_type = web_sessions.c.expires_at.type.dialect_impl(dialect)
    return column_type.bind_processor(dialect) or _same, column_type.result_processor(dialect, None) or _same


def _same(value: object) -> object:
    return value
