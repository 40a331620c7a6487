"""What does the engine's pool_pre_ping cost each request on PostgreSQL, and what would retrying instead cost?

A pooled connection can be dead (its backend terminated, the server restarted). SQLAlchemy's
``pool_pre_ping`` finds out at checkout, with a round trip, and quietly replaces it: the retry the
issue asks for, done where it is always safe (nothing of the request has run yet). The alternative,
no ping and a retry of the failed unit of work, costs nothing while all is well but cannot be done
safely for work already sent (a COMMIT lost with its connection may have happened).

This prints the wall and CPU time of one checkout plus ``SELECT 1`` with and without the ping,
alternately, in rounds, against the PostgreSQL the tests use (or ``--url``).

    .venv/bin/python benchmarks/pre_ping.py                  # 5 rounds of 2000 checkouts each way
    .venv/bin/python benchmarks/pre_ping.py --rounds 3 --checkouts 5000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy import text

from talking.db.engine import create_engine
from talking.testing.databases import DEFAULT_POSTGRES_ADMIN_URL


async def per_checkout(url: str, *, pre_ping: bool, checkouts: int) -> tuple[float, float]:
    """Microseconds of wall and CPU time per checkout and ``SELECT 1``."""
    engine = create_engine(url, pool_pre_ping=pre_ping)
    try:
        async with engine.connect() as conn:  # open the pooled connection before timing
            await conn.execute(text("SELECT 1"))
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(checkouts):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return (
            (time.perf_counter() - wall) / checkouts * 1e6,
            (time.process_time() - cpu) / checkouts * 1e6,
        )
    finally:
        await engine.dispose()


async def main() -> None:
    """Measure both ways, alternately, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=DEFAULT_POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--checkouts", type=int, default=2000)
    args = parser.parse_args()
    figures: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for round_number in range(args.rounds):
        for pre_ping in (round_number % 2 == 0, round_number % 2 == 1):
            figures[pre_ping].append(await per_checkout(args.url, pre_ping=pre_ping, checkouts=args.checkouts))
    for pre_ping, runs in figures.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        print(f"pool_pre_ping={pre_ping!s:5}: {wall:7.1f} us wall, {cpu:6.1f} us CPU per checkout and SELECT 1")
    extra = statistics.median(r[0] for r in figures[True]) - statistics.median(r[0] for r in figures[False])
    print(f"the ping adds about {extra:.0f} us of wall time to each checkout")


if __name__ == "__main__":
    asyncio.run(main())
