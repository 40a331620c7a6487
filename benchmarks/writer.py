"""How much CPU does the response writer spend on each response, and on what?

On SQLite the writer's thread is what limits benchmarks/ingest.py: under load it is busy all the
time (its CPU plus waiting for fsync and the GIL), while the event loop's thread is not. This
script calls what that thread calls for each batch (``writer.store_batch``), as the server would,
on a fresh SQLite file with synchronous=FULL, and measures the thread's CPU time. CPU time counts
work, not waiting, so it varies far less from run to run than the throughput of a loaded server
does on a shared machine; use it to compare two versions of the writer.

It prints the CPU and wall time per response, and the same batches once more split into the
transaction's steps (the steps are the writer's own functions, called in the writer's order).

    .venv/bin/python benchmarks/writer.py                  # 600 batches of 64
    .venv/bin/python benchmarks/writer.py --batches 200 --batch-size 32
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest import SURVEY_ISSUES, fresh_database, publish_survey

from talking.db.engine import create_engine
from talking.reference import AGE_BAND_CODES
from talking.reports import tallies
from talking.surveys import writer

COMMENT = "Speeding on the main road past the school every morning."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=600, help="batches measured [600]")
    parser.add_argument("--batch-size", type=int, default=64, help="responses per batch [64: ingest's connections]")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as workdir, fresh_database("sqlite", Path(workdir)) as database:
        survey_id = publish_survey(database.url)
        districts = [row[0] for row in sqlite3.connect(database.path).execute("SELECT code FROM districts")]
        ages = [None, *sorted(AGE_BAND_CODES)]

        def batch() -> list[writer.PendingResponse]:
            return [
                writer.PendingResponse(
                    survey_id=survey_id,
                    district=rng.choice(districts),
                    picks=tuple(rng.sample(SURVEY_ISSUES, 5)),
                    comment=COMMENT if rng.random() < 0.2 else None,
                    age_band=rng.choice(ages),
                    sex=None,
                    channel="api",
                )
                for _ in range(args.batch_size)
            ]

        response_writer = writer.ResponseWriter(create_engine(database.url))
        for _ in range(50):  # warm up: caches, statements, the file's first pages
            writer.store_batch(response_writer.engine.begin, batch())

        batches = [batch() for _ in range(args.batches)]
        cpu, wall = time.thread_time(), time.perf_counter()
        for done, responses in enumerate(batches, start=1):
            writer.store_batch(response_writer.engine.begin, responses)
            if done % 100 == 0:
                print(f"  {done:,} / {args.batches:,} batches", file=sys.stderr, flush=True)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        count = args.batches * args.batch_size

        steps = Counter[str]()
        for responses in [batch() for _ in range(args.batches)]:
            _write_in_steps(response_writer, survey_id, responses, steps)
        response_writer.engine.dispose()

    print(f"\nSQLite (WAL, synchronous=FULL), {args.batches:,} batches of {args.batch_size}: {count:,} responses")
    print(f"  writer thread: {1e6 * cpu / count:6.1f} us CPU per response   {1e6 * wall / count:6.1f} us wall")
    print(f"  that is at most {count / wall:,.0f} responses/s while it is the only work on its core")
    print("\n  step (the same batches again, each step timed)   us CPU per response")
    for step, seconds in steps.items():
        print(f"    {step:44s} {1e6 * seconds / count:8.1f}")
    return 0


def _write_in_steps(
    response_writer: writer.ResponseWriter, survey_id: int, responses: list[writer.PendingResponse], steps: Counter[str]
) -> None:
    """``_write_batch``'s work for a batch that is all new, open-survey answers, step by step."""

    def timed(step: str, work: Callable[[], Any]) -> Any:
        started = time.thread_time()
        result = work()
        steps[step] += time.thread_time() - started
        return result

    engine = response_writer.engine
    with timed("begin", engine.connect) as conn:
        transaction = timed("begin", conn.begin)
        now = datetime.now(UTC)
        _statuses, max_picks = timed("survey status", lambda: writer._survey_statuses(conn, {survey_id}, now))
        timed("idempotency keys", lambda: writer._earlier_results(conn, responses))
        references = timed("references", lambda: writer.new_references(len(responses)))
        to_insert = [(index, pending, references[index]) for index, pending in enumerate(responses)]
        timed("insert responses and picks", lambda: writer._insert(conn, to_insert, now))
        deltas = timed("tally: count in Python", lambda: tallies.batch_deltas(writer.counted(to_insert, max_picks)))
        timed("tally: upsert", lambda: tallies.add_deltas(conn, deltas))
        timed("commit (WAL write and fsync)", transaction.commit)


if __name__ == "__main__":
    sys.exit(main())
