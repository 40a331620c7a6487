"""What counting a request against a rate limit costs, per storage: CPU and wall time per ``hit``.

Every submission counts once (``RateLimiter.hit``), on the event loop, so its CPU is taken from
request handling. A loaded server's throughput on a shared machine moves by more than this costs;
CPU time per hit, measured here on its own, does not. Storages: the SQLite file beside the database
(talking.limits.db, the default without Redis), Redis (when reachable at --redis), and the process's
memory for comparison. Clients are drawn from --clients addresses, as many residents would be.

    .venv/bin/python benchmarks/rate_limits.py
    .venv/bin/python benchmarks/rate_limits.py --hits 50000 --clients 1000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from talking.rate_limits import SUBMIT, RateLimiter, parse_limits
from talking.rate_limits.storage import SQLiteFileCounts


async def measure(name: str, storage: Storage, hits: int, clients: int, seed: int) -> None:
    """Time ``hits`` counted requests from ``clients`` addresses, under a limit none of them reaches."""
    limiter = RateLimiter({SUBMIT: parse_limits("1000000/minute", "limit")}, storage)
    rng = random.Random(seed)
    scopes = [{"client": (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 1), "headers": []} for n in range(clients)]
    for scope in scopes[:100]:  # warm up: connections opened, statements prepared
        await limiter.hit(SUBMIT, scope)
    drawn = [rng.choice(scopes) for _ in range(hits)]
    cpu, wall = time.thread_time(), time.perf_counter()
    for scope in drawn:
        await limiter.hit(SUBMIT, scope)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    print(f"  {name:<28} {cpu / hits * 1e6:7.1f} us CPU per hit  {wall / hits * 1e6:7.1f} us wall")
    await limiter.close()


async def main() -> None:
    """Measure each storage in turn."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hits", type=int, default=20_000, help="hits measured per storage [20000]")
    parser.add_argument("--clients", type=int, default=500, help="distinct client addresses [500]")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15", help="Redis to measure, if reachable")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    print(f"rate limit counting: {args.hits:,} hits from {args.clients:,} addresses, fixed window")
    with tempfile.TemporaryDirectory(prefix="talking-limits-") as workdir:
        await measure(
            "SQLite file (default)",
            SQLiteFileCounts(Path(workdir) / "talking.limits.db"),
            args.hits,
            args.clients,
            args.seed,
        )
    await measure("process memory", MemoryStorage(), args.hits, args.clients, args.seed)
    redis = RedisStorage(f"async+{args.redis}", implementation="redispy", key_prefix="talking_limits_bench")
    if await redis.check():
        await measure(f"Redis ({args.redis})", redis, args.hits, args.clients, args.seed)
        await redis.reset()
    else:
        print(f"  Redis at {args.redis} not reachable: skipped")


if __name__ == "__main__":
    asyncio.run(main())
