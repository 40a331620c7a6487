"""Liveness for load balancers and the container HEALTHCHECK."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from talking.problems import problem


@get("/healthz", tags=["system"], summary="200 when the database answers", cache=False)
async def healthz(request: Request[Any, Any, Any]) -> dict[str, str] | Response[bytes]:
    """Report ok only if the database answers a query."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return problem(503, "The database is not answering.")
    return {"status": "ok"}
