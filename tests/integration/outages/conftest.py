"""The outage tests' fixtures: PostgreSQL and Redis servers of a test's own (talking.testing.private_servers).

Outside CI a machine without the binaries skips these tests; in CI (CI=true) they must run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from talking.testing.databases import postgres_database
from talking.testing.private_servers import (
    PrivatePostgres,
    PrivateRedis,
    PrivateServerMissing,
    private_postgres,
    private_redis,
)

from ...conftest import IN_CI


def _or_skip(error: PrivateServerMissing) -> None:
    if IN_CI:
        raise error
    pytest.skip(str(error))


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own, to stop and start."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(private_postgres())
        except PrivateServerMissing as missing:
            _or_skip(missing)
        yield server


@pytest.fixture
def private_pg_url(private_pg: PrivatePostgres) -> Iterator[str]:
    """A migrated database on the private PostgreSQL."""
    with postgres_database("talking_outage", private_pg.admin_url) as url:
        yield url


@pytest.fixture
def private_redis_server() -> Iterator[PrivateRedis]:
    """A Redis of this test's own, to kill and start again."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(private_redis())
        except PrivateServerMissing as missing:
            _or_skip(missing)
        yield server
