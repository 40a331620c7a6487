"""Are the running tallies what a recount from the stored responses gives? (talking db retally's recount.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from talking import tallies

TABLES = tuple(tallies.STATEMENTS)


def sync_url(database_url: str) -> str:
    """The app's async URL with a synchronous driver."""
    return database_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def read_tallies(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every tally row in key order, leaving out rows whose counts are all zero (a recount makes
    none; taking answers away may leave them)."""
    rows = {}
    for table in TABLES:
        found = conn.execute(text(f"SELECT * FROM {table}")).all()
        keys = len(tallies.KEYS[table])
        rows[table] = sorted(tuple(row) for row in found if any(row[keys:]))
    return rows


def tallies_and_recount(database_url: str) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]]:
    """The tallies as kept, and as a recount from the stored responses makes them (rolled back after)."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            kept = read_tallies(conn)
            tallies.rebuild(conn)
            recounted = read_tallies(conn)
            transaction.rollback()
    finally:
        engine.dispose()
    return kept, recounted
