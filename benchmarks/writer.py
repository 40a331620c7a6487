"""How much CPU does the response writer spend on each response, and on what?

On SQLite the writer's thread is what limits benchmarks/ingest.py: under load it is busy all the
time (its CPU plus waiting for fsync and the GIL), while the event loop's thread is not. This
script calls what that thread calls for each batch (``batch_store.store_batch``), as the server would,
on a fresh SQLite file with synchronous=FULL, and measures the thread's CPU time. CPU time counts
work, not waiting, so it varies far less from run to run than the throughput of a loaded server
does on a shared machine; use it to compare two versions of the writer.

The answers are drawn as benchmarks/ingest.py draws them (``random_answer``). It prints the CPU
and wall time per response, then as many batches again split into the transaction's steps (the
steps are the writer's own functions, called in the writer's order) and what lies between them.

    .venv/bin/python benchmarks/writer.py                  # 1000 batches of 28
    .venv/bin/python benchmarks/writer.py --batches 300 --batch-size 64
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

from common import publish_benchmark_survey
from ingest import random_answer
from sqlalchemy import Engine

from talking import tallies
from talking.db.engine import create_engine, writer_engine
from talking.surveys import batches as batch_store
from talking.surveys.references import new_references
from talking.testing.databases import fresh_database
from talking.testing.surveys import DEMO_ISSUES


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=1000, help="batches measured [1000]")
    parser.add_argument(
        "--batch-size", type=int, default=28, help="responses per batch [28: what ingest.py's 64 connections give]"
    )
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as workdir, fresh_database("sqlite", Path(workdir)) as database:
        survey_id = publish_benchmark_survey(database.url)
        districts = [row[0] for row in sqlite3.connect(database.path).execute("SELECT code FROM districts")]

        def batch() -> list[batch_store.PendingResponse]:
            """Answers as benchmarks/ingest.py sends them."""
            answers = [random_answer(rng, districts, list(DEMO_ISSUES), 5) for _ in range(args.batch_size)]
            return [
                batch_store.PendingResponse(
                    survey_id=survey_id,
                    district=answer["district"],
                    picks=tuple(answer["picks"]),
                    comment=answer.get("comment"),
                    age_band=answer.get("age_band"),
                    sex=answer.get("sex"),
                    channel="api",
                )
                for answer in answers
            ]

        engine = writer_engine(create_engine(database.url))  # the writer's own: synchronous, BEGIN IMMEDIATE
        assert isinstance(engine, Engine)
        for _ in range(50):  # warm up: caches, statements, the file's first pages
            batch_store.store_batch(engine.begin, batch())

        batches = [batch() for _ in range(args.batches)]
        cpu, wall = time.thread_time(), time.perf_counter()
        for done, responses in enumerate(batches, start=1):
            batch_store.store_batch(engine.begin, responses)
            if done % 200 == 0:
                print(f"  {done:,} / {args.batches:,} batches", file=sys.stderr, flush=True)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        count = args.batches * args.batch_size

        steps = Counter[str]()
        stepped = time.thread_time()
        for responses in [batch() for _ in range(args.batches)]:  # new batches of the same kind
            _write_in_steps(engine, survey_id, responses, steps)
        stepped = time.thread_time() - stepped
        engine.dispose()

    print(f"\nSQLite (WAL, synchronous=FULL), {args.batches:,} batches of {args.batch_size}: {count:,} responses")
    print(f"  writer thread: {1e6 * cpu / count:6.1f} us CPU per response   {1e6 * wall / count:6.1f} us wall")
    print(f"  that is at most {count / wall:,.0f} responses/s while it is the only work on its core")
    print("\n  step (as many batches again, each step timed)    us CPU per response")
    for step, seconds in steps.items():
        print(f"    {step:44s} {1e6 * seconds / count:8.1f}")
    print(f"    {'(between the steps: loops, objects)':44s} {1e6 * (stepped - steps.total()) / count:8.1f}")
    print(f"    {'all':44s} {1e6 * stepped / count:8.1f}")
    return 0


def _write_in_steps(
    engine: Engine, survey_id: int, responses: list[batch_store.PendingResponse], steps: Counter[str]
) -> None:
    """``_write_batch``'s work for a batch that is all new, open-survey answers without idempotency
    keys, step by step (so the idempotency look-up, which such a batch skips, is not a step)."""

    def timed(step: str, work: Callable[[], Any]) -> Any:
        started = time.thread_time()
        result = work()
        steps[step] += time.thread_time() - started
        return result

    with timed("begin", engine.connect) as conn:
        transaction = timed("begin", conn.begin)
        now = datetime.now(UTC)
        _statuses, max_picks = timed("survey status", lambda: batch_store._survey_statuses(conn, {survey_id}, now))
        references = timed("references", lambda: new_references(len(responses)))
        to_insert = [(index, pending, references[index]) for index, pending in enumerate(responses)]
        timed("insert responses and picks", lambda: batch_store._insert(conn, to_insert, now))
        deltas = timed(
            "tally: count in Python", lambda: tallies.batch_deltas(batch_store.counted(to_insert, max_picks))
        )
        timed("tally: upsert", lambda: tallies.add_deltas(conn, deltas))
        timed("commit (WAL write and fsync)", transaction.commit)


if __name__ == "__main__":
    sys.exit(main())
