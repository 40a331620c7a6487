"""How long does queueing the "results are published" email to the whole panel take?

Makes a fresh database with ``--members`` active members (80,000 by default) spread over the 14
districts, every one of whom asked to hear about results, and a survey covering them all. Then, each
in one transaction as the app does it: announces the survey's interim results
(talking.results.member_emails.announce_results) and one county-wide "we did" update
(announce_update). Prints the wall and CPU seconds and checks that every member got exactly one
email of each kind.

    python benchmarks/results_emails.py [--database sqlite|postgres] [--members 80000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from common import POSTGRES_ADMIN_URL, load_average
from sqlalchemy import insert

from talking.db.engine import create_engine, immediate
from talking.db.models import members, published_results, results_updates
from talking.reference import districts
from talking.results.member_emails import MailKeys, announce_results, announce_update
from talking.testing.databases import fresh_database
from talking.testing.surveys import publish_survey

KEYS = MailKeys("https://talking.example.gov.uk", "benchmark-secret-key")


async def run(database_url: str, count: int) -> list[tuple[str, float, float, int]]:
    """(what, wall seconds, CPU seconds, emails queued) for the publication and the update."""
    engine = create_engine(database_url)
    codes = [district.code for district in districts()]
    now = datetime.now(UTC)
    try:
        async with immediate(engine).begin() as conn:
            await conn.execute(
                insert(members),
                [
                    {
                        "email": f"resident{n}@example.org",
                        "email_key": f"resident{n}@example.org",
                        "district_code": codes[n % len(codes)],
                        "status": "active",
                        "hear_about_results": True,
                        "joined_at": now,
                        "confirmed_at": now,
                        "updated_at": now,
                    }
                    for n in range(count)
                ],
            )
        survey_id = await publish_survey(engine)
        timings = []
        started, cpu = time.perf_counter(), time.process_time()
        async with immediate(engine).begin() as conn:
            await conn.execute(
                insert(published_results).values(
                    survey_id=survey_id, stage="interim", responses=0, figures="{}", published_at=now
                )
            )
            sent = await announce_results(conn, survey_id, "interim", KEYS)
        timings.append(("results published", time.perf_counter() - started, time.process_time() - cpu, sent))
        started, cpu = time.perf_counter(), time.process_time()
        async with immediate(engine).begin() as conn:
            update_id = (
                await conn.execute(
                    insert(results_updates)
                    .values(
                        survey_id=survey_id,
                        district_code=None,
                        issue_code="burglary",
                        action="Free door locks for older residents",
                        partner="Lancashire Fire and Rescue",
                        done_on=date(2026, 11, 1),
                        created_at=now,
                    )
                    .returning(results_updates.c.id)
                )
            ).scalar_one()
            sent = await announce_update(conn, update_id, KEYS)
        timings.append(("county update", time.perf_counter() - started, time.process_time() - cpu, sent))
        return timings
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--members", type=int, default=80_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="talking-results-emails-"))
    try:
        print(f"results emails: {args.members:,} members on {args.database}; load average {load_average()}")
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            timings = asyncio.run(run(database.url, args.members))
            queued = dict(database.query("SELECT kind, count(*) FROM mail_outbox GROUP BY kind"))
        ok = True
        for what, wall, cpu, sent in timings:
            print(f"  {what}: {wall:.2f} s wall, {cpu:.2f} s CPU of this process, {sent:,} emails queued")
            ok = ok and sent == args.members
        ok = ok and queued.get("results_published") == queued.get("results_update") == args.members
        print("  check: one email of each kind per member" + (" ok" if ok else f" FAILED {queued}"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
