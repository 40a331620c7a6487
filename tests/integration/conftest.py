"""Fixtures shared by the integration tests (the app-wide ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.sessions import DatabaseStore

from ..conftest import make_user
from .staff_helpers import Client, sign_in

STAFF = "staff@lancashire.test"
# Makes a session store standing for one more worker (the new_store fixture).
NewStore = Callable[[], DatabaseStore]


@pytest.fixture
async def staff(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as a member of staff."""
    await make_user(engine, STAFF, "staff")
    assert (await sign_in(client, STAFF)).status_code == 303
    return client


@pytest.fixture
async def new_store(engine: AsyncEngine) -> AsyncIterator[NewStore]:
    """Make session stores on the test's database, each standing for a worker; closed after the test."""
    made: list[DatabaseStore] = []

    def new() -> DatabaseStore:
        made.append(DatabaseStore(engine))
        return made[-1]

    yield new
    for store in made:
        await store.close()
