"""What a Strategic Assessment pack costs at 1,000,000 responses: making it (snapshot read, fingerprint,
analysis, store), then each format drawn from the stored JSON (JSON as stored, HTML, PDF).

The database is the report benchmark's: an SQLite file filled through the real writer by the demo
loader (tallies included), kept under var/bench/ so a second run starts at once (--fresh rebuilds).
The fingerprint streams every response in keyset chunks, so it is the part that grows with answers;
the script prints its time alone, and with --trace-memory its peak memory (tracemalloc).

    .venv/bin/python benchmarks/packs.py                      # 1,000,000 responses
    .venv/bin/python benchmarks/packs.py --responses 100000 --trace-memory
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import database  # the report benchmark's kept, writer-filled SQLite files

from talking.db.engine import create_engine
from talking.packs import service
from talking.packs.fingerprint import answers_fingerprint
from talking.packs.rendering import render_pack_html, render_pack_pdf
from talking.reports.html import standalone_context
from talking.reports.service import DEFAULT_SETTINGS


def step(name: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {name:<38} {now - started:7.2f} s", flush=True)
    return now


def timed(label: str, work, *args):
    """Run work(*args); print wall and this process's CPU seconds (a shared machine's load shows as the gap)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work(*args)
    size = len(result) / 2**20
    print(f"  {label}: {time.perf_counter() - wall:.2f} s ({time.process_time() - cpu:.2f} s CPU), {size:.2f} MiB")
    return result


async def run(url: str, trace_memory: bool) -> None:
    engine = create_engine(url)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        last = started

        def progress(name: str) -> None:
            nonlocal last
            last = step(f"make: {name} (starts at)", started)

        pack_id, document = await service.make_pack(engine, 1, DEFAULT_SETTINGS, made_by="benchmark", progress=progress)
        made = step("make: the whole pack", started)
        print(f"  make: {time.process_time() - cpu:.2f} s CPU in this process")
        print(f"  pack {pack_id}: {document['fingerprint']['responses']:,} responses")

        async with engine.connect() as conn:
            t = time.perf_counter()
            await conn.run_sync(answers_fingerprint, 1)
            print(f"  fingerprint alone: {time.perf_counter() - t:.2f} s")
            if trace_memory:  # a second pass: tracemalloc slows it several times over
                tracemalloc.start()
                await conn.run_sync(answers_fingerprint, 1)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(f"  fingerprint's peak Python memory: {peak / 2**20:.1f} MiB")
            t = time.perf_counter()
            content = await service.pack_bytes(conn, pack_id)
        print(f"  JSON (stored bytes read back): {time.perf_counter() - t:.3f} s, {len(content) / 2**20:.2f} MiB")
        timed("HTML", render_pack_html, content, pack_id, standalone_context)
        timed("PDF", render_pack_pdf, content, pack_id, standalone_context)
        print(f"  total from the click to the PDF: {time.perf_counter() - started:.2f} s (make {made - started:.2f} s)")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--trace-memory", action="store_true", help="also the fingerprint's peak memory")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    url = database(args.responses, args.fresh)
    print(f"a pack of {args.responses:,} responses")
    asyncio.run(run(url, args.trace_memory))


if __name__ == "__main__":
    main()
