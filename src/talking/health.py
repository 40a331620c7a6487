"""Liveness for load balancers and the container HEALTHCHECK."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.outages import RETRY_AFTER_SECONDS
from talking.problems import problem

# A key no session has (session ids are hex): asking whether it exists is one round trip to the store.
_PROBE_KEY = "healthz-probe"


@get("/healthz", tags=["system"], summary="200 when the database and the session store answer", cache=False)
async def healthz(request: Request[Any, Any, Any]) -> dict[str, str] | Response[bytes]:
    """Report ok only if the database answers a query and the session store answers a lookup."""
    engine: AsyncEngine = request.app.state.engine
    retry_after = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return problem(503, "The database is not answering.", slug="database-unavailable", headers=retry_after)
    try:
        await request.app.stores.get("sessions").exists(_PROBE_KEY)
    except Exception:
        where = "Redis" if request.app.state.settings.redis_url else "the database"
        return problem(
            503,
            f"The session store ({where}) is not answering: residents cannot carry on their surveys.",
            slug="sessions-unavailable",
            headers=retry_after,
        )
    return {"status": "ok"}
