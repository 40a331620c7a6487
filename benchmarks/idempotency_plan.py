"""How PostgreSQL plans the writer's idempotency lookup when the table's statistics are stale.

The writer looks up a batch's Idempotency-Keys before inserting it (surveys/batches.py,
``_earlier_results``). This script builds a fresh PostgreSQL database, takes its statistics while
``responses`` is empty (then turns autovacuum off for it, so they stay stale), stores ROWS responses
with keys straight in SQL, and prints EXPLAIN ANALYZE and the time per lookup of a batch of keys
(half already stored, half new) for the old form (row-value IN) and the writer's form (a join
against the keys as arrays), with the stale statistics and again after ANALYZE.

    .venv/bin/python benchmarks/idempotency_plan.py                 # 200,000 rows, batches of 256
    .venv/bin/python benchmarks/idempotency_plan.py --rows 500000 --batch-size 64
"""

from __future__ import annotations

import argparse
import random
import time

import psycopg
from common import publish_benchmark_survey

from talking.surveys.batches import POSTGRES_EARLIER_RESULTS
from talking.testing.databases import fresh_database, plain_postgres_url


def row_value_in(n_keys: int) -> str:
    """The form SQLAlchemy's tuple_(...).in_(...) sends (what the writer used on PostgreSQL before)."""
    pairs = ", ".join(["(%s, %s)"] * n_keys)
    return (
        "SELECT survey_id, idempotency_key, id, reference, request_digest FROM responses"
        f" WHERE (survey_id, idempotency_key) IN ({pairs})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="responses stored [200000]")
    parser.add_argument("--batch-size", type=int, default=256, help="keys looked up at once [256]")
    parser.add_argument("--repeats", type=int, default=200, help="lookups timed per form [200]")
    args = parser.parse_args()
    rng = random.Random(2026)

    with fresh_database("postgres", workdir=None) as database:  # type: ignore[arg-type]
        survey_id = publish_benchmark_survey(database.url)
        with psycopg.connect(plain_postgres_url(database.url), autocommit=True) as conn:
            conn.execute("ANALYZE responses")  # statistics of an empty table ...
            conn.execute("ALTER TABLE responses SET (autovacuum_enabled = false)")  # ... kept stale
            print(f"storing {args.rows:,} responses with keys ...", flush=True)
            conn.execute(
                "INSERT INTO responses (survey_id, reference, district_code, channel, submitted_at,"
                " idempotency_key, ranked_picks)"
                " SELECT %s, 'REF' || g, 'E07000123', 'api', now(), 'key-' || g, 'burglary'"
                " FROM generate_series(1, %s) AS g",
                (survey_id, args.rows),
            )

            def keys() -> list[tuple[int, str]]:
                """Half stored, half new: as retries and first tries come together."""
                stored = [(survey_id, f"key-{rng.randint(1, args.rows)}") for _ in range(args.batch_size // 2)]
                new = [(survey_id, f"new-{rng.random()}") for _ in range(args.batch_size - len(stored))]
                return stored + new

            def old(batch: list[tuple[int, str]]) -> tuple[str, tuple[object, ...]]:
                return row_value_in(len(batch)), tuple(value for pair in batch for value in pair)

            def new(batch: list[tuple[int, str]]) -> tuple[str, tuple[object, ...]]:
                survey_ids, idempotency_keys = map(list, zip(*batch, strict=True))
                sql = POSTGRES_EARLIER_RESULTS.replace("$1", "%s").replace("$2", "%s")
                return sql, (survey_ids, idempotency_keys)

            for stats in ("stale statistics (taken when empty)", "after ANALYZE"):
                if stats == "after ANALYZE":
                    conn.execute("ANALYZE responses")
                for name, form in (("row-value IN (before)", old), ("join on unnest (the writer's now)", new)):
                    sql, params = form(keys())
                    plan = conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params).fetchall()
                    print(f"\n--- {name}, {stats}")
                    lines = [line for (line,) in plan]
                    # A plan of 256 OR'ed index probes is long: its head and its times say enough.
                    shown = lines if len(lines) <= 12 else [*lines[:8], f"... {len(lines) - 10} lines ...", *lines[-2:]]
                    print("\n".join("    " + (line if len(line) <= 150 else line[:150] + " ...") for line in shown))
                    started = time.perf_counter()
                    for _ in range(args.repeats):
                        sql, params = form(keys())
                        conn.execute(sql, params).fetchall()
                    per_lookup = (time.perf_counter() - started) / args.repeats * 1000
                    print(f"    {per_lookup:.2f} ms per lookup of {args.batch_size} keys ({args.repeats} lookups)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
