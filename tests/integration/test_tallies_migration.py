"""Migration 0010: the tallies re-keyed by age band and sex and recounted, and back, with answers
stored, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from talking.db import migrate
from talking.demo import load_demo
from talking.settings import Settings
from tests.conftest import postgres_database
from tests.integration.tally_check import sync_url, tallies_and_recount

# 0003's age levels for the age levels 0010 keeps (0: not given; 1-5: 16-64; 6-7: 65 and over).
OLD_LEVEL = {0: 0, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to head (these tests move it up and down)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tallies.db'}"
        migrate.upgrade(url)
        yield url
    else:
        with postgres_database("talking_tallies_migration") as url:
            yield url


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(text(query)))
    finally:
        engine.dispose()


def _old_keys(rows: list[tuple[Any, ...]], key_end: int) -> list[tuple[Any, ...]]:
    """Head's tally rows (survey, district, age, sex, ...) summed into 0003's (survey, district, old age, ...)."""
    summed: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        key = (row[0], row[1], OLD_LEVEL[row[2]], *row[4:key_end])
        counts = summed.setdefault(key, [0] * (len(row) - key_end))
        for n, value in enumerate(row[key_end:]):
            counts[n] += value
    return sorted((*key, *counts) for key, counts in summed.items())


TABLES = {"tally_respondents": 4, "tally_positions": 6, "tally_pairs": 6}  # table: where its counts start


def test_0010_recounts_down_to_age_levels_and_up_to_age_band_and_sex(empty_database: str) -> None:
    url = empty_database
    asyncio.run(load_demo(Settings(database_url=url), 800, seed=5))  # stored, and counted, by the real writer
    kept = {table: _rows(url, f"SELECT * FROM {table}") for table in TABLES}
    assert {row[3] for row in kept["tally_respondents"]} == {0, 1, 2}  # sex is in the key
    assert {row[2] for row in kept["tally_respondents"]} == set(range(8))  # and all seven bands

    migrate.downgrade(url, "0008")
    for table, key_end in TABLES.items():
        old = _rows(url, f"SELECT * FROM {table}")
        assert old == _old_keys(kept[table], key_end), table
    responses = _rows(url, "SELECT count(*) FROM responses")
    assert responses == [(800,)]

    migrate.upgrade(url)
    for table in TABLES:
        assert _rows(url, f"SELECT * FROM {table}") == kept[table], table
    writer_kept, recounted = tallies_and_recount(url)
    assert writer_kept == recounted
