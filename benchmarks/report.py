"""How long the full report takes on a million responses, and the responses CSV on 100,000.

Targets on this 2-core machine: the full report (ranks, intervals, weighting, district groups,
opinion groups, themes) on 1,000,000 responses in under 3 s; the CSV of 100,000 responses in
under 1 s, streamed in constant memory. After the aggregation (the running tallies the writer
keeps), the report's cost must grow with districts x issues, not with responses: the script
also times it on 100,000 responses to show that.

The databases are SQLite files filled through the real writer (the demo loader's path, tallies
included) and kept under var/bench/ so a second run starts at once; pass --fresh to rebuild.

    .venv/bin/python benchmarks/report.py                 # 1,000,000 and 100,000 responses
    .venv/bin/python benchmarks/report.py --responses 200000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from talking.db.engine import create_engine
from talking.db.migrate import MIGRATIONS_DIR, upgrade
from talking.demo import load_demo
from talking.reports import service
from talking.reports.responses_csv import stream_responses_csv
from talking.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


def schema_fingerprint() -> str:
    """A short hash of the migrations, so a kept file never outlives a change to the schema."""
    versions = MIGRATIONS_DIR / "versions"
    digest = hashlib.sha256()
    for script in sorted(versions.glob("*.py")):
        digest.update(script.read_bytes())
    return digest.hexdigest()[:10]


def database(responses: int, fresh: bool) -> str:
    """A SQLite file with the demo survey (id 1) holding this many responses, made once."""
    path = BENCH_DIR / f"report-{responses}-{schema_fingerprint()}.db"
    if path.exists() and not fresh:
        with sqlite3.connect(path) as conn:
            if conn.execute("SELECT count(*) FROM responses").fetchone()[0] == responses:
                return f"sqlite+aiosqlite:///{path}"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    print(f"filling {path.name} with {responses:,} responses through the writer (once; kept for later runs)")
    asyncio.run(load_demo(Settings(database_url=url), responses, seed=2026))
    return url


async def time_report(url: str, repeats: int) -> list[tuple[str, float]]:
    """Wall time of each step of the report, best of `repeats` runs."""
    engine = create_engine(url)
    best: dict[str, float] = {}
    try:
        for _ in range(repeats):
            marks: list[tuple[str, float]] = []

            def mark(step: str, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((step, time.perf_counter()))

            async with engine.connect() as conn:
                inputs = await conn.run_sync(service.load_inputs, 1, progress=mark)
            mark("(database done)")
            built = service.analyse(inputs, progress=mark)
            mark("(end)")
            assert built.report.responses > 0
            steps = [(marks[i][0], marks[i + 1][1] - marks[i][1]) for i in range(len(marks) - 1)]
            steps.append(("total", marks[-1][1] - marks[0][1]))
            for name, seconds in steps:
                if not name.startswith("("):
                    best[name] = min(best.get(name, float("inf")), seconds)
    finally:
        await engine.dispose()
    return list(best.items())


async def stream_csv(url: str, trace_memory: bool) -> tuple[float, int, int, int]:
    """Seconds, bytes, rows and peak Python memory (with trace_memory; tracing slows it) of the responses CSV."""
    engine = create_engine(url)
    try:
        if trace_memory:
            tracemalloc.start()
        started = time.perf_counter()
        size = rows = 0
        async with engine.connect() as conn:
            async for chunk in stream_responses_csv(conn, 1):
                size += len(chunk)
                rows += chunk.count(b"\r\n")
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
        tracemalloc.stop()
    finally:
        await engine.dispose()
    return seconds, size, rows - 1, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="responses for the report timing")
    parser.add_argument("--csv-responses", type=int, default=100_000, help="responses for the CSV timing")
    parser.add_argument("--repeats", type=int, default=3, help="report runs (the best is shown)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark databases")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")

    sizes = sorted({args.responses, args.csv_responses})
    urls = {n: database(n, args.fresh) for n in sizes}
    print(f"\nfull report, best of {args.repeats} (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})")
    print(f"{'step':<32}" + "".join(f"{n:>14,}" for n in sizes))
    timings = {n: dict(asyncio.run(time_report(urls[n], args.repeats))) for n in sizes}
    for step in timings[sizes[-1]]:
        print(f"{step:<32}" + "".join(f"{timings[n].get(step, float('nan')):>13.3f}s" for n in sizes))
    total = timings[args.responses]["total"]
    print(f"report on {args.responses:,} responses: {total:.2f} s (target < 3 s): {'met' if total < 3 else 'NOT met'}")

    print("\nresponses CSV, streamed (peak memory should not grow with responses)")
    for n in sizes:
        seconds, size, rows, _ = min(asyncio.run(stream_csv(urls[n], False)) for _ in range(args.repeats))
        peak = asyncio.run(stream_csv(urls[n], True))[3]
        rate = rows / seconds
        print(
            f"{rows:>10,} rows {size / 1e6:7.1f} MB {seconds:6.2f} s {rate:>9,.0f} rows/s"
            f"  peak memory {peak / 1e6:5.1f} MB"
        )
        if n == args.csv_responses:
            verdict = "met" if seconds < 1 else "NOT met"
            print(f"{'':>10} CSV of {n:,} responses in {seconds:.2f} s (target < 1 s): {verdict}")


if __name__ == "__main__":
    main()
