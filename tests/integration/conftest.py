"""Fixtures shared by the integration tests (the app-wide ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ..conftest import make_user
from .staff_helpers import Client, sign_in

STAFF = "staff@lancashire.test"


@pytest.fixture
async def staff(client: Client, engine: AsyncEngine) -> Client:
    """The client, signed in as a member of staff."""
    await make_user(engine, STAFF, "staff")
    assert (await sign_in(client, STAFF)).status_code == 303
    return client
