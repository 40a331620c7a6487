"""Migrations: one head, numbered, the same on SQLite and PostgreSQL, and in step with the models."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.db import migrate
from talking.db.engine import create_engine
from talking.db.models import Base, District
from talking.reference import districts


def test_one_head_and_numbered_revisions() -> None:
    assert len(migrate.heads()) == 1, "two migration heads: merge them"
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    for revision in scripts.walk_revisions():
        assert re.fullmatch(r"\d{4}", revision.revision), revision.revision
        assert revision.module.__file__.split("/")[-1].startswith(revision.revision + "_")


async def test_models_match_migrations(each_database_url: str) -> None:
    engine = create_engine(each_database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": False}), Base.metadata
                )
            )
    finally:
        await engine.dispose()
    # Index names of unique constraints differ by engine; only real differences count.
    real = [d for d in diff if not (isinstance(d, tuple) and d[0] in {"remove_index", "add_index"})]
    assert real == [], real


async def test_districts_seeded_match_reference_data(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        seeded = dict((await conn.execute(select(District.code, District.name))).all())
    assert seeded == {d.code: d.name for d in districts()}


def test_downgrade_to_base_and_back(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)
