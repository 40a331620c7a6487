"""How long do importing the messaging service's members and inviting them all to a survey take?

Generates an export like the real one (80,000 residents by default: postcodes for most, district
names for some, about-you for seven in ten, a few bad rows and duplicates), runs
`talking members import FILE` as an operator would, on a fresh database, and prints the wall time,
rows per second and what was stored. Then publishes a members survey and invites the whole panel
(talking.invitations.services.send_invitations, as the API and the staff page do: every invitation
row and its email in the outbox, one transaction), and prints how long that took. Exits 1 if the
members stored are not the good rows, or not every one of them got an invitation and an email.

    .venv/bin/python benchmarks/panel.py                       # SQLite, 80,000 rows
    .venv/bin/python benchmarks/panel.py --database postgres --rows 100000
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from common import POSTGRES_ADMIN_URL, load_average

from talking.db.engine import create_engine, immediate
from talking.invitations.services import send_invitations
from talking.reference import AGE_BANDS, SEXES, districts
from talking.testing.databases import fresh_database
from talking.testing.surveys import publish_survey


def postcodes() -> list[str]:
    """Every postcode the package knows."""
    text = resources.files("talking.reference").joinpath("postcodes.csv").read_text(encoding="utf-8")
    return [row["postcode"] for row in csv.DictReader(text.splitlines())]


def write_export(path: Path, rows: int, seed: int) -> int:
    """A realistic export of ``rows`` rows; returns how many are good, distinct members (postcodes all known)."""
    rng = random.Random(seed)
    known, names = postcodes(), [district.name for district in districts()]
    good: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["email", "postcode", "district", "age_band", "sex"])
        for n in range(rows):
            roll = rng.random()
            email = f"resident{n}@example.org"
            if roll < 0.005:
                email = f"resident{n}-at-example.org"  # not an address
            elif roll < 0.01 and good:
                email = rng.choice(good).upper()  # someone already in the file, typed again
            else:
                good.append(email)
            where = ["", rng.choice(names)] if rng.random() < 0.2 else [rng.choice(known).lower().replace(" ", ""), ""]
            about = [rng.choice(AGE_BANDS).code, rng.choice(SEXES).label] if rng.random() < 0.7 else ["", ""]
            writer.writerow([email, *where, *about])
    return len(good)


async def invite_everyone(database_url: str) -> tuple[float, float, int]:
    """Publish a members survey and invite the whole panel in one transaction: (seconds, CPU seconds, invited).

    The CPU seconds are this process's (with SQLite, the database's work too: it runs in this process's
    aiosqlite thread), a figure that a machine shared with other work changes far less than the wall time.
    """
    engine = create_engine(database_url)
    try:
        survey_id = await publish_survey(engine, audience="members")
        started, cpu = time.perf_counter(), time.process_time()
        async with immediate(engine).begin() as conn:
            invited = await send_invitations(
                conn, survey_id, base_url="https://talking.example.gov.uk", secret_key="benchmark-secret-key"
            )
        return time.perf_counter() - started, time.process_time() - cpu, invited
    finally:
        await engine.dispose()


def main() -> int:
    """Run the import and check what was stored."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rows", type=int, default=80_000, help="rows in the generated export [80,000]")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="talking-panel-"))
    try:
        export = workdir / "export.csv"
        good = write_export(export, args.rows, args.seed)
        size = export.stat().st_size
        print(
            f"panel: {args.rows:,} rows ({size / 1e6:.1f} MB, {good:,} good) on {args.database};"
            f" load average {load_average()}",
            flush=True,
        )
        with fresh_database(args.database, workdir, POSTGRES_ADMIN_URL) as database:
            env = {**os.environ, "TALKING_DATABASE_URL": database.url}
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "talking", "members", "import", str(export)],
                env=env,
                cwd=workdir,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            stored = database.query("SELECT count(*) FROM members WHERE status = 'active'")[0][0]
            invite_seconds, invite_cpu, invited = asyncio.run(invite_everyone(database.url))
            rows = database.query("SELECT count(*) FROM invitations")[0][0]
            emails = database.query("SELECT count(*) FROM mail_outbox WHERE kind = 'invitation'")[0][0]
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(nothing printed)"
        print(f"\n  import: {elapsed:.1f} s wall ({args.rows / elapsed:,.0f} rows/s), exit {done.returncode}")
        print(f"  the command said: {summary}")
        print(f"  stored {stored:,} active members / {good:,} good rows in the file")
        ok = done.returncode == 0 and stored == good
        print("  check: stored == good rows" + (" ok" if ok else " FAILED"))
        print(
            f"\n  invitations: {invite_seconds:.2f} s wall, {invite_cpu:.2f} s CPU of this process, for {invited:,}"
            f" members ({invited / invite_seconds:,.0f}/s): {rows:,} invitation rows, {emails:,} emails queued"
        )
        invited_all = invited == rows == emails == stored
        print("  check: invited == invitation rows == emails == members" + (" ok" if invited_all else " FAILED"))
        return 0 if ok and invited_all else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
